//! Whether what an event records went through: read from what the event
//! says (a `result` or `outcome` in its metadata, and for System and
//! Integration actors a `status` too: a job's status is its outcome, a
//! record's is usually a business field) or, failing that, from its verb
//! (`login_failed`, `lockout`). Events that say nothing have no outcome:
//! the log does not guess.

use serde::{Deserialize, Serialize};

use super::{ActorKind, action_verb};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// Went through in part, or needs a look.
    Warning,
    Failure,
    /// Stopped on purpose: a lockout, a denied request.
    Blocked,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Warning => "Warning",
            Self::Failure => "Failed",
            Self::Blocked => "Blocked",
        }
    }

    /// A glyph beside the word, never instead of it.
    pub fn glyph(self) -> &'static str {
        match self {
            Self::Success => "✓",
            Self::Warning => "⚠",
            Self::Failure => "✗",
            Self::Blocked => "⛔",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Warning => "warning",
            Self::Failure => "failure",
            Self::Blocked => "blocked",
        }
    }

    fn from_word(word: &str) -> Option<Outcome> {
        let w = word.trim().to_ascii_lowercase();
        Some(match w.as_str() {
            "success" | "succeeded" | "successful" | "ok" | "passed" | "completed" | "complete" | "done" => {
                Self::Success
            }
            "warning" | "warn" | "partial" | "degraded" | "skipped" => Self::Warning,
            "failure" | "failed" | "fail" | "error" | "errored" | "timeout" | "timed_out" | "aborted" => {
                Self::Failure
            }
            "blocked" | "denied" | "rejected" | "forbidden" | "locked" => Self::Blocked,
            _ => return None,
        })
    }
}

/// What the event says about its own outcome, if anything.
pub fn outcome_of(action: &str, actor: ActorKind, metadata: &serde_json::Value) -> Option<Outcome> {
    let keys: &[&str] = match actor {
        ActorKind::System | ActorKind::Integration => &["result", "outcome", "status"],
        _ => &["result", "outcome"],
    };
    let said = keys.iter().find_map(|k| metadata.get(k)?.as_str().and_then(Outcome::from_word));
    if said.is_some() {
        return said;
    }
    let verb = action_verb(action);
    match verb {
        "lockout" | "locked" | "lock" | "blocked" | "denied" | "access_denied" => Some(Outcome::Blocked),
        "login_failed" | "failed_login" | "sign_in_failed" | "fail" | "failed" | "error" => {
            Some(Outcome::Failure)
        }
        _ if verb.ends_with("_failed") || verb.ends_with("_error") => Some(Outcome::Failure),
        "login" | "sign_in" | "succeeded" | "completed" => Some(Outcome::Success),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USER: ActorKind = ActorKind::User;
    const SYSTEM: ActorKind = ActorKind::System;

    #[test]
    fn the_event_says_first_then_its_verb() {
        assert_eq!(outcome_of("backup.run", SYSTEM, &json!({"status": "Success"})), Some(Outcome::Success));
        assert_eq!(
            outcome_of("reconcile.run", SYSTEM, &json!({"result": "partial"})),
            Some(Outcome::Warning)
        );
        assert_eq!(
            outcome_of("sync.run", ActorKind::Integration, &json!({"outcome": "error"})),
            Some(Outcome::Failure)
        );
        assert_eq!(outcome_of("user.login", USER, &json!({"result": "denied"})), Some(Outcome::Blocked));
        assert_eq!(outcome_of("user.login_failed", USER, &json!({})), Some(Outcome::Failure));
        assert_eq!(outcome_of("account.lockout", USER, &serde_json::Value::Null), Some(Outcome::Blocked));
        assert_eq!(outcome_of("email.send_failed", SYSTEM, &json!({})), Some(Outcome::Failure));
        assert_eq!(outcome_of("session.login", USER, &json!({})), Some(Outcome::Success));
    }

    #[test]
    fn silence_nonsense_and_business_fields_are_no_outcome() {
        assert_eq!(outcome_of("invoice.update", USER, &json!({})), None);
        // A record's status is its own business, not the event's outcome.
        assert_eq!(outcome_of("order.update", USER, &json!({"status": "completed"})), None);
        assert_eq!(outcome_of("invoice.update", SYSTEM, &json!({"status": "paid"})), None);
        assert_eq!(outcome_of("invoice.update", SYSTEM, &json!({"status": 5, "result": ["x"]})), None);
    }
}
