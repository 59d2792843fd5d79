//! The timeline's filter: the type, its query-string codec and the search
//! terms it holds. Each value's rules are in `values`, dates in `dates`,
//! what people read in `labels`.

mod dates;
mod labels;
mod values;

use chrono::NaiveDateTime;

use super::{Category, Priority};
use serde::{Deserialize, Serialize};

pub use dates::{format_date_time, parse_date_time};
pub use labels::{action_label, entity_type_label};
pub use values::{check_action, check_country, check_ip, check_time_zone, is_entity_type};
use values::{check_actor, check_entity_type, check_text};

/// What narrows a timeline. Every field lives in the page's query string so a
/// filtered view can be bookmarked, shared and rendered on the server, and
/// every field has a search-box form (see [`super::query`]).
///
/// Within one field the values are alternatives (any may match); across
/// fields every one must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimelineFilter {
    /// Free text: words and `"quoted phrases"`, each a case-insensitive
    /// substring of the action, the actor's name or the entity's name; all
    /// must match. Query key `q`.
    #[serde(default)]
    pub q: String,
    /// Action types (`delete`, `login_failed`, `permission_change`), exact
    /// actions (`invoice.update`) or patterns (`invoice.*`, `*.view`).
    /// Query key `action`, comma-separated.
    #[serde(default)]
    pub actions: Vec<String>,
    /// Actions to leave out, same forms. Query key `not_action`.
    #[serde(default)]
    pub not_actions: Vec<String>,
    /// Record categories, e.g. `invoice`. Query key `entity`.
    #[serde(default)]
    pub entity_types: Vec<String>,
    /// Actors: an actor id exactly, or the start of a name or email.
    /// Query key `actor`.
    #[serde(default)]
    pub actors: Vec<String>,
    /// Categories (`security`, `record`…). Query key `category`.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Priorities (`high`…). Query key `priority`.
    #[serde(default)]
    pub priorities: Vec<Priority>,
    /// One record's id. Query key `record`.
    #[serde(default)]
    pub record: Option<String>,
    /// An address or a CIDR block. Query key `ip`.
    #[serde(default)]
    pub ip: Option<String>,
    /// Query key `session`.
    #[serde(default)]
    pub session: Option<String>,
    /// ISO 3166-1 alpha-2, upper case. Query key `country`.
    #[serde(default)]
    pub country: Option<String>,
    /// A window ending now. Query key `within`.
    #[serde(default)]
    pub within: Option<Within>,
    /// Inclusive start, in `tz`. Query key `after`.
    #[serde(default)]
    pub after: Option<NaiveDateTime>,
    /// Exclusive end, in `tz`. Query key `before`.
    #[serde(default)]
    pub before: Option<NaiveDateTime>,
    /// The IANA zone `after` and `before` are read in; UTC when absent. In the
    /// URL so a link means the same instants to everyone who opens it.
    /// Query key `tz`.
    #[serde(default)]
    pub tz: Option<String>,
}

/// The date-range presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Within {
    Day,
    Week,
    Month,
}

impl Within {
    pub const ALL: [Within; 3] = [Within::Day, Within::Week, Within::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Within::Day => "24h",
            Within::Week => "7d",
            Within::Month => "30d",
        }
    }

    pub fn parse(s: &str) -> Option<Within> {
        Within::ALL.into_iter().find(|w| w.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Within::Day => "Last 24 hours",
            Within::Week => "Last 7 days",
            Within::Month => "Last 30 days",
        }
    }

    pub fn hours(self) -> i64 {
        match self {
            Within::Day => 24,
            Within::Week => 7 * 24,
            Within::Month => 30 * 24,
        }
    }
}

/// An action type: a family of verbs under one name.
pub struct ActionType {
    pub key: &'static str,
    pub label: &'static str,
    pub verbs: &'static [&'static str],
}

/// The action types the menu offers. A verb that is not listed still works
/// as a type of its own (`action:approve` matches every `*.approve`).
pub const ACTION_TYPES: &[ActionType] = &[
    ActionType { key: "create", label: "Create", verbs: &["create"] },
    ActionType { key: "update", label: "Update", verbs: &["update"] },
    ActionType { key: "delete", label: "Delete", verbs: &["delete"] },
    ActionType { key: "login", label: "Login", verbs: &["login"] },
    ActionType { key: "logout", label: "Logout", verbs: &["logout"] },
    ActionType { key: "login_failed", label: "Login failed", verbs: &["login_failed"] },
    ActionType { key: "view", label: "View", verbs: &["view", "read", "download"] },
    ActionType { key: "export", label: "Export", verbs: &["export"] },
    ActionType { key: "import", label: "Import", verbs: &["import"] },
    ActionType { key: "sync", label: "Sync", verbs: &["sync"] },
    ActionType { key: "send", label: "Send", verbs: &["send", "resend"] },
    ActionType { key: "share", label: "Share", verbs: &["share"] },
    ActionType { key: "assign", label: "Assign", verbs: &["assign"] },
    ActionType { key: "revoke", label: "Revoke", verbs: &["revoke"] },
    ActionType { key: "archive", label: "Archive", verbs: &["archive"] },
    ActionType { key: "restore", label: "Restore", verbs: &["restore"] },
    ActionType {
        key: "permission_change",
        label: "Permission change",
        verbs: &["role_change", "permission_change", "grant", "ungrant"],
    },
];

pub fn action_type(key: &str) -> Option<&'static ActionType> {
    ACTION_TYPES.iter().find(|t| t.key == key)
}

/// Longest free text accepted; longer input is cut rather than refused so that
/// a pasted paragraph still searches for its beginning.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Most values one list field keeps.
pub const MAX_VALUES: usize = 20;
const MAX_VALUE_CHARS: usize = 200;

/// A query-string parameter that was not used, and why: shown on the page so
/// a mistyped link still opens, and says what it left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub key: String,
    pub value: String,
    pub reason: String,
}

/// Query keys of a timeline URL that belong to the page around the
/// timeline (an embed's token and look), not to its filter: the page, its
/// export links and the export download all leave them out.
pub const PAGE_KEYS: [&str; 6] = ["token", "theme", "density", "accent", "font", "controls"];

impl TimelineFilter {
    /// Reads a filter from query-string pairs (already percent-decoded).
    /// Unusable values are dropped and reported, never an error.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Self, Vec<Ignored>) {
        let mut f = TimelineFilter::default();
        let mut ignored = Vec::new();
        for (key, value) in pairs {
            if let Err(reason) = f.set(key, value) {
                ignored.push(Ignored { key: key.to_string(), value: value.to_string(), reason });
            }
        }
        (f.normalized(), ignored)
    }

    /// Sets the field a query key names, checking its value.
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let list = |v: &str, check: fn(&str) -> Result<String, String>| -> Result<Vec<String>, String> {
            v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(check).collect()
        };
        match key {
            "q" => self.q = value.to_string(),
            "action" => self.actions.extend(list(value, check_action)?),
            "not_action" => self.not_actions.extend(list(value, check_action)?),
            "entity" => self.entity_types.extend(list(value, check_entity_type)?),
            "actor" => self.actors.extend(list(value, check_actor)?),
            "category" => push_named(&mut self.categories, value, Category::parse, CATEGORY_HELP)?,
            "priority" => push_named(&mut self.priorities, value, Priority::parse, PRIORITY_HELP)?,
            "record" => self.record = Some(check_text(value, "a record id")?),
            "ip" => self.ip = Some(check_ip(value)?),
            "session" => self.session = Some(check_text(value, "a session id")?),
            "country" => self.country = Some(check_country(value)?),
            "within" => self.within = Some(Within::parse(value).ok_or("use 24h, 7d or 30d".to_string())?),
            "after" => self.after = Some(parse_date_time(value)?),
            "before" => self.before = Some(parse_date_time(value)?),
            "tz" => self.tz = Some(check_time_zone(value)?),
            _ => return Err("not a filter this page knows".into()),
        }
        Ok(())
    }

    /// The canonical form: free text trimmed, runs of whitespace made one
    /// space and capped; lists without repeats, capped; invalid values gone.
    /// Server functions apply it to whatever a client sends.
    pub fn normalized(mut self) -> TimelineFilter {
        let words = self.q.split_whitespace().collect::<Vec<_>>().join(" ");
        self.q = words.chars().take(MAX_SEARCH_CHARS).collect();
        if self.q.matches('"').count() % 2 == 1 {
            // The cap cut a phrase open: keep its words, drop the lone quote.
            if let Some(at) = self.q.rfind('"') {
                self.q.remove(at);
            }
        }
        let clean = |values: Vec<String>, check: fn(&str) -> Result<String, String>| {
            let mut out: Vec<String> = Vec::new();
            for v in values.iter().filter_map(|v| check(v).ok()) {
                if !out.contains(&v) && out.len() < MAX_VALUES {
                    out.push(v);
                }
            }
            out
        };
        self.actions = clean(self.actions, check_action);
        self.not_actions = clean(self.not_actions, check_action);
        self.entity_types = clean(self.entity_types, check_entity_type);
        self.actors = clean(self.actors, check_actor);
        dedup_capped(&mut self.categories);
        dedup_capped(&mut self.priorities);
        self.record = self.record.and_then(|v| check_text(&v, "").ok());
        self.ip = self.ip.and_then(|v| check_ip(&v).ok());
        self.session = self.session.and_then(|v| check_text(&v, "").ok());
        self.country = self.country.and_then(|v| check_country(&v).ok());
        // A zone of the wrong shape is kept (bounded) rather than dropped:
        // dropping it would read the dates in UTC without a word, while
        // resolving the window answers it with an error naming `tz`. Only a
        // client calling a server function directly can send one; the URL
        // reader already refused it.
        self.tz = self
            .tz
            .map(|v| check_time_zone(&v).unwrap_or_else(|_| v.trim().chars().take(100).collect()))
            .filter(|z| !z.is_empty() && z != "UTC");
        if self.after.is_none() && self.before.is_none() {
            // A zone only matters for the dates it reads.
            self.tz = None;
        }
        self
    }

    /// The query string for this filter, without the leading `?`; empty when
    /// nothing is filtered. Keys appear in a fixed order so equal filters give
    /// equal URLs.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        let mut put = |key: &str, value: &str| {
            if !value.is_empty() {
                parts.push(format!("{key}={}", encode_component(value)));
            }
        };
        put("q", &self.q);
        put("action", &self.actions.join(","));
        put("not_action", &self.not_actions.join(","));
        put("entity", &self.entity_types.join(","));
        put("actor", &self.actors.join(","));
        put("category", &self.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","));
        put("priority", &self.priorities.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(","));
        put("record", self.record.as_deref().unwrap_or(""));
        put("ip", self.ip.as_deref().unwrap_or(""));
        put("session", self.session.as_deref().unwrap_or(""));
        put("country", self.country.as_deref().unwrap_or(""));
        put("within", self.within.map(Within::as_str).unwrap_or(""));
        put("after", &self.after.map(format_date_time).unwrap_or_default());
        put("before", &self.before.map(format_date_time).unwrap_or_default());
        put("tz", self.tz.as_deref().unwrap_or(""));
        parts.join("&")
    }

    pub fn is_empty(&self) -> bool {
        *self == TimelineFilter::default()
    }

    /// The free text split into what must each match: words, and quoted
    /// phrases with their spaces. An unclosed quote runs to the end.
    pub fn search_terms(&self) -> Vec<String> {
        let mut terms = Vec::new();
        let mut rest = self.q.as_str();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            if let Some(quoted) = rest.strip_prefix('"') {
                let (phrase, after) = quoted.split_once('"').unwrap_or((quoted, ""));
                let phrase = phrase.trim();
                if !phrase.is_empty() {
                    terms.push(phrase.to_string());
                }
                rest = after;
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                terms.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        terms.dedup();
        terms
    }
}

const CATEGORY_HELP: &str = "use record, user, system, security, view or api";
const PRIORITY_HELP: &str = "use low, medium or high";

/// Adds the comma-separated names in `value` to `into`; one unknown name
/// refuses the whole value, as other list keys do.
fn push_named<T: PartialEq>(
    into: &mut Vec<T>,
    value: &str,
    parse: fn(&str) -> Option<T>,
    help: &str,
) -> Result<(), String> {
    let parsed: Option<Vec<T>> =
        value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(parse).collect();
    into.extend(parsed.ok_or_else(|| help.to_string())?);
    Ok(())
}

/// Without repeats, in first-seen order, at most [`MAX_VALUES`].
fn dedup_capped<T: PartialEq + Copy>(values: &mut Vec<T>) {
    let mut out: Vec<T> = Vec::new();
    for v in values.iter() {
        if !out.contains(v) && out.len() < MAX_VALUES {
            out.push(*v);
        }
    }
    *values = out;
}

/// Percent-encodes a filter value for the query string: RFC 3986 unreserved
/// characters, and the `,` `*` `:` that lists and patterns use, stay
/// readable; the result reads back the same through any query-string parser.
fn encode_component(s: &str) -> String {
    crate::model::percent::encode(s, crate::model::percent::FILTER_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strict decoder, independent of the encoder under test.
    pub(crate) fn decode_query(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                let b = v.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' {
                        out.push(
                            u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
                        );
                        i += 3;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                (k.to_string(), String::from_utf8(out).unwrap())
            })
            .collect()
    }

    fn read(query: &str) -> (TimelineFilter, Vec<Ignored>) {
        let pairs = decode_query(query);
        TimelineFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    pub(crate) fn everything() -> TimelineFilter {
        TimelineFilter {
            q: "inv 42 & co=1 #x %_ é \"exact phrase\"".into(),
            actions: vec!["delete".into(), "invoice.*".into(), "user.login_failed".into()],
            not_actions: vec!["*.view".into()],
            entity_types: vec!["invoice".into(), "api_key".into()],
            actors: vec!["usr_01".into(), "alice@example.com".into()],
            categories: vec![Category::Security, Category::User],
            priorities: vec![Priority::High],
            record: Some("inv_0042".into()),
            ip: Some("10.1.0.0/16".into()),
            session: Some("sess_abc".into()),
            country: Some("DE".into()),
            within: Some(Within::Week),
            after: Some(parse_date_time("2026-01-01").unwrap()),
            before: Some(parse_date_time("2026-02-01T09:30").unwrap()),
            tz: Some("Europe/Paris".into()),
        }
    }

    #[test]
    fn query_string_round_trips() {
        for f in [
            TimelineFilter::default(),
            everything(),
            TimelineFilter { entity_types: vec!["api_key".into()], ..Default::default() },
        ] {
            let (back, ignored) = read(&f.to_query());
            assert_eq!(back, f);
            assert!(ignored.is_empty(), "{ignored:?}");
        }
        assert_eq!(TimelineFilter::default().to_query(), "");
        assert_eq!(
            TimelineFilter { actions: vec!["delete".into(), "invoice.*".into()], ..Default::default() }
                .to_query(),
            "action=delete,invoice.*"
        );
    }

    #[test]
    fn malformed_values_are_reported_not_fatal() {
        let (f, ignored) = read(
            "q=%20%20padded%20%0A%09words%20&entity=DROP%20TABLE&after=2026-13-45&ip=10.1.2.300\
             &country=Germany&within=1y&colour=red&action=invoice..x&tz=..%2F",
        );
        assert_eq!(f, TimelineFilter { q: "padded words".into(), ..Default::default() });
        let keys: Vec<&str> = ignored.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["entity", "after", "ip", "country", "within", "colour", "action", "tz"]);
        assert!(ignored[1].reason.contains("2026-13-45"), "{:?}", ignored[1]);
        let long = "x".repeat(MAX_SEARCH_CHARS + 50);
        assert_eq!(TimelineFilter::from_pairs([("q", long.as_str())]).0.q.len(), MAX_SEARCH_CHARS);
    }

    #[test]
    fn lists_lose_repeats_and_stay_bounded() {
        let many: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
        let joined = format!("invoice,invoice,{}", many.join(","));
        let (f, _) = TimelineFilter::from_pairs([("entity", joined.as_str())]);
        assert_eq!(f.entity_types.len(), MAX_VALUES);
        assert_eq!(f.entity_types[..2], ["invoice".to_string(), "t0".to_string()]);
    }

    #[test]
    fn zone_only_kept_with_dates() {
        let (f, _) = TimelineFilter::from_pairs([("tz", "Europe/Paris")]);
        assert_eq!(f.tz, None);
        let (f, _) = TimelineFilter::from_pairs([("tz", "UTC"), ("after", "2026-01-01")]);
        assert_eq!(f.tz, None, "UTC is the default");
    }

    #[test]
    fn free_text_splits_into_words_and_phrases() {
        let f = TimelineFilter {
            q: r#"alice "sent invoice" INV-1 "unclosed phrase"#.into(),
            ..Default::default()
        };
        assert_eq!(f.search_terms(), ["alice", "sent invoice", "INV-1", "unclosed phrase"]);
        assert!(TimelineFilter { q: r#""""#.into(), ..Default::default() }.search_terms().is_empty());
    }
}
