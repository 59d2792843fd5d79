//! The simulation behind the demo events: a bounded pool of live records per
//! category whose field values evolve with every event, so that each diff's
//! `old` side is what an earlier event set, a delete's snapshot is the
//! record's last state, and nothing happens to a record after its delete.

use app::model::{Actor, ChangeNode, ChangeTree, Changes, EntityRef, EventContext, NewAuditEvent};
use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::DemoOrg;
use super::cast::{Cast, Device, Robot, ip_in, job};
use super::catalog::{
    ACTIVITIES, Activity, By, CATEGORIES, Category, Effect, Field, Gen, Mode, STATUS, Secret, category_def,
    creation_verb,
};
use super::clock::Clock;
use super::ids::{ALNUM, BASE32, domain_label, email_local, event_id, hex_id, record_id, token};
use super::rng::{Rng, cumulative, mix};
use super::words::*;

const DAY_MICROS: i64 = 86_400_000_000;

/// One live record of the simulation.
struct Record {
    id: String,
    name: String,
    state: Map<String, Value>,
    /// Archived, cancelled, revoked: only `restore` or `delete` from here.
    closed: bool,
    /// Never deleted, closed or forgotten: the org's owner, built-in roles,
    /// the API keys that act in the demo.
    protected: bool,
}

#[derive(Clone, Copy)]
enum Want {
    Open,
    Closed,
    /// Open and not protected: what may be closed or have its role changed.
    Closable,
    Deletable,
}

/// Who does it and from where.
struct Who {
    actor: Actor,
    context: EventContext,
    /// The person, for people; sessions and reviewer fields need it.
    person: Option<usize>,
    device: Option<usize>,
    job: Option<usize>,
}

/// What an action did, before it is dressed as an event.
struct Outcome {
    category: Category,
    verb: &'static str,
    id: String,
    name: String,
    changes: Option<Changes>,
    metadata: Map<String, Value>,
}

pub struct Generator {
    rng: Rng,
    clock: Clock,
    org_id: Uuid,
    org_slug: String,
    seed: u64,
    cast: Cast,
    pools: Vec<Vec<Record>>,
    counters: [u64; 21],
    all_activities: Vec<u32>,
    background_activities: Vec<u32>,
    remaining: usize,
    /// The current event's time, unix microseconds.
    now: i64,
    /// The person acting in the current event, if a person acts.
    acting: Option<usize>,
}

impl Generator {
    pub fn new(org: &DemoOrg, seed: u64, until_micros: i64, days: u32, events: usize) -> Generator {
        let cast = Cast::new(org);
        let clock = Clock::new(until_micros, days, events);
        let start = clock.start_micros();
        let mut g = Generator {
            rng: Rng::new(mix(seed, super::rng::fnv1a(org.id.as_bytes()))),
            clock,
            org_id: org.id,
            org_slug: org.slug.clone(),
            seed,
            cast,
            pools: CATEGORIES.iter().map(|_| Vec::new()).collect(),
            counters: [0; 21],
            all_activities: cumulative(ACTIVITIES.iter().map(|a| a.weight)),
            background_activities: cumulative(
                ACTIVITIES.iter().map(|a| if matches!(a.by, By::User | By::Admin) { 0 } else { a.weight }),
            ),
            remaining: events,
            now: start,
            acting: None,
        };
        g.seed_pools(start);
        g
    }

    /// Records that existed before the window: no create events, but
    /// updates and deletes may target them from the first event on.
    fn seed_pools(&mut self, start: i64) {
        for def in &CATEGORIES {
            for _ in 0..def.preexisting {
                self.now = start - self.rng.range(1, 365) * DAY_MICROS;
                let record = self.new_record(def.category);
                self.pools[def.category.index()].push(record);
            }
        }

        for i in 0..self.cast.people.len() {
            self.now = start - self.rng.range(30, 600) * DAY_MICROS;
            let mut record = self.new_record(Category::Member);
            let person = &self.cast.people[i];
            record.id = person.id.clone();
            record.name = person.name.to_string();
            record.state.insert("name".into(), person.name.into());
            record.state.insert("email".into(), person.email.clone().into());
            record.state.insert("role".into(), person.role.into());
            record.protected = person.role == "owner";
            self.pools[Category::Member.index()].push(record);
        }

        for name in ["Owner", "Admin", "Developer", "Member"] {
            self.now = start - 400 * DAY_MICROS;
            let mut record = self.new_record(Category::Role);
            record.name = name.to_string();
            record.state.insert("name".into(), name.into());
            record.state.insert("builtin".into(), true.into());
            record.protected = true;
            self.pools[Category::Role.index()].push(record);
        }

        for i in 0..self.cast.api_keys.len() {
            self.now = start - 200 * DAY_MICROS;
            let mut record = self.new_record(Category::ApiKey);
            let actor = &self.cast.api_keys[i].actor;
            record.id = actor.id.clone();
            record.name = actor.name.clone();
            record.state.insert("name".into(), actor.name.clone().into());
            record.protected = true;
            self.pools[Category::ApiKey.index()].push(record);
        }

        // Everyone starts signed in on their main browser.
        for p in 0..self.cast.people.len() {
            let session = record_id("sess", (start - DAY_MICROS) / 1000, &mut self.rng);
            self.cast.people[p].devices[0].session = Some(session);
        }
    }

    // ---- Picking ------------------------------------------------------

    fn find(&mut self, category: Category, want: Want) -> Option<usize> {
        let pool = &self.pools[category.index()];
        let n = pool.len();
        if n == 0 {
            return None;
        }
        let ok = |r: &Record| match want {
            Want::Open => !r.closed,
            Want::Closed => r.closed,
            Want::Closable => !r.closed && !r.protected,
            Want::Deletable => !r.protected,
        };
        for _ in 0..6 {
            let i = self.rng.below(n);
            if ok(&pool[i]) {
                return Some(i);
            }
        }
        let from = self.rng.below(n);
        (0..n).map(|k| (from + k) % n).find(|&i| ok(&pool[i]))
    }

    fn pick_activity(&mut self) -> Activity {
        let hour = self.now.div_euclid(3_600_000_000).rem_euclid(24);
        // At night the team sleeps but the jobs run.
        let table =
            if hour < 6 && self.rng.chance(0.5) { &self.background_activities } else { &self.all_activities };
        ACTIVITIES[self.rng.weighted(table)]
    }

    fn pick_person(&mut self, admin: bool) -> usize {
        let weights = if admin { &self.cast.admin_activity } else { &self.cast.activity };
        self.rng.weighted(weights)
    }

    fn member_name(&mut self) -> &'static str {
        self.cast.people[self.rng.below(self.cast.people.len())].name
    }

    fn person_context(&mut self, person: usize, device: usize) -> EventContext {
        let d: &Device = &self.cast.people[person].devices[device];
        EventContext {
            ip: Some(d.ip.clone()),
            user_agent: Some(d.user_agent().to_string()),
            session_id: d.session.clone(),
            request_id: None,
            country: Some(d.country.to_string()),
        }
    }

    fn robot(&self, by: By) -> &Robot {
        match by {
            By::Job(i) => &self.cast.jobs[i],
            By::ApiKey(i) => &self.cast.api_keys[i],
            By::Integration(i) => &self.cast.integrations[i],
            By::User | By::Admin => unreachable!("people are not robots"),
        }
    }

    // ---- Values -------------------------------------------------------

    fn date(&self, offset_days: i64) -> Value {
        let day = self.now.div_euclid(DAY_MICROS) + offset_days;
        let date = DateTime::from_timestamp(day * 86_400, 0).expect("date in range").date_naive();
        Value::String(date.to_string())
    }

    fn timestamp(&self) -> Value {
        let at = DateTime::from_timestamp_micros(self.now).expect("time in range");
        Value::String(at.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    fn pattern(&mut self, pattern: &str) -> String {
        pattern
            .chars()
            .map(|c| match c {
                '#' => char::from(b'0' + self.rng.below(10) as u8),
                'A' => char::from(b'A' + self.rng.below(26) as u8),
                c => c,
            })
            .collect()
    }

    fn company(&mut self) -> String {
        let base = *self.rng.pick(COMPANIES);
        let suffix = *self.rng.pick(COMPANY_SUFFIXES);
        format!("{base}{suffix}")
    }

    fn person(&mut self) -> String {
        let first = *self.rng.pick(FIRST_NAMES);
        let last = *self.rng.pick(LAST_NAMES);
        format!("{first} {last}")
    }

    fn paragraph(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(3) {
            self.append_sentence(&mut out);
        }
        out
    }

    /// Adds a sentence the text does not already contain.
    fn append_sentence(&mut self, text: &mut String) {
        for _ in 0..8 {
            let sentence = *self.rng.pick(SENTENCES);
            if !text.contains(sentence) {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(sentence);
                return;
            }
        }
    }

    /// A person's edit of a text: a word or two reworded, or a sentence
    /// added or dropped, so the diff view has something small to highlight
    /// inside a long value.
    fn edit_paragraph(&mut self, old: &str) -> String {
        let sentences = old.split_inclusive(". ").count();
        let roll = self.rng.below(100);
        if roll < 15 && sentences > 1 {
            let drop = self.rng.below(sentences);
            let kept: String =
                old.split_inclusive(". ").enumerate().filter(|(i, _)| *i != drop).map(|(_, s)| s).collect();
            return kept.trim_end().to_string();
        }
        if roll < 35 && sentences < 4 {
            let mut new = old.to_string();
            self.append_sentence(&mut new);
            if new != old {
                return new;
            }
        }
        let mut words: Vec<String> = old.split(' ').map(str::to_string).collect();
        let swappable: Vec<usize> = (0..words.len()).filter(|&i| swap_of(&words[i]).is_some()).collect();
        if swappable.is_empty() {
            let mut new = old.to_string();
            self.append_sentence(&mut new);
            return new;
        }
        for _ in 0..1 + self.rng.below(2) {
            let at = *self.rng.pick(&swappable);
            if let Some(swapped) = swap_of(&words[at]) {
                words[at] = swapped;
            }
        }
        words.join(" ")
    }

    fn address(&mut self, city_index: Option<usize>) -> Value {
        let city = city_index.unwrap_or_else(|| self.rng.below(CITIES.len()));
        let (name, country, postcode, streets) = CITIES[city];
        let street = format!("{} {}", self.rng.range(1, 240), self.rng.pick(streets));
        let mut m = Map::new();
        m.insert("street".into(), street.into());
        m.insert("city".into(), name.into());
        m.insert("postcode".into(), self.pattern(postcode).into());
        m.insert("country".into(), country.into());
        Value::Object(m)
    }

    /// A new street in the same city, or a move to another city.
    fn change_address(&mut self, old: &Value) -> Value {
        let old_city = old.get("city").and_then(Value::as_str);
        let same = CITIES.iter().position(|c| Some(c.0) == old_city);
        if let (Some(city), true) = (same, self.rng.chance(0.6)) {
            let mut new = self.address(Some(city));
            if self.rng.chance(0.5) {
                // Same building, corrected street only.
                new["postcode"] = old["postcode"].clone();
            }
            new
        } else {
            self.address(None)
        }
    }

    fn file_name(&mut self, old: Option<&Value>) -> String {
        let ext = old
            .and_then(Value::as_str)
            .and_then(|s| s.rsplit_once('.'))
            .map(|(_, e)| e.to_string())
            .unwrap_or_else(|| self.rng.pick(FILE_EXTENSIONS).0.to_string());
        let stem = *self.rng.pick(FILE_STEMS);
        match self.rng.below(4) {
            0 => format!("{stem}-v{}.{ext}", self.rng.range(2, 5)),
            1 => format!("{stem}-final.{ext}"),
            _ => format!("{stem}.{ext}"),
        }
    }

    fn secret(&mut self, kind: Secret) -> String {
        let r = &mut self.rng;
        match kind {
            Secret::Password => (*r.pick(PASSWORDS)).to_string(),
            Secret::StripeKey | Secret::ApiKey => token("sk_live_", ALNUM, 24, r),
            Secret::Webhook => token("whsec_", ALNUM, 32, r),
            Secret::Totp => token("", BASE32, 16, r),
            Secret::SlackToken => token("xoxb-", ALNUM, 40, r),
            Secret::OAuthClient => token("cs_", ALNUM, 40, r),
            Secret::DomainToken => hex_id("audit-verify=", 32, r),
            Secret::LinkToken => token("shr_tok_", ALNUM, 22, r),
            Secret::KeyPrefix => hex_id("ak_live_", 4, r),
        }
    }

    fn live_name(&mut self, category: Category) -> Option<String> {
        let pool = &self.pools[category.index()];
        if pool.is_empty() {
            return None;
        }
        Some(pool[self.rng.below(pool.len())].name.clone())
    }

    fn tags(&mut self, from: &'static [&'static str]) -> Value {
        let n = 1 + self.rng.below(3.min(from.len()));
        let mut picked: Vec<&str> = Vec::with_capacity(n);
        while picked.len() < n {
            let t = *self.rng.pick(from);
            if !picked.contains(&t) {
                picked.push(t);
            }
        }
        Value::Array(picked.into_iter().map(Value::from).collect())
    }

    /// A value for `generator`, different from `old` where it can be.
    /// `siblings` is the object the field lives in, for derived values.
    fn value(&mut self, generator: Gen, old: Option<&Value>, siblings: &Map<String, Value>) -> Value {
        let sibling = |name: &str| siblings.get(name).and_then(Value::as_str).unwrap_or("");
        match generator {
            Gen::Choice(options) => {
                let old = old.and_then(Value::as_str);
                let mut v = *self.rng.pick(options);
                if options.len() > 1 {
                    while Some(v) == old {
                        v = *self.rng.pick(options);
                    }
                }
                v.into()
            }
            Gen::IntChoice(options) => {
                let old = old.and_then(Value::as_i64);
                let mut v = *self.rng.pick(options);
                if options.len() > 1 {
                    while Some(v) == old {
                        v = *self.rng.pick(options);
                    }
                }
                v.into()
            }
            Gen::Money(lo, hi) => {
                let cents = self.rng.range(i64::from(lo) * 100, i64::from(hi) * 100);
                (cents as f64 / 100.0).into()
            }
            Gen::Int(lo, hi) => self.rng.range(lo, hi).into(),
            Gen::Bool => match old.and_then(Value::as_bool) {
                Some(b) => (!b).into(),
                None => self.rng.chance(0.5).into(),
            },
            Gen::Flag(b) => b.into(),
            Gen::Const(s) => s.into(),
            Gen::Date(lo, hi) => {
                let offset = self.rng.range(i64::from(lo), i64::from(hi));
                let mut v = self.date(offset);
                if Some(&v) == old {
                    v = self.date(i64::from(hi) + 1);
                }
                v
            }
            Gen::Now => self.timestamp(),
            Gen::Paragraph => match old.and_then(Value::as_str) {
                Some(text) => self.edit_paragraph(text).into(),
                None => self.paragraph().into(),
            },
            Gen::Company => match old.and_then(Value::as_str) {
                // Companies rarely change name, but their legal form does.
                Some(old) => {
                    let base = COMPANY_SUFFIXES
                        .iter()
                        .filter(|s| !s.is_empty())
                        .fold(old, |n, s| n.trim_end_matches(s));
                    let mut new = format!("{base}{}", self.rng.pick(COMPANY_SUFFIXES));
                    if new == old {
                        new = format!("{base} Holdings");
                    }
                    new.into()
                }
                None => self.company().into(),
            },
            Gen::Person => match old.and_then(Value::as_str) {
                // A married name or a corrected spelling, not a new person.
                Some(old) => {
                    let first = old.split(' ').next().unwrap_or(old);
                    let mut last = *self.rng.pick(LAST_NAMES);
                    while old.ends_with(last) {
                        last = *self.rng.pick(LAST_NAMES);
                    }
                    format!("{first} {last}").into()
                }
                None => self.person().into(),
            },
            Gen::PersonEmail(name_field, company_field) => {
                let name = sibling(name_field).to_string();
                let local = if name.is_empty() { email_local(&self.person()) } else { email_local(&name) };
                let local = match (old.is_some(), self.rng.below(3)) {
                    // A changed address: initial + surname, or a new employer.
                    (true, 0) => {
                        let initial = local.chars().next().unwrap_or('x');
                        format!("{initial}{}", local.split('.').nth(1).unwrap_or(""))
                    }
                    _ => local,
                };
                let company = sibling(company_field).to_string();
                let company = if company.is_empty() || old.is_some() { self.company() } else { company };
                email_at(&local, &company).into()
            }
            Gen::CompanyEmail(company_field) => {
                let local = *self.rng.pick(&["accounts", "billing", "finance", "hello", "ap", "invoices"]);
                let company = sibling(company_field).to_string();
                email_at(local, &company).into()
            }
            Gen::AnyEmail => {
                let local = email_local(&self.person());
                let company = self.company();
                email_at(&local, &company).into()
            }
            Gen::Phone => {
                const PHONES: &[&str] = &[
                    "+44 20 7946 0###",
                    "+44 7700 900###",
                    "+1 512 555 01##",
                    "+49 30 #### ####",
                    "+33 1 ## ## ## ##",
                    "+31 20 ### ####",
                    "+91 80 #### ####",
                    "+55 11 9####-####",
                ];
                let p = *self.rng.pick(PHONES);
                self.pattern(p).into()
            }
            Gen::Member => {
                let old = old.and_then(Value::as_str);
                let mut v = self.member_name();
                while Some(v) == old {
                    v = self.member_name();
                }
                v.into()
            }
            Gen::Address => match old {
                Some(old) => self.change_address(old),
                None => self.address(None),
            },
            Gen::Color => format!("#{:06x}", self.rng.next_u64() & 0xFF_FFFF).into(),
            Gen::FileName => self.file_name(old).into(),
            Gen::MimeOf(field) => {
                let ext = sibling(field).rsplit_once('.').map(|(_, e)| e).unwrap_or("");
                let mime = FILE_EXTENSIONS.iter().find(|(e, _)| *e == ext).map(|(_, m)| *m);
                mime.unwrap_or("application/octet-stream").into()
            }
            Gen::ProjectName => {
                // Projects move to a next phase rather than change subject.
                let old = old.and_then(Value::as_str);
                let base = old.map(|o| {
                    PROJECT_PHASES.iter().filter(|p| !p.is_empty()).fold(o, |n, p| n.trim_end_matches(p))
                });
                let name = base.unwrap_or_else(|| *self.rng.pick(PROJECT_NAMES)).to_string();
                let mut new = format!("{name}{}", self.rng.pick(PROJECT_PHASES));
                if Some(new.as_str()) == old {
                    new = format!("{name} – Phase 4");
                }
                new.into()
            }
            Gen::TaskTitle => {
                // A retitled task keeps its subject; the verb gets sharper.
                let old = old.and_then(Value::as_str);
                let object = match old.and_then(|o| o.split_once(' ')) {
                    Some((_, object)) => object.to_string(),
                    None => (*self.rng.pick(TASK_OBJECTS)).to_string(),
                };
                let mut new = format!("{} {object}", self.rng.pick(TASK_VERBS));
                for _ in 0..4 {
                    if Some(new.as_str()) != old {
                        break;
                    }
                    new = format!("{} {object}", self.rng.pick(TASK_VERBS));
                }
                new.into()
            }
            Gen::Expense => self.rng.pick(EXPENSES).0.into(),
            Gen::ExpenseVendor(field) => {
                let description = sibling(field);
                match EXPENSES.iter().find(|(d, _)| *d == description) {
                    Some((_, vendor)) if old.is_none() => (*vendor).into(),
                    _ => self.rng.pick(EXPENSES).1.into(),
                }
            }
            Gen::PaymentAccountName => self.rng.pick(PAYMENT_ACCOUNTS).0.into(),
            Gen::ProviderOf(field) => {
                let name = sibling(field);
                let provider = PAYMENT_ACCOUNTS.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
                provider.unwrap_or("bank").into()
            }
            Gen::ClientRef => match self.live_name(Category::Client) {
                Some(name) => name.into(),
                None => self.company().into(),
            },
            Gen::ProjectRef => match self.live_name(Category::Project) {
                Some(name) => name.into(),
                None => self.value(Gen::ProjectName, None, siblings),
            },
            Gen::InvoiceRef => match self.live_name(Category::Invoice) {
                Some(name) => name.into(),
                None => format!("INV-{:04}", self.rng.range(1, 40)).into(),
            },
            Gen::PaymentAccountRef => match self.live_name(Category::PaymentAccount) {
                Some(name) => name.into(),
                None => self.value(Gen::PaymentAccountName, None, siblings),
            },
            Gen::ShareableRef => {
                let from = if self.rng.chance(0.6) { Category::Project } else { Category::File };
                match self.live_name(from) {
                    Some(name) => name.into(),
                    None => self.file_name(None).into(),
                }
            }
            Gen::Join(a, sep, b) => format!("{}{sep}{}", sibling(a), sibling(b)).into(),
            Gen::OrgDomain => {
                let prefix = *self.rng.pick(DOMAIN_PREFIXES);
                format!("{prefix}.{}.example", self.org_slug).into()
            }
            Gen::TaxId => {
                let p = *self.rng.pick(&["GB### #### ##", "DE#########", "FR## #########", "NL#########B01"]);
                self.pattern(p).into()
            }
            Gen::PoNumber => self.pattern("PO-#####").into(),
            Gen::Number(prefix) => {
                // Only reached at creation: numbers never change.
                let _ = old;
                unreachable!("numbers are assigned in new_record, not generated ({prefix})")
            }
            Gen::Secret(kind) => self.secret(kind).into(),
            Gen::Tags(from) => {
                let mut v = self.tags(from);
                for _ in 0..4 {
                    if Some(&v) != old {
                        break;
                    }
                    v = self.tags(from);
                }
                v
            }
            Gen::Nested(fields) => {
                let mut m = Map::new();
                self.fill(fields, &mut m);
                Value::Object(m)
            }
        }
    }

    fn fill(&mut self, fields: &'static [Field], obj: &mut Map<String, Value>) {
        for field in fields {
            if let Mode::Optional(_, percent) = field.mode
                && self.rng.below(100) >= usize::from(percent)
            {
                continue;
            }
            let v = self.value(field.generator, None, obj);
            obj.insert(field.name.to_string(), v);
        }
    }

    fn new_record(&mut self, category: Category) -> Record {
        let def = category_def(category);
        let mut state = Map::new();
        for field in def.fields {
            if let Gen::Number(prefix) = field.generator {
                let counter = &mut self.counters[category.index()];
                *counter += 1;
                state.insert(field.name.to_string(), format!("{prefix}{:04}", *counter).into());
            }
        }
        for field in def.fields.iter().filter(|f| !matches!(f.generator, Gen::Number(_))) {
            if let Mode::Optional(_, percent) = field.mode
                && self.rng.below(100) >= usize::from(percent)
            {
                continue;
            }
            let v = self.value(field.generator, None, &state);
            state.insert(field.name.to_string(), v);
        }
        let name = state.get(def.name_field).and_then(Value::as_str).unwrap_or_default().to_string();
        let id = record_id(def.id_prefix, self.now.div_euclid(1000), &mut self.rng);
        Record { id, name, state, closed: false, protected: false }
    }

    // ---- Changes ------------------------------------------------------

    /// Changes `want` distinct fields of `obj` in place and returns the diff.
    fn mutate(&mut self, fields: &'static [Field], obj: &mut Map<String, Value>, want: usize) -> ChangeTree {
        let mut tree = ChangeTree::new();
        let weight = |f: &Field| match f.mode {
            Mode::Fixed => 0,
            Mode::Edit(w) | Mode::Optional(w, _) => u32::from(w),
        };
        let total: u32 = fields.iter().map(weight).sum();
        if total == 0 {
            return tree;
        }
        let mut attempts = 0;
        while tree.len() < want && attempts < want * 4 + 4 {
            attempts += 1;
            let mut x = self.rng.below(total as usize) as u32;
            let field = fields
                .iter()
                .find(|f| {
                    let w = weight(f);
                    if x < w {
                        true
                    } else {
                        x -= w;
                        false
                    }
                })
                .expect("weighted pick");
            if tree.contains_key(field.name) {
                continue;
            }
            if let Some(node) = self.change_field(field, obj) {
                tree.insert(field.name.to_string(), node);
            }
        }
        tree
    }

    fn change_field(&mut self, field: &Field, obj: &mut Map<String, Value>) -> Option<ChangeNode> {
        let name = field.name;
        if !obj.contains_key(name) {
            let v = self.value(field.generator, None, obj);
            obj.insert(name.to_string(), v.clone());
            return Some(ChangeNode::Value { old: None, new: Some(v) });
        }
        if matches!(field.mode, Mode::Optional(..)) && self.rng.chance(0.35) {
            let old = obj.remove(name);
            return Some(ChangeNode::Value { old, new: None });
        }
        match field.generator {
            Gen::Nested(fields) => {
                let mut inner = match obj.get_mut(name) {
                    Some(Value::Object(m)) => std::mem::take(m),
                    _ => return None,
                };
                let want = if self.rng.chance(0.3) { 2 } else { 1 };
                let subtree = self.mutate(fields, &mut inner, want);
                obj.insert(name.to_string(), Value::Object(inner));
                (!subtree.is_empty()).then_some(ChangeNode::Nested { fields: subtree })
            }
            Gen::Address => {
                let new = self.change_address(&obj[name]);
                let old = std::mem::replace(obj.get_mut(name).expect("present"), new);
                let subtree = diff_objects(&old, &obj[name]);
                (!subtree.is_empty()).then_some(ChangeNode::Nested { fields: subtree })
            }
            generator => {
                let new = self.value(generator, obj.get(name), obj);
                let slot = obj.get_mut(name).expect("present");
                if *slot == new {
                    return None;
                }
                let old = std::mem::replace(slot, new.clone());
                Some(ChangeNode::Value { old: Some(old), new: Some(new) })
            }
        }
    }

    fn changes_per_update(&mut self) -> usize {
        match self.rng.below(100) {
            0..45 => 1,
            45..75 => 2,
            75..92 => 3,
            _ => 4,
        }
    }

    // ---- Actions ------------------------------------------------------

    fn create(&mut self, category: Category) -> Outcome {
        let def = category_def(category);
        let pool_len = self.pools[category.index()].len();
        if pool_len >= def.capacity
            && let Some(i) = self.find(category, Want::Deletable)
        {
            // The record goes quiet rather than deleted: most real records
            // are simply never touched again.
            self.pools[category.index()].swap_remove(i);
        }
        let mut record = self.new_record(category);
        if let Some(p) = self.acting {
            // Whoever creates a key or sends an invitation is on record as
            // doing so.
            for field in ["created_by", "invited_by"] {
                if let Some(slot) = record.state.get_mut(field) {
                    *slot = self.cast.people[p].name.into();
                }
            }
        }
        let outcome = Outcome {
            category,
            verb: creation_verb(category).expect("category has a creation verb"),
            id: record.id.clone(),
            name: record.name.clone(),
            changes: Some(Changes::Initial(record.state.clone())),
            metadata: Map::new(),
        };
        self.pools[category.index()].push(record);
        outcome
    }

    /// Runs `f` on a live record's state with the record taken out of the
    /// pool's borrow, so `f` can use the generator freely.
    fn with_record<T>(
        &mut self,
        category: Category,
        i: usize,
        f: impl FnOnce(&mut Generator, &mut Map<String, Value>, &mut bool) -> T,
    ) -> (Outcome, T) {
        let pool = &mut self.pools[category.index()];
        let mut state = std::mem::take(&mut pool[i].state);
        let mut closed = pool[i].closed;
        let result = f(self, &mut state, &mut closed);
        let def = category_def(category);
        let record = &mut self.pools[category.index()][i];
        if let Some(name) = state.get(def.name_field).and_then(Value::as_str)
            && name != record.name
        {
            record.name = name.to_string();
        }
        record.state = state;
        record.closed = closed;
        let outcome = Outcome {
            category,
            verb: "",
            id: record.id.clone(),
            name: record.name.clone(),
            changes: None,
            metadata: Map::new(),
        };
        (outcome, result)
    }

    fn diff(tree: ChangeTree) -> Option<Changes> {
        (!tree.is_empty()).then_some(Changes::Diff(tree))
    }

    fn perform(&mut self, activity: Activity, who: &Who) -> Outcome {
        let category = activity.category;
        let want = match activity.effect {
            Effect::Create | Effect::Login | Effect::Logout | Effect::LoginFailed | Effect::RevokeSession => {
                None
            }
            Effect::Delete => Some(Want::Deletable),
            Effect::Restore => Some(Want::Closed),
            Effect::Close(..) | Effect::RoleChange => Some(Want::Closable),
            _ => Some(Want::Open),
        };
        let index = match want {
            None => None,
            Some(want) => match self.find(category, want) {
                Some(i) => Some(i),
                // Nothing to act on yet: someone makes one instead.
                None if creation_verb(category).is_some() => return self.create(category),
                None => {
                    let i = self.find(category, Want::Open).expect("fixed categories always have records");
                    return self.update(category, i);
                }
            },
        };
        let i = index.unwrap_or(0);
        let actor_name = who.actor.name.clone();

        let mut outcome = match activity.effect {
            Effect::Create => return self.create(category),
            Effect::Update => return self.update(category, i),
            Effect::Delete => {
                let record = self.pools[category.index()].swap_remove(i);
                Outcome {
                    category,
                    verb: "",
                    id: record.id,
                    name: record.name,
                    changes: Some(Changes::Snapshot(record.state)),
                    metadata: Map::new(),
                }
            }
            Effect::Close(status, stamp) => {
                let (mut o, tree) = self.with_record(category, i, |g, state, closed| {
                    let mut tree = ChangeTree::new();
                    set(&mut tree, state, STATUS, status.into());
                    let now = g.timestamp();
                    set(&mut tree, state, stamp, now);
                    *closed = true;
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Restore => {
                let (mut o, tree) = self.with_record(category, i, |_, state, closed| {
                    let mut tree = ChangeTree::new();
                    set(&mut tree, state, STATUS, "active".into());
                    for stamp in ["archived_at", "cancelled_at", "revoked_at", "voided_at"] {
                        unset(&mut tree, state, stamp);
                    }
                    *closed = false;
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Assign(field) => {
                let (mut o, tree) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let new = g.value(Gen::Member, state.get(field), state);
                    set(&mut tree, state, field, new);
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::RoleChange => {
                let (mut o, tree) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let roles = Gen::Choice(&["admin", "developer", "member"]);
                    let new = g.value(roles, state.get("role"), state);
                    set(&mut tree, state, "role", new);
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Send => {
                let (mut o, (tree, recipient, reminder)) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let client = state.get("client").and_then(Value::as_str).unwrap_or("").to_string();
                    let recipient = email_at("accounts", &client);
                    let draft = state.get(STATUS).and_then(Value::as_str) == Some("draft");
                    if draft {
                        set(&mut tree, state, STATUS, "sent".into());
                        let now = g.timestamp();
                        set(&mut tree, state, "sent_at", now);
                    }
                    (tree, recipient, !draft)
                });
                o.changes = Self::diff(tree);
                o.metadata.insert("recipient".into(), recipient.into());
                if reminder {
                    o.metadata.insert("reminder".into(), true.into());
                }
                o
            }
            Effect::Approve(by_field) => {
                let (mut o, tree) = self.with_record(category, i, |_, state, _| {
                    let mut tree = ChangeTree::new();
                    if state.get(STATUS).and_then(Value::as_str) != Some("approved") {
                        set(&mut tree, state, STATUS, "approved".into());
                        set(&mut tree, state, by_field, actor_name.clone().into());
                    }
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::RequestRevision => {
                let (mut o, tree) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    set(&mut tree, state, STATUS, "revision_requested".into());
                    let note = g.value(Gen::Choice(REVISION_NOTES), state.get("revision_note"), state);
                    set(&mut tree, state, "revision_note", note);
                    set(&mut tree, state, "reviewer", actor_name.clone().into());
                    tree
                });
                o.changes = Self::diff(tree);
                o
            }
            Effect::Verify => {
                let (mut o, (tree, result)) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    let verified = state.get(STATUS).and_then(Value::as_str) == Some("verified");
                    let passes = verified || g.rng.chance(0.8);
                    if !verified {
                        set(&mut tree, state, STATUS, if passes { "verified" } else { "failed" }.into());
                        if passes {
                            let now = g.timestamp();
                            set(&mut tree, state, "verified_at", now);
                        }
                    }
                    (tree, if passes { "ok" } else { "txt_record_not_found" })
                });
                o.changes = Self::diff(tree);
                o.metadata.insert("check".into(), "dns".into());
                o.metadata.insert("result".into(), result.into());
                o
            }
            Effect::Sync => {
                let (mut o, (tree, items)) = self.with_record(category, i, |g, state, _| {
                    let mut tree = ChangeTree::new();
                    match category {
                        Category::Payment => {
                            let now = g.timestamp();
                            set(&mut tree, state, "last_synced_at", now);
                            if state.get(STATUS).and_then(Value::as_str) == Some("pending") {
                                let to = if g.rng.chance(0.85) { "succeeded" } else { "failed" };
                                set(&mut tree, state, STATUS, to.into());
                            }
                        }
                        Category::PaymentAccount => {
                            let now = g.timestamp();
                            set(&mut tree, state, "last_synced_at", now);
                            let balance = g.value(Gen::Money(0, 250_000), None, state);
                            set(&mut tree, state, "balance", balance);
                        }
                        _ => {
                            if g.rng.chance(0.5) {
                                let today = g.date(0);
                                set(&mut tree, state, "last_contacted_at", today);
                            }
                        }
                    }
                    (tree, g.rng.range(1, 40))
                });
                o.changes = Self::diff(tree);
                o.metadata.insert("items".into(), items.into());
                o
            }
            Effect::Export => {
                let (mut o, ()) = self.with_record(category, i, |_, _, _| ());
                if who.job == Some(job::NIGHTLY_BACKUP) {
                    let day = self.date(0);
                    let day = day.as_str().unwrap_or_default();
                    o.metadata.insert(
                        "destination".into(),
                        format!("backups/{day}/{}.json.gz", category.as_str()).into(),
                    );
                } else {
                    let format = *self.rng.pick(&["csv", "xlsx", "pdf"]);
                    o.metadata.insert("format".into(), format.into());
                    o.metadata.insert("rows".into(), self.rng.range(1, 2_500).into());
                }
                o
            }
            Effect::ShareFile => {
                let (mut o, ()) = self.with_record(category, i, |_, _, _| ());
                let grantee = self.value(Gen::AnyEmail, None, &Map::new());
                o.metadata.insert("grantee".into(), grantee);
                o.metadata.insert("permission".into(), (*self.rng.pick(&["view", "comment", "edit"])).into());
                o
            }
            Effect::Resend => {
                let (mut o, ()) = self.with_record(category, i, |_, _, _| ());
                o.metadata.insert("attempt".into(), self.rng.range(2, 4).into());
                o
            }
            Effect::Login | Effect::Logout | Effect::LoginFailed | Effect::RevokeSession => {
                unreachable!("sessions are handled before records")
            }
        };
        outcome.verb = activity.verb;
        outcome
    }

    fn update(&mut self, category: Category, i: usize) -> Outcome {
        let want = self.changes_per_update();
        let fields = category_def(category).fields;
        let (mut o, tree) = self.with_record(category, i, |g, state, _| {
            let mut tree = ChangeTree::new();
            for _ in 0..10 {
                tree = g.mutate(fields, state, want);
                if !tree.is_empty() {
                    break;
                }
            }
            tree
        });
        o.verb = "update";
        o.changes = Self::diff(tree);
        o
    }

    // ---- Sessions -----------------------------------------------------

    fn session_outcome(&self, verb: &'static str, id: String, name: &str) -> Outcome {
        Outcome {
            category: Category::Session,
            verb,
            id,
            name: name.to_string(),
            changes: None,
            metadata: Map::new(),
        }
    }

    fn login(&mut self, who: &mut Who) -> Outcome {
        let (p, d) = (who.person.expect("person"), who.device.expect("device"));
        let session = record_id("sess", self.now.div_euclid(1000), &mut self.rng);
        let device = &mut self.cast.people[p].devices[d];
        device.session = Some(session.clone());
        let label = device.label();
        who.context.session_id = Some(session.clone());
        let mut o = self.session_outcome("login", session, label);
        let method = *self.rng.pick(&["password", "password", "google_sso", "passkey", "magic_link"]);
        o.metadata.insert("method".into(), method.into());
        if method == "password" {
            o.metadata.insert("mfa".into(), self.rng.chance(0.6).into());
        }
        o
    }

    fn sign_out(&mut self, p: usize, d: usize, verb: &'static str) -> Outcome {
        let device = &mut self.cast.people[p].devices[d];
        let session = device.session.take().expect("signed in");
        let label = device.label();
        self.session_outcome(verb, session, label)
    }

    /// A wrong password from the member's own browser, or someone else
    /// trying their account from far away with a script.
    fn login_failed(&mut self, who: &mut Who) -> Outcome {
        who.context.session_id = None;
        let attack = self.rng.chance(0.3);
        if attack {
            let (country, prefixes) = *self.rng.pick(UNUSUAL_NETWORKS);
            let prefix = *self.rng.pick(prefixes);
            who.context.ip = Some(ip_in(prefix, &mut self.rng));
            who.context.country = Some(country.to_string());
            if self.rng.chance(0.6) {
                who.context.user_agent = Some((*self.rng.pick(SCRIPT_AGENTS)).to_string());
            }
        }
        let attempt = record_id("sess", self.now.div_euclid(1000), &mut self.rng);
        let mut o = self.session_outcome("login_failed", attempt, "Failed sign-in");
        let reason = if attack {
            *self.rng.pick(&["invalid_password", "invalid_password", "account_locked"])
        } else {
            *self.rng.pick(&["invalid_password", "invalid_password", "mfa_code_invalid", "mfa_code_expired"])
        };
        o.metadata.insert("reason".into(), reason.into());
        o.metadata.insert("attempt".into(), self.rng.range(1, if attack { 12 } else { 3 }).into());
        o
    }

    /// An admin (or the cleanup job) ends someone's session.
    fn revoke_session(&mut self, who: &Who) -> Option<Outcome> {
        for _ in 0..8 {
            let p = self.rng.below(self.cast.people.len());
            let devices = &self.cast.people[p].devices;
            let d = self.rng.below(devices.len());
            // Never the session making this request.
            if devices[d].session.is_some() && who.context.session_id != devices[d].session {
                let mut o = self.sign_out(p, d, "revoke");
                let reason = if who.job.is_some() { "expired" } else { "admin_action" };
                o.metadata.insert("reason".into(), reason.into());
                return Some(o);
            }
        }
        None
    }

    // ---- Events -------------------------------------------------------

    fn who(&mut self, by: By) -> Who {
        match by {
            By::User | By::Admin => {
                let p = self.pick_person(by == By::Admin);
                let n = self.cast.people[p].devices.len();
                let d = if n > 1 && self.rng.chance(0.3) { 1 + self.rng.below(n - 1) } else { 0 };
                Who {
                    actor: self.cast.people[p].actor.clone(),
                    context: self.person_context(p, d),
                    person: Some(p),
                    device: Some(d),
                    job: None,
                }
            }
            _ => {
                let robot = self.robot(by);
                Who {
                    actor: robot.actor.clone(),
                    context: EventContext {
                        ip: Some(robot.ip.clone()),
                        user_agent: robot.user_agent.map(str::to_string),
                        session_id: None,
                        request_id: None,
                        country: robot.country.map(str::to_string),
                    },
                    person: None,
                    device: None,
                    job: if let By::Job(j) = by { Some(j) } else { None },
                }
            }
        }
    }

    fn next_event(&mut self) -> NewAuditEvent {
        self.now = self.clock.next(&mut self.rng);
        let activity = self.pick_activity();
        let mut who = self.who(activity.by);
        self.acting = who.person;
        let signed_in = who.context.session_id.is_some();

        let outcome = match activity.effect {
            Effect::LoginFailed => self.login_failed(&mut who),
            Effect::Logout if signed_in => {
                let (p, d) = (who.person.expect("person"), who.device.expect("device"));
                self.sign_out(p, d, "logout")
            }
            // A signed-out browser has to sign in before doing anything.
            _ if who.person.is_some() && !signed_in => self.login(&mut who),
            Effect::Login => self.login(&mut who),
            Effect::RevokeSession => match self.revoke_session(&who) {
                Some(o) => o,
                None if who.person.is_some() => self.login(&mut who),
                None => {
                    let i = self.find(Category::Settings, Want::Open).expect("settings exist");
                    self.update(Category::Settings, i)
                }
            },
            Effect::Update if activity.category == Category::Member => {
                // Members edit their own profile.
                let p = who.person.expect("person");
                self.update(Category::Member, p)
            }
            _ => self.perform(activity, &who),
        };

        let mut metadata = outcome.metadata;
        if let Some(j) = who.job {
            let day = self.now.div_euclid(DAY_MICROS) as u64;
            let run = mix(mix(self.seed, j as u64), day);
            metadata.insert("job_run".into(), format!("run_{:012x}", run >> 16).into());
        } else if metadata.is_empty() {
            match (activity.by, self.rng.below(100)) {
                (By::ApiKey(_), 0..50) => {
                    metadata.insert("source".into(), "api".into());
                }
                (By::User | By::Admin, 0..8) => {
                    let mobile = who.context.user_agent.as_deref().is_some_and(|ua| ua.contains("Mobile"));
                    metadata.insert("source".into(), if mobile { "mobile" } else { "web" }.into());
                }
                _ => {}
            }
        }
        who.context.request_id = Some(hex_id("req_", 16, &mut self.rng));

        let category = outcome.category.as_str();
        let mut action = String::with_capacity(category.len() + 1 + outcome.verb.len());
        action.push_str(category);
        action.push('.');
        action.push_str(outcome.verb);

        NewAuditEvent {
            id: event_id(self.now, &mut self.rng),
            org_id: self.org_id,
            external_id: None,
            occurred_at: DateTime::from_timestamp_micros(self.now).expect("time in range"),
            actor: who.actor,
            action,
            entity: EntityRef {
                entity_type: category.to_string(),
                id: outcome.id,
                name: Some(outcome.name),
                deleted: false,
            },
            changes: outcome.changes,
            context: who.context,
            metadata: Value::Object(metadata),
        }
    }
}

impl Iterator for Generator {
    type Item = NewAuditEvent;

    fn next(&mut self) -> Option<NewAuditEvent> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(self.next_event())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Generator {}

/// The leaves that differ between two flat objects (addresses).
fn diff_objects(old: &Value, new: &Value) -> ChangeTree {
    let mut tree = ChangeTree::new();
    let (Some(old), Some(new)) = (old.as_object(), new.as_object()) else {
        return tree;
    };
    for (k, v) in new {
        if old.get(k) != Some(v) {
            tree.insert(k.clone(), ChangeNode::Value { old: old.get(k).cloned(), new: Some(v.clone()) });
        }
    }
    for (k, v) in old {
        if !new.contains_key(k) {
            tree.insert(k.clone(), ChangeNode::Value { old: Some(v.clone()), new: None });
        }
    }
    tree
}

fn email_at(local: &str, company: &str) -> String {
    format!("{local}@{}.example", domain_label(company))
}

/// Sets one field of a record and records the change in `tree`.
fn set(tree: &mut ChangeTree, state: &mut Map<String, Value>, field: &str, new: Value) {
    let old = state.insert(field.to_string(), new.clone());
    if old.as_ref() != Some(&new) {
        tree.insert(field.to_string(), ChangeNode::Value { old, new: Some(new) });
    }
}

fn unset(tree: &mut ChangeTree, state: &mut Map<String, Value>, field: &str) {
    if let Some(old) = state.remove(field) {
        tree.insert(field.to_string(), ChangeNode::Value { old: Some(old), new: None });
    }
}

/// The other word of a [`WORD_SWAPS`] pair, keeping trailing punctuation.
fn swap_of(word: &str) -> Option<String> {
    let core = word.trim_end_matches([',', '.', ';', ':']);
    let tail = &word[core.len()..];
    WORD_SWAPS.iter().find_map(|&(a, b)| {
        if core == a {
            Some(format!("{b}{tail}"))
        } else if core == b {
            Some(format!("{a}{tail}"))
        } else {
            None
        }
    })
}
