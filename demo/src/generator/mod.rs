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

mod activities;
mod records;
mod values;

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
