use serde::{Deserialize, Serialize};

/// What narrows a timeline. Every field lives in the page's query string so a
/// filtered view can be bookmarked, shared and rendered on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimelineFilter {
    /// Case-insensitive substring matched against the action, the actor's
    /// name and the entity's name. Query key `q`.
    #[serde(default)]
    pub q: String,
    /// One record category, e.g. `invoice`. Query key `entity`.
    #[serde(default)]
    pub entity_type: Option<String>,
}

/// Longest search accepted; longer input is cut rather than refused so that a
/// pasted paragraph still searches for its beginning.
pub const MAX_SEARCH_CHARS: usize = 200;

impl TimelineFilter {
    /// Reads a filter from query-string lookups (already percent-decoded).
    /// Unusable values are dropped, never an error: a shared link with a typo
    /// still opens the timeline.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> TimelineFilter {
        TimelineFilter {
            q: get("q").unwrap_or_default(),
            entity_type: get("entity").filter(|t| is_entity_type(t)),
        }
        .normalized()
    }

    /// The canonical form: search trimmed, runs of whitespace (newlines
    /// included: they separate the searched fields) made one space, capped.
    pub fn normalized(mut self) -> TimelineFilter {
        let words = self.q.split_whitespace().collect::<Vec<_>>().join(" ");
        self.q = words.chars().take(MAX_SEARCH_CHARS).collect();
        self.entity_type = self.entity_type.filter(|t| is_entity_type(t));
        self
    }

    /// The query string for this filter, without the leading `?`; empty when
    /// nothing is filtered. Keys appear in a fixed order so equal filters give
    /// equal URLs.
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode_component(&self.q)));
        }
        if let Some(t) = &self.entity_type {
            parts.push(format!("entity={}", encode_component(t)));
        }
        parts.join("&")
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty() && self.entity_type.is_none()
    }
}

/// Entity categories are snake_case words: `invoice`, `api_key`.
pub fn is_entity_type(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `api_key` -> `API key`, `share_grant` -> `Share grant`.
pub fn entity_type_label(entity_type: &str) -> String {
    let words: Vec<String> = entity_type
        .split('_')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| match w {
            "api" | "ip" | "mfa" | "sso" | "crm" => w.to_ascii_uppercase(),
            _ if i == 0 => {
                let mut c = w.chars();
                c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
            }
            _ => w.to_string(),
        })
        .collect();
    words.join(" ")
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so the
/// result reads back the same through any query-string parser.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn decode(query: &str) -> HashMap<String, String> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                let bytes: Vec<u8> = {
                    let mut out = Vec::new();
                    let b = v.as_bytes();
                    let mut i = 0;
                    while i < b.len() {
                        if b[i] == b'%' {
                            out.push(
                                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16)
                                    .unwrap(),
                            );
                            i += 3;
                        } else {
                            out.push(b[i]);
                            i += 1;
                        }
                    }
                    out
                };
                (k.to_string(), String::from_utf8(bytes).unwrap())
            })
            .collect()
    }

    #[test]
    fn query_string_round_trips() {
        for f in [
            TimelineFilter::default(),
            TimelineFilter { q: "inv 42 & co=1 #x %_ é".into(), entity_type: Some("invoice".into()) },
            TimelineFilter { q: String::new(), entity_type: Some("api_key".into()) },
        ] {
            let map = decode(&f.to_query());
            assert_eq!(TimelineFilter::from_query(|k| map.get(k).cloned()), f);
        }
        assert_eq!(TimelineFilter::default().to_query(), "");
    }

    #[test]
    fn malformed_values_are_dropped_not_fatal() {
        let map: HashMap<&str, &str> = [("q", "  padded \n\t words "), ("entity", "DROP TABLE")].into();
        let f = TimelineFilter::from_query(|k| map.get(k).map(|v| v.to_string()));
        assert_eq!(f, TimelineFilter { q: "padded words".into(), entity_type: None });
        let long = "x".repeat(MAX_SEARCH_CHARS + 50);
        assert_eq!(TimelineFilter::from_query(|_| Some(long.clone())).q.len(), MAX_SEARCH_CHARS);
    }

    #[test]
    fn labels_read_as_words() {
        assert_eq!(entity_type_label("api_key"), "API key");
        assert_eq!(entity_type_label("share_grant"), "Share grant");
        assert_eq!(entity_type_label("invoice"), "Invoice");
    }
}
