//! One person's (or process's) activity over a period: what the people
//! page shows. Counts come from the per-actor daily rollups, so every
//! period is whole UTC days; each count carries the filter of exactly the
//! events it counts, so the page links it to the timeline.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::dashboard::Span;
use super::{ActorKind, AuditEvent, TimelineFilter};

/// The periods the page offers, in days ending today (UTC).
pub const PERIOD_DAYS: [u32; 4] = [7, 30, 90, 365];
pub const DEFAULT_DAYS: u32 = 30;

/// A counted kind of action: its label and the timeline's action terms
/// (types, verbs, patterns) that select it, so the count and its link agree.
pub struct Measure {
    pub key: &'static str,
    pub label: &'static str,
    pub terms: &'static [&'static str],
}

/// The activity summary, in the product document's order.
pub const SUMMARY: &[Measure] = &[
    Measure { key: "modified", label: "Records modified", terms: &["update", "delete"] },
    Measure { key: "created", label: "Records created", terms: &["create"] },
    Measure { key: "viewed", label: "Records viewed", terms: &["view"] },
    Measure { key: "reports", label: "Reports generated", terms: &["report.create", "generate"] },
    Measure { key: "exports", label: "Exports", terms: &["export"] },
];

/// The sessions block.
pub const SESSIONS: &[Measure] = &[
    Measure { key: "sign_ins", label: "Sign-ins", terms: &["login", "sign_in"] },
    Measure {
        key: "failed",
        label: "Failed sign-ins",
        terms: &["login_failed", "failed_login", "sign_in_failed"],
    },
    Measure {
        key: "passwords",
        label: "Password changes",
        terms: &["password_change", "password_changed", "password_reset", "password.*"],
    },
];

/// Sign-outs, paired with sign-ins for the session length.
pub const SIGN_OUTS: &[&str] = &["logout", "sign_out"];

impl Measure {
    pub fn terms(&self) -> Vec<String> {
        self.terms.iter().map(|t| t.to_string()).collect()
    }
}

/// A session longer than this is not a session (a sign-out was lost).
pub const LONGEST_SESSION_HOURS: i64 = 24;

/// What the store counts for one actor over whole days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorCounts {
    pub total: u64,
    /// One per measure asked for, in order.
    pub measures: Vec<u64>,
    /// Events per record type, most first, at most the number asked for.
    pub modules: Vec<(String, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub label: String,
    pub events: u64,
    /// Exactly the events counted.
    pub filter: TimelineFilter,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonActivity {
    pub actor_id: String,
    pub name: String,
    pub kind: ActorKind,
    pub email: Option<String>,
    pub days: u32,
    /// The period as whole UTC days, today included.
    pub span: Span,
    pub total: Count,
    pub summary: Vec<Count>,
    pub modules: Vec<Count>,
    /// Events of record types beyond the listed modules.
    pub other_modules: u64,
    pub sessions: Vec<Count>,
    /// Mean length of the sessions with both a sign-in and a sign-out in
    /// the period; `None` when there were none.
    pub average_session_secs: Option<i64>,
    pub sessions_measured: u32,
    pub recent: Vec<AuditEvent>,
}

/// The period of `days` whole UTC days ending with today.
pub fn period(days: u32, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = now.date_naive();
    let until = today.succ_opt().unwrap_or(today);
    let from = today - chrono::Days::new(u64::from(days.saturating_sub(1)));
    (from, until)
}

/// Session lengths from an actor's sign-ins and sign-outs (`events`, any
/// order): a sign-out closes the latest open sign-in of the same session
/// id, or, where the events carry none, the latest open sign-in. Sessions
/// longer than [`LONGEST_SESSION_HOURS`] are left out.
pub fn session_lengths(events: &[AuditEvent]) -> Vec<i64> {
    let mut sorted: Vec<&AuditEvent> = events.iter().collect();
    sorted.sort_by_key(|e| (e.occurred_at, e.id));
    let mut open: Vec<(Option<&str>, DateTime<Utc>)> = Vec::new();
    let mut lengths = Vec::new();
    for e in sorted {
        let verb = super::action_verb(&e.action);
        let session = e.context.session_id.as_deref().filter(|s| !s.is_empty());
        if SIGN_OUTS.contains(&verb) {
            let at = match session {
                Some(s) => open.iter().rposition(|(id, _)| *id == Some(s)),
                None => open.len().checked_sub(1),
            };
            if let Some(at) = at {
                let (_, start) = open.remove(at);
                let secs = (e.occurred_at - start).num_seconds();
                if (0..=LONGEST_SESSION_HOURS * 3600).contains(&secs) {
                    lengths.push(secs);
                }
            }
        } else if matches!(verb, "login" | "sign_in") {
            open.push((session, e.occurred_at));
        }
    }
    lengths
}

/// "4 h 30 min", "12 min", "40 s".
pub fn duration_words(secs: i64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, 0) => format!("{secs} s"),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Actor, EntityRef, EventContext};

    fn event(action: &str, at: &str, session: Option<&str>) -> AuditEvent {
        AuditEvent {
            id: uuid::Uuid::from_u128(at.len() as u128 + action.len() as u128),
            org_id: uuid::Uuid::nil(),
            seq: 0,
            occurred_at: at.parse().unwrap(),
            received_at: at.parse().unwrap(),
            actor: Actor {
                kind: ActorKind::User,
                id: "u1".into(),
                name: "Ann".into(),
                email: None,
                avatar: None,
            },
            action: action.into(),
            entity: EntityRef { entity_type: "session".into(), id: "s".into(), name: None, deleted: false },
            changes: None,
            context: EventContext { session_id: session.map(str::to_string), ..Default::default() },
            metadata: serde_json::Value::Null,
            category: None,
            priority: None,
            estimated_country: None,
        }
    }

    #[test]
    fn sign_outs_close_their_own_session() {
        let events = [
            event("session.login", "2026-01-01T09:00:00Z", Some("a")),
            event("session.login", "2026-01-01T10:00:00Z", Some("b")),
            event("session.logout", "2026-01-01T11:00:00Z", Some("a")),
            event("session.logout", "2026-01-01T10:30:00Z", Some("b")),
        ];
        assert_eq!(session_lengths(&events), vec![1800, 7200]);
    }

    #[test]
    fn without_session_ids_the_latest_sign_in_closes_and_lost_sign_outs_are_dropped() {
        let events = [
            event("user.login", "2026-01-01T09:00:00Z", None),
            event("user.logout", "2026-01-01T09:10:00Z", None),
            event("user.logout", "2026-01-01T09:20:00Z", None),
            event("user.login", "2026-01-02T09:00:00Z", None),
            event("user.logout", "2026-01-04T09:00:00Z", None),
        ];
        assert_eq!(session_lengths(&events), vec![600]);
    }

    #[test]
    fn periods_are_whole_days_ending_today() {
        let now: DateTime<Utc> = "2026-03-10T15:00:00Z".parse().unwrap();
        let (from, until) = period(30, now);
        assert_eq!(from.to_string(), "2026-02-09");
        assert_eq!(until.to_string(), "2026-03-11");
        assert_eq!(duration_words(16_200), "4 h 30 min");
        assert_eq!(duration_words(720), "12 min");
        assert_eq!(duration_words(40), "40 s");
    }
}
