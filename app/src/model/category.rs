//! What kind of thing an event records, and how much it matters: every
//! event falls into one [`Category`] and gets one [`Priority`], worked out
//! from its action, actor and metadata when it is written, and stored, so
//! that every later filter and count is an index walk.
//!
//! The rules are deliberately few and written down (docs/categories.md), so
//! a sender can predict where an event lands by naming its action well.

use serde::{Deserialize, Serialize};

use super::{ActorKind, action_verb};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Records created, changed, deleted, sent, approved…
    Record,
    /// What people do to their own access: sign-in and out, passwords,
    /// two-factor, profile, permission requests.
    User,
    /// The work of System and Integration actors: scheduled jobs, syncs.
    System,
    /// Who may do what, and attempts to get past it: failed sign-ins,
    /// lockouts, role and permission changes, API keys, share grants,
    /// exports.
    Security,
    /// Records looked at.
    View,
    /// API requests, where the sender logs them.
    Api,
}

impl Category {
    pub const ALL: [Category; 6] =
        [Self::Record, Self::User, Self::System, Self::Security, Self::View, Self::Api];
    /// The four the dashboard charts; views and API requests, when logged,
    /// are counted beside them.
    pub const MAIN: [Category; 4] = [Self::Record, Self::User, Self::System, Self::Security];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Record => "record",
            Self::User => "user",
            Self::System => "system",
            Self::Security => "security",
            Self::View => "view",
            Self::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Record => "Record changes",
            Self::User => "User actions",
            Self::System => "System events",
            Self::Security => "Security events",
            Self::View => "Views",
            Self::Api => "API requests",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Self::Low, Self::Medium, Self::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The class of a risk cell: `risk risk-high`.
    pub fn css_class(self) -> &'static str {
        match self {
            Self::Low => "risk risk-low",
            Self::Medium => "risk risk-medium",
            Self::High => "risk risk-high",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
        }
    }
}

/// Exports of at least this many records are high priority.
pub const LARGE_EXPORT_ROWS: u64 = 1_000;

/// Verbs that say someone failed to get in or was stopped.
const DENIED_VERBS: &[&str] = &[
    "login_failed",
    "failed_login",
    "sign_in_failed",
    "lockout",
    "locked",
    "lock",
    "blocked",
    "denied",
    "access_denied",
];
/// Verbs that change who may do what.
const GRANT_VERBS: &[&str] =
    &["role_change", "role_changed", "grant", "permission_change", "escalate", "impersonate", "share"];
/// Kinds of record that are themselves access: changing one is a security
/// event whatever the verb.
const ACCESS_TYPES: &[&str] = &[
    "api_key",
    "role",
    "permission",
    "share_grant",
    "viewer_token",
    "membership",
    "signing_key",
    "sso",
    "saml",
    "access_policy",
];
/// Kinds of record that are a person's own access.
const PERSONAL_TYPES: &[&str] = &["session", "password", "two_factor", "mfa", "profile", "user_session"];
/// Verbs of a person's own access, whatever the record.
const PERSONAL_VERBS: &[&str] = &[
    "login",
    "logout",
    "sign_in",
    "sign_out",
    "password_change",
    "password_changed",
    "password_reset",
    "mfa_enable",
    "mfa_enabled",
    "two_factor_enable",
    "two_factor_enabled",
    "permission_request",
    "access_request",
];
const VIEW_VERBS: &[&str] = &["view", "viewed", "read", "open", "opened", "download", "downloaded"];
/// Verbs that weaken an account's protection.
const WEAKENING_VERBS: &[&str] =
    &["mfa_disable", "mfa_disabled", "two_factor_disable", "two_factor_disabled"];

/// The category of an event with this action, written by this kind of actor.
/// The first rule that matches wins:
/// 1. security: a denied or failed attempt, a change of who may do what, a
///    change to an access record (API keys, roles, share grants…), an export,
///    or weakened two-factor;
/// 2. user: a person's own sign-in, sign-out, password, two-factor, profile,
///    permission request;
/// 3. view: a record looked at or downloaded;
/// 4. api: an `api.*` or `api_request.*` action;
/// 5. system: anything else by a System or Integration actor;
/// 6. record: everything else.
pub fn category_of(action: &str, actor_kind: ActorKind) -> Category {
    let verb = action_verb(action);
    let noun = action.split('.').next().unwrap_or(action);
    if DENIED_VERBS.contains(&verb)
        || GRANT_VERBS.contains(&verb)
        || WEAKENING_VERBS.contains(&verb)
        || ACCESS_TYPES.contains(&noun)
        || verb == "export"
    {
        Category::Security
    } else if PERSONAL_TYPES.contains(&noun)
        || PERSONAL_VERBS.contains(&verb)
        || noun == "user" && verb != "create"
    {
        Category::User
    } else if VIEW_VERBS.contains(&verb) {
        Category::View
    } else if noun == "api" || noun == "api_request" {
        Category::Api
    } else if matches!(actor_kind, ActorKind::System | ActorKind::Integration) {
        Category::System
    } else {
        Category::Record
    }
}

/// The default priority of an event. High: a lockout or block, a change of
/// roles or permissions, a new API key marked for production, an export of
/// [`LARGE_EXPORT_ROWS`] or more, weakened two-factor. Medium: every other
/// security event, and deletions. Low: the rest. An org's owner can set
/// other priorities per action pattern.
///
/// `metadata` is read for two facts only: the number of records exported
/// (`rows`, `records` or `record_count`) and an API key's `environment`.
pub fn default_priority(action: &str, category: Category, metadata: &serde_json::Value) -> Priority {
    let verb = action_verb(action);
    let noun = action.split('.').next().unwrap_or(action);
    let high = matches!(verb, "lockout" | "locked" | "lock" | "blocked")
        || matches!(verb, "role_change" | "role_changed" | "permission_change" | "escalate" | "impersonate")
        || (matches!(noun, "role" | "permission" | "signing_key") && verb != "view")
        || WEAKENING_VERBS.contains(&verb)
        || (verb == "export" && exported_rows(metadata).is_some_and(|n| n >= LARGE_EXPORT_ROWS))
        || (noun == "api_key" && verb == "create" && is_production(metadata));
    if high {
        Priority::High
    } else if category == Category::Security || verb == "delete" {
        Priority::Medium
    } else {
        Priority::Low
    }
}

fn exported_rows(metadata: &serde_json::Value) -> Option<u64> {
    ["rows", "records", "record_count"].iter().find_map(|key| match metadata.get(key)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn is_production(metadata: &serde_json::Value) -> bool {
    ["environment", "env"].iter().any(|key| {
        metadata.get(key).and_then(|v| v.as_str()).is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("production")
                || v.eq_ignore_ascii_case("prod")
                || v.eq_ignore_ascii_case("live")
        })
    })
}

/// An owner's priority for actions matching `pattern`: an exact action
/// (`invoice.delete`), every action of a record type (`invoice.*`) or every
/// action with a verb (`*.export`). The most specific matching rule wins
/// (exact, then type, then verb).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityRule {
    pub pattern: String,
    pub priority: Priority,
}

impl PriorityRule {
    /// How specific the pattern is when it matches `action`: `None` when it
    /// does not, higher for a closer match.
    pub fn matches(&self, action: &str) -> Option<u8> {
        if self.pattern == action {
            Some(3)
        } else if let Some(noun) = self.pattern.strip_suffix(".*") {
            action.strip_prefix(noun).is_some_and(|rest| rest.starts_with('.')).then_some(2)
        } else if let Some(verb) = self.pattern.strip_prefix("*.") {
            (action_verb(action) == verb && action.contains('.')).then_some(1)
        } else {
            None
        }
    }

    /// Whether `pattern` is one of the three shapes [`matches`](Self::matches) knows.
    pub fn is_valid_pattern(pattern: &str) -> bool {
        let word = super::names::is_snake_word;
        if let Some(noun) = pattern.strip_suffix(".*") {
            word(noun)
        } else if let Some(verb) = pattern.strip_prefix("*.") {
            word(verb)
        } else {
            super::names::is_action(pattern)
        }
    }
}

/// The priority of an event given the org's rules: the most specific rule
/// that matches, else [`default_priority`].
pub fn priority_of(
    action: &str,
    category: Category,
    metadata: &serde_json::Value,
    rules: &[PriorityRule],
) -> Priority {
    rules
        .iter()
        .filter_map(|r| r.matches(action).map(|specificity| (specificity, r.priority)))
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(_, p)| p)
        .unwrap_or_else(|| default_priority(action, category, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cat(action: &str) -> Category {
        category_of(action, ActorKind::User)
    }

    #[test]
    fn the_seed_examples_land_where_the_product_document_puts_them() {
        assert_eq!(cat("invoice.update"), Category::Record);
        assert_eq!(cat("invoice.delete"), Category::Record);
        assert_eq!(cat("session.login"), Category::User);
        assert_eq!(cat("user.logout"), Category::User);
        assert_eq!(cat("user.password_changed"), Category::User);
        assert_eq!(cat("user.login_failed"), Category::Security);
        assert_eq!(cat("session.login_failed"), Category::Security);
        assert_eq!(cat("member.role_change"), Category::Security);
        assert_eq!(cat("api_key.create"), Category::Security);
        assert_eq!(cat("share_grant.share"), Category::Security);
        assert_eq!(cat("client.export"), Category::Security);
        assert_eq!(cat("audit_log.export"), Category::Security);
        assert_eq!(cat("customer.view"), Category::View);
        assert_eq!(cat("api.request"), Category::Api);
        assert_eq!(category_of("payment.sync", ActorKind::System), Category::System);
        assert_eq!(category_of("file.create", ActorKind::Integration), Category::System);
        assert_eq!(category_of("lead.create", ActorKind::ApiKey), Category::Record);
        // A job's export is still an export.
        assert_eq!(category_of("settings.export", ActorKind::System), Category::Security);
        // Adding a person is a record of the org's, not the person's own act.
        assert_eq!(cat("user.create"), Category::Record);
    }

    #[test]
    fn priorities_follow_the_documented_defaults() {
        let none = json!({});
        let p = |action: &str, meta: &serde_json::Value| default_priority(action, cat(action), meta);
        assert_eq!(p("invoice.update", &none), Priority::Low);
        assert_eq!(p("invoice.delete", &none), Priority::Medium);
        assert_eq!(p("session.login_failed", &none), Priority::Medium);
        assert_eq!(p("user.locked", &none), Priority::High);
        assert_eq!(p("member.role_change", &none), Priority::High);
        assert_eq!(p("role.update", &none), Priority::High);
        assert_eq!(p("api_key.create", &none), Priority::Medium);
        assert_eq!(p("api_key.create", &json!({"environment": "production"})), Priority::High);
        assert_eq!(p("client.export", &json!({"rows": 999})), Priority::Medium);
        assert_eq!(p("client.export", &json!({"rows": 1000})), Priority::High);
        assert_eq!(p("client.export", &json!({"record_count": "5000"})), Priority::High);
        assert_eq!(p("client.export", &json!({"rows": -3})), Priority::Medium);
        assert_eq!(p("user.mfa_disabled", &none), Priority::High);
    }

    #[test]
    fn the_most_specific_owner_rule_wins() {
        let rules = vec![
            PriorityRule { pattern: "*.delete".into(), priority: Priority::High },
            PriorityRule { pattern: "invoice.*".into(), priority: Priority::Low },
            PriorityRule { pattern: "invoice.send".into(), priority: Priority::Medium },
        ];
        let none = json!({});
        let p = |action: &str| priority_of(action, cat(action), &none, &rules);
        assert_eq!(p("invoice.send"), Priority::Medium);
        assert_eq!(p("invoice.delete"), Priority::Low);
        assert_eq!(p("client.delete"), Priority::High);
        assert_eq!(p("client.update"), Priority::Low);
        // `invoice.*` does not match `invoice_line.update`.
        assert_eq!(p("invoice_line.update"), Priority::Low);
        assert!(PriorityRule::is_valid_pattern("invoice.*"));
        assert!(PriorityRule::is_valid_pattern("*.export"));
        assert!(PriorityRule::is_valid_pattern("invoice.send"));
        assert!(!PriorityRule::is_valid_pattern("*"));
        assert!(!PriorityRule::is_valid_pattern("in voice.*"));
        assert!(!PriorityRule::is_valid_pattern("*.*"));
    }

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
        }
    }
}
