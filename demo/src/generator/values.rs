//! Field values: made up the first time, changed plausibly after.

use super::*;

impl Generator {
    pub(super) fn date(&self, offset_days: i64) -> Value {
        let day = self.now.div_euclid(DAY_MICROS) + offset_days;
        let date = DateTime::from_timestamp(day * 86_400, 0).expect("date in range").date_naive();
        Value::String(date.to_string())
    }

    pub(super) fn timestamp(&self) -> Value {
        let at = DateTime::from_timestamp_micros(self.now).expect("time in range");
        Value::String(at.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub(super) fn pattern(&mut self, pattern: &str) -> String {
        pattern
            .chars()
            .map(|c| match c {
                '#' => char::from(b'0' + self.rng.below(10) as u8),
                'A' => char::from(b'A' + self.rng.below(26) as u8),
                c => c,
            })
            .collect()
    }

    pub(super) fn company(&mut self) -> String {
        let base = *self.rng.pick(COMPANIES);
        let suffix = *self.rng.pick(COMPANY_SUFFIXES);
        format!("{base}{suffix}")
    }

    pub(super) fn person(&mut self) -> String {
        let first = *self.rng.pick(FIRST_NAMES);
        let last = *self.rng.pick(LAST_NAMES);
        format!("{first} {last}")
    }

    pub(super) fn paragraph(&mut self) -> String {
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(3) {
            self.append_sentence(&mut out);
        }
        out
    }

    /// Adds a sentence the text does not already contain.
    pub(super) fn append_sentence(&mut self, text: &mut String) {
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
    pub(super) fn edit_paragraph(&mut self, old: &str) -> String {
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

    pub(super) fn address(&mut self, city_index: Option<usize>) -> Value {
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
    pub(super) fn change_address(&mut self, old: &Value) -> Value {
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

    pub(super) fn file_name(&mut self, old: Option<&Value>) -> String {
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

    pub(super) fn secret(&mut self, kind: Secret) -> String {
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

    pub(super) fn live_name(&mut self, category: Category) -> Option<String> {
        let pool = &self.pools[category.index()];
        if pool.is_empty() {
            return None;
        }
        Some(pool[self.rng.below(pool.len())].name.clone())
    }

    pub(super) fn tags(&mut self, from: &'static [&'static str]) -> Value {
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
    pub(super) fn value(
        &mut self,
        generator: Gen,
        old: Option<&Value>,
        siblings: &Map<String, Value>,
    ) -> Value {
        match generator {
            Gen::Company
            | Gen::Person
            | Gen::PersonEmail(..)
            | Gen::CompanyEmail(..)
            | Gen::AnyEmail
            | Gen::Member
            | Gen::Address
            | Gen::OrgDomain => self.people_value(generator, old, siblings),
            Gen::FileName
            | Gen::MimeOf(..)
            | Gen::ProjectName
            | Gen::TaskTitle
            | Gen::Expense
            | Gen::ExpenseVendor(..)
            | Gen::PaymentAccountName
            | Gen::ProviderOf(..) => self.thing_value(generator, old, siblings),
            Gen::ClientRef
            | Gen::ProjectRef
            | Gen::InvoiceRef
            | Gen::PaymentAccountRef
            | Gen::ShareableRef => self.reference(generator, siblings),
            _ => self.plain_value(generator, old, siblings),
        }
    }

    /// Values that are plain data: choices, numbers, dates, text, tags.
    pub(super) fn plain_value(
        &mut self,
        generator: Gen,
        old: Option<&Value>,
        siblings: &Map<String, Value>,
    ) -> Value {
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
            Gen::Color => format!("#{:06x}", self.rng.next_u64() & 0xFF_FFFF).into(),
            Gen::Join(a, sep, b) => format!("{}{sep}{}", sibling(a), sibling(b)).into(),
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
            _ => unreachable!("plain_value is only asked for its own generators"),
        }
    }

    /// People, companies and where they are: names that change the way real
    /// ones do (a new surname, a new legal form), emails, addresses.
    pub(super) fn people_value(
        &mut self,
        generator: Gen,
        old: Option<&Value>,
        siblings: &Map<String, Value>,
    ) -> Value {
        let sibling = |name: &str| siblings.get(name).and_then(Value::as_str).unwrap_or("");
        match generator {
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
            Gen::OrgDomain => {
                let prefix = *self.rng.pick(DOMAIN_PREFIXES);
                format!("{prefix}.{}.example", self.org_slug).into()
            }
            _ => unreachable!("people_value is only asked for its own generators"),
        }
    }

    /// The names of the records' things: files, projects, tasks, expenses,
    /// payment accounts, and the facts derived from them.
    pub(super) fn thing_value(
        &mut self,
        generator: Gen,
        old: Option<&Value>,
        siblings: &Map<String, Value>,
    ) -> Value {
        let sibling = |name: &str| siblings.get(name).and_then(Value::as_str).unwrap_or("");
        match generator {
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
            _ => unreachable!("thing_value is only asked for its own generators"),
        }
    }

    /// A reference to another live record by its name, or a made-up one when
    /// none exists yet.
    pub(super) fn reference(&mut self, generator: Gen, siblings: &Map<String, Value>) -> Value {
        match generator {
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
            _ => unreachable!("reference is only asked for its own generators"),
        }
    }
}
