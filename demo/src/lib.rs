//! Realistic, deterministic demo data: an org with a team, background jobs,
//! API keys and integrations acting on 21 kinds of records over a window of
//! days. The same options always give the same events, so a demo, a
//! screenshot and a bug report can all say "seed 42" and mean one thing.
//!
//! Events are produced one at a time in time order from a simulation with
//! bounded memory, so ten million of them can be streamed into `COPY`.

mod cast;
mod catalog;
mod clock;
mod generator;
mod ids;
mod progress;
mod rng;
mod words;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use progress::Progress;

use self::rng::{Rng, mix};

#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Same options, same events.
    pub seed: u64,
    /// How many events to generate for the org.
    pub events: usize,
    /// The newest possible `occurred_at`.
    pub until: DateTime<Utc>,
    /// Length in days of the window ending at `until` that events are
    /// spread over (at least one).
    pub days: u32,
}

impl Default for DemoOptions {
    fn default() -> DemoOptions {
        DemoOptions { seed: 42, events: 20_000, until: Utc::now(), days: 90 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOrg {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// Org number `index` of a demo: 0 is the main demo org, Acme Corp.
pub fn demo_org(seed: u64, index: usize) -> DemoOrg {
    let (slug, name) = words::ORG_NAMES[index % words::ORG_NAMES.len()];
    let round = index / words::ORG_NAMES.len();
    let (slug, name) = if round == 0 {
        (slug.to_string(), name.to_string())
    } else {
        (format!("{slug}-{}", round + 1), format!("{name} {}", round + 1))
    };
    let mut bytes = [0u8; 16];
    Rng::new(mix(seed, 0x0_0A6 ^ index as u64)).fill(&mut bytes);
    DemoOrg { id: uuid::Builder::from_random_bytes(bytes).into_uuid(), slug, name }
}

/// Streams `opts.events` events for `org` in ascending `occurred_at` order
/// (ids ascend too). Memory stays bounded whatever the count.
///
/// `until` is truncated to whole microseconds, the store's precision, so
/// events read back from PostgreSQL compare equal to the generated ones.
pub fn events(org: &DemoOrg, opts: &DemoOptions) -> impl Iterator<Item = app::model::NewAuditEvent> + use<> {
    generator::Generator::new(org, opts.seed, opts.until.timestamp_micros(), opts.days, opts.events)
}

/// A member of a demo org, for signing in as them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoMember {
    /// Also the `actor.id` of their events and the `member` record's id.
    pub id: String,
    pub name: String,
    pub email: String,
    /// `owner`, `admin`, `developer` or `member`: the role each member
    /// starts with (`member.role_change` events may change it later).
    pub role: &'static str,
}

/// The org's 25 members; independent of the events' seed.
pub fn members(org: &DemoOrg) -> Vec<DemoMember> {
    cast::Cast::new(org)
        .people
        .into_iter()
        .map(|p| DemoMember { id: p.id, name: p.name.to_string(), email: p.email, role: p.role })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};

    use app::model::{ActorKind, ChangeNode, ChangeTree, Changes, NewAuditEvent, action_verb};
    use serde_json::{Map, Value};

    use super::*;

    fn until() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-30T17:30:00.123456789Z").unwrap().with_timezone(&Utc)
    }

    fn run(seed: u64, n: usize) -> Vec<NewAuditEvent> {
        let org = demo_org(seed, 0);
        events(&org, &DemoOptions { seed, events: n, until: until(), days: 90 }).collect()
    }

    #[test]
    fn same_options_same_events_and_seeds_differ() {
        let a = run(7, 3_000);
        let b = run(7, 3_000);
        assert_eq!(a, b);
        let c = run(8, 3_000);
        assert_ne!(a, c);
        // The org's id alone must not fix the stream either.
        let org = demo_org(7, 0);
        let d: Vec<_> =
            events(&org, &DemoOptions { seed: 9, events: 3_000, until: until(), days: 90 }).collect();
        assert_ne!(a, d);
    }

    #[test]
    fn exact_count_in_order_within_the_window() {
        let until = until();
        for n in [0, 1, 2, 17, 5_000] {
            let evs = run(1, n);
            assert_eq!(evs.len(), n);
            let start = until - chrono::Duration::days(90);
            for w in evs.windows(2) {
                assert!(w[0].occurred_at < w[1].occurred_at);
                assert!(w[0].id < w[1].id, "ids follow time");
            }
            for e in &evs {
                assert!(e.occurred_at <= until && e.occurred_at >= start);
                assert_eq!(e.id.get_version_num(), 7);
                assert_eq!(e.occurred_at.timestamp_subsec_nanos() % 1000, 0, "microsecond precision");
                assert_eq!(uuid_millis(e), e.occurred_at.timestamp_millis() as u64);
            }
        }
    }

    fn uuid_millis(e: &NewAuditEvent) -> u64 {
        let (secs, nanos) = e.id.get_timestamp().unwrap().to_unix();
        secs * 1000 + u64::from(nanos) / 1_000_000
    }

    #[test]
    fn orgs_and_members() {
        let acme = demo_org(42, 0);
        assert_eq!(acme.slug, "acme");
        assert_eq!(acme, demo_org(42, 0));
        assert_ne!(acme.id, demo_org(43, 0).id);
        let orgs: HashSet<_> = (0..25).map(|i| demo_org(42, i).slug).collect();
        assert_eq!(orgs.len(), 25, "slugs are unique");

        let team = members(&acme);
        assert_eq!(team.len(), 25);
        assert_eq!(team.iter().filter(|m| m.role == "owner").count(), 1);
        assert!(team.iter().all(|m| ["owner", "admin", "developer", "member"].contains(&m.role)));
        assert!(team.iter().all(|m| m.email.ends_with("@acme.example") && m.email.is_ascii()));
        assert!(team.iter().any(|m| m.name == "José Álvarez"));
        let emails: HashSet<_> = team.iter().map(|m| &m.email).collect();
        assert_eq!(emails.len(), 25);
        assert_eq!(team, members(&acme));
        assert_ne!(members(&demo_org(42, 1))[0].name, team[0].name);
    }

    /// What a reader of the log knows about one record.
    struct Known {
        /// Seen from its create, so every field is known.
        full: bool,
        state: Map<String, Value>,
    }

    fn replay(tree: &ChangeTree, state: &mut Map<String, Value>, full: bool, at: &str) {
        for (name, node) in tree {
            match node {
                ChangeNode::Nested { fields } => {
                    assert!(!fields.is_empty(), "{at}: empty nested diff on {name}");
                    let inner = match state.get_mut(name) {
                        Some(Value::Object(m)) => m,
                        Some(other) => panic!("{at}: nested diff on non-object {name} = {other}"),
                        None => {
                            assert!(!full, "{at}: nested diff on missing {name}");
                            state.insert(name.clone(), Value::Object(Map::new()));
                            state.get_mut(name).and_then(Value::as_object_mut).unwrap()
                        }
                    };
                    replay(fields, inner, full, at);
                }
                ChangeNode::Value { old, new } => {
                    assert!(old.is_some() || new.is_some(), "{at}: {name} changes nothing");
                    assert_ne!(old, new, "{at}: {name} did not change");
                    match (state.get(name), old) {
                        // Partly known objects: what is known must agree.
                        (Some(Value::Object(known)), Some(Value::Object(old))) if !full => {
                            agrees(known, old, at)
                        }
                        (Some(known), _) => {
                            assert_eq!(Some(known), old.as_ref(), "{at}: stale old value of {name}")
                        }
                        (None, _) if full => assert!(old.is_none(), "{at}: {name} was absent"),
                        (None, _) => {}
                    }
                    match new {
                        Some(v) => state.insert(name.clone(), v.clone()),
                        None => state.remove(name),
                    };
                }
            }
        }
    }

    fn agrees(known: &Map<String, Value>, actual: &Map<String, Value>, at: &str) {
        for (k, v) in known {
            match (v, actual.get(k)) {
                (Value::Object(a), Some(Value::Object(b))) => agrees(a, b, at),
                (v, other) => assert_eq!(Some(v), other, "{at}: snapshot disagrees on {k}"),
            }
        }
    }

    fn has_nested(tree: &ChangeTree) -> bool {
        tree.values().any(|n| matches!(n, ChangeNode::Nested { .. }))
    }

    fn leaves(tree: &ChangeTree, out: &mut Vec<(String, Option<Value>, Option<Value>)>) {
        for (k, n) in tree {
            match n {
                ChangeNode::Nested { fields } => leaves(fields, out),
                ChangeNode::Value { old, new } => out.push((k.clone(), old.clone(), new.clone())),
            }
        }
    }

    #[test]
    fn twenty_thousand_events_tell_a_consistent_story() {
        for seed in [42, 7] {
            consistent_story(seed, 20_000);
        }
    }

    /// `cargo test -p demo --release --lib tests::long_runs -- --ignored`
    #[test]
    #[ignore]
    fn long_runs_stay_consistent() {
        for seed in 0..12 {
            consistent_story(seed, 20_000);
        }
        consistent_story(42, 400_000);
    }

    fn consistent_story(seed: u64, n: usize) {
        let evs = run(seed, n);
        let org = demo_org(seed, 0);
        let team: HashMap<String, DemoMember> =
            members(&org).into_iter().map(|m| (m.id.clone(), m)).collect();

        let mut known: HashMap<(String, String), Known> = HashMap::new();
        let mut gone: HashSet<(String, String)> = HashSet::new();
        let mut closed: HashSet<(String, String)> = HashSet::new();
        let mut ended_sessions: HashSet<String> = HashSet::new();
        let mut categories: BTreeMap<String, usize> = BTreeMap::new();
        let mut verbs: BTreeMap<String, usize> = BTreeMap::new();
        let mut kinds: HashSet<ActorKind> = HashSet::new();
        let mut secret_fields: HashSet<String> = HashSet::new();
        let (mut nested, mut added, mut removed, mut long_edits) = (0, 0, 0, 0);
        let mut countries: HashSet<String> = HashSet::new();
        let mut agents: HashSet<String> = HashSet::new();

        for e in &evs {
            let at = format!("{} {} {}", e.occurred_at, e.action, e.entity.id);
            let key = (e.entity.entity_type.clone(), e.entity.id.clone());
            let verb = action_verb(&e.action).to_string();
            assert_eq!(e.action, format!("{}.{verb}", e.entity.entity_type));
            assert!(!e.entity.deleted);
            assert!(e.entity.name.as_deref().is_some_and(|n| !n.is_empty()), "{at}: unnamed");
            assert_eq!(e.org_id, org.id);
            assert!(!gone.contains(&key), "{at}: event after the record's delete");
            if let Some(s) = &e.context.session_id {
                assert!(!ended_sessions.contains(s), "{at}: uses an ended session");
            }
            let rid = e.context.request_id.as_deref().unwrap();
            assert!(rid.starts_with("req_") && rid.len() == 20);
            assert!(e.metadata.is_object());
            *categories.entry(e.entity.entity_type.clone()).or_default() += 1;
            *verbs.entry(verb.clone()).or_default() += 1;
            kinds.insert(e.actor.kind);

            match e.actor.kind {
                ActorKind::User => {
                    let m = team.get(&e.actor.id).expect("users are members");
                    assert_eq!(e.actor.name, m.name);
                    assert_eq!(e.actor.email.as_deref(), Some(m.email.as_str()));
                    let avatar = e.actor.avatar.as_deref().unwrap();
                    assert!(avatar.starts_with("/avatars/"), "{avatar}");
                    assert!(e.context.user_agent.is_some() && e.context.country.is_some());
                    assert!(e.context.session_id.is_some() || verb == "login_failed");
                }
                ActorKind::System => {
                    assert_eq!(e.actor.id, format!("system:{}", e.actor.name));
                    assert!(e.context.user_agent.is_none());
                    assert!(e.context.ip.as_deref().unwrap().starts_with("10.0.0."));
                    assert!(e.metadata.get("job_run").is_some());
                }
                ActorKind::ApiKey | ActorKind::Integration => {
                    assert!(e.context.user_agent.is_some());
                }
            }
            countries.extend(e.context.country.clone());
            agents.extend(e.context.user_agent.clone());

            if closed.contains(&key) {
                assert!(["delete", "restore"].contains(&verb.as_str()), "{at}: acts on a closed record");
            }

            match &e.changes {
                Some(Changes::Initial(m)) => {
                    assert!(["create", "share", "invite"].contains(&verb.as_str()), "{at}");
                    assert!(!known.contains_key(&key) && !gone.contains(&key), "{at}: id reused");
                    known.insert(key.clone(), Known { full: true, state: m.clone() });
                }
                Some(Changes::Snapshot(m)) => {
                    assert_eq!(verb, "delete", "{at}");
                    if let Some(k) = known.remove(&key) {
                        if k.full {
                            assert_eq!(&k.state, m, "{at}: snapshot is not the last state");
                        } else {
                            agrees(&k.state, m, &at);
                        }
                    }
                    gone.insert(key.clone());
                    closed.remove(&key);
                }
                Some(Changes::Diff(tree)) => {
                    assert!(!tree.is_empty(), "{at}: empty diff");
                    let k = known.entry(key.clone()).or_insert(Known { full: false, state: Map::new() });
                    replay(tree, &mut k.state, k.full, &at);
                    if has_nested(tree) {
                        nested += 1;
                    }
                    let mut ls = Vec::new();
                    leaves(tree, &mut ls);
                    for (name, old, new) in ls {
                        if [
                            "password",
                            "api_key",
                            "mfa_secret",
                            "token",
                            "secret",
                            "client_secret",
                            "webhook_secret",
                            "webhook_token",
                        ]
                        .contains(&name.as_str())
                        {
                            secret_fields.insert(name.clone());
                        }
                        match (&old, &new) {
                            (None, _) => added += 1,
                            (_, None) => removed += 1,
                            (Some(Value::String(a)), Some(Value::String(b)))
                                if a.len() > 80 && b.len() > 80 =>
                            {
                                long_edits += 1
                            }
                            _ => {}
                        }
                    }
                }
                None => {}
            }
            if let Some(Changes::Initial(m)) = &e.changes {
                for name in ["password", "api_key", "mfa_secret", "token", "secret", "webhook_secret"] {
                    if m.contains_key(name) {
                        secret_fields.insert(name.to_string());
                    }
                }
            }

            match verb.as_str() {
                "update" => assert!(matches!(e.changes, Some(Changes::Diff(_))), "{at}: update without diff"),
                "create" => assert!(matches!(e.changes, Some(Changes::Initial(_))), "{at}"),
                "delete" => assert!(matches!(e.changes, Some(Changes::Snapshot(_))), "{at}"),
                "archive" | "cancel" => {
                    closed.insert(key.clone());
                }
                "revoke" if e.entity.entity_type != "session" => {
                    closed.insert(key.clone());
                }
                "restore" => {
                    closed.remove(&key);
                }
                "logout" | "revoke" => {
                    ended_sessions.insert(e.entity.id.clone());
                    gone.insert(key.clone());
                }
                "assign" | "role_change" => {
                    assert!(matches!(e.changes, Some(Changes::Diff(_))), "{at}");
                }
                _ => {}
            }
        }

        let all = [
            "client",
            "project",
            "lead",
            "contact",
            "file",
            "invoice",
            "quote",
            "payment",
            "payment_account",
            "expense",
            "task",
            "submission",
            "member",
            "role",
            "invitation",
            "settings",
            "branding",
            "domain",
            "api_key",
            "share_grant",
            "session",
        ];
        for c in all {
            assert!(categories.contains_key(c), "no {c} events: {categories:?}");
        }
        assert_eq!(categories.len(), 21, "{categories:?}");
        assert_eq!(kinds.len(), 4, "all actor kinds act");

        let share = |v: &str| *verbs.get(v).unwrap_or(&0) as f64 / evs.len() as f64;
        assert!((0.28..0.42).contains(&share("update")), "{verbs:?}");
        assert!((0.15..0.26).contains(&share("create")), "{verbs:?}");
        assert!((0.04..0.09).contains(&share("delete")), "{verbs:?}");
        assert!((0.008..0.03).contains(&share("login_failed")), "{verbs:?}");
        for v in [
            "login",
            "logout",
            "assign",
            "share",
            "revoke",
            "cancel",
            "invite",
            "send",
            "approve",
            "request_revision",
            "archive",
            "restore",
            "export",
            "sync",
            "role_change",
            "verify",
            "resend",
        ] {
            assert!(verbs.contains_key(v), "no {v}: {verbs:?}");
        }
        assert!(nested > 100, "nested diffs: {nested}");
        assert!(added > 50 && removed > 50, "added {added}, removed {removed}");
        assert!(long_edits > 50, "long text edits: {long_edits}");
        for s in ["password", "api_key", "mfa_secret", "token", "secret"] {
            assert!(secret_fields.contains(s), "no {s} field: {secret_fields:?}");
        }
        for c in ["GB", "US", "DE", "FR", "NL", "IN", "BR"] {
            assert!(countries.contains(c), "no events from {c}");
        }
        assert!(agents.len() >= 6, "{agents:?}");
    }

    /// `cargo test -p demo --release --lib tests::speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn speed() {
        let org = demo_org(42, 0);
        let started = std::time::Instant::now();
        let opts = DemoOptions { seed: 42, events: 1_000_000, until: until(), days: 90 };
        let mut bytes = 0usize;
        for e in events(&org, &opts) {
            bytes += e.action.len();
        }
        let took = started.elapsed();
        println!("1,000,000 events in {took:?} ({bytes} action bytes)");
        assert!(took.as_secs_f64() < 10.0);
    }
}
