//! The search box's query language, GitHub-style, and its way back:
//!
//! `actor:alice action:invoice.* -action:*.view entity:invoice ip:10.1.2.3
//! after:2026-01-01 before:2026-02-01 within:7d "exact phrase" words`
//!
//! [`parse`] turns what was typed into a [`TimelineFilter`]; [`render`] writes
//! a filter back as text, so the box and the menus always show the same
//! filter. Values may be quoted (`actor:"Ada Lovelace"`) and lists
//! comma-separated (`action:create,delete`).

use super::filter::{
    TimelineFilter, Within, check_action, check_country, check_ip, format_date_time, is_entity_type,
    parse_date_time,
};
use super::{Category, Priority};

/// Why a query cannot be used; shown under the search box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The qualifiers, in the order [`render`] writes them.
pub const KEYS: [&str; 12] = [
    "action", "entity", "actor", "category", "priority", "record", "ip", "session", "country", "within",
    "after", "before",
];

/// Reads the search box. Free words and quoted phrases become the filter's
/// text; every `key:value` sets its field. The zone of `after`/`before` is
/// not part of the text: the caller sets it from the viewer's setting.
pub fn parse(text: &str) -> Result<TimelineFilter, QueryError> {
    let mut f = TimelineFilter::default();
    let mut free: Vec<String> = Vec::new();
    for token in tokens(text)? {
        match token {
            Token::Free(word) => free.push(word),
            Token::Qualifier { negated, key, value } => apply(&mut f, negated, &key, &value)?,
        }
    }
    f.q = free.join(" ");
    let zone = f.tz.take();
    let mut f = f.normalized();
    f.tz = zone;
    Ok(f)
}

/// Writes `f` as search-box text that [`parse`] reads back to `f` (the zone
/// aside).
pub fn render(f: &TimelineFilter) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut put = |key: &str, values: &[String]| {
        if !values.is_empty() {
            let joined: Vec<String> = values.iter().map(|v| quote(v)).collect();
            parts.push(format!("{key}:{}", joined.join(",")));
        }
    };
    put("action", &f.actions);
    put("-action", &f.not_actions);
    put("entity", &f.entity_types);
    put("actor", &f.actors);
    put("category", &f.categories.iter().map(|c| c.as_str().to_string()).collect::<Vec<_>>());
    put("priority", &f.priorities.iter().map(|p| p.as_str().to_string()).collect::<Vec<_>>());
    let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    put("record", &one(&f.record));
    put("ip", &one(&f.ip));
    put("session", &one(&f.session));
    put("country", &one(&f.country));
    put("within", &one(&f.within.map(|w| w.as_str().to_string())));
    put("after", &one(&f.after.map(format_date_time)));
    put("before", &one(&f.before.map(format_date_time)));
    if !f.q.is_empty() {
        parts.push(f.q.clone());
    }
    parts.join(" ")
}

/// Quotes a value that would otherwise split or read as something else.
fn quote(v: &str) -> String {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == ',' || c == '"') {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Free(String),
    Qualifier { negated: bool, key: String, value: Vec<String> },
}

fn tokens(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        if chars[i] == '"' {
            let (phrase, next) = quoted(&chars, i)?;
            if !phrase.trim().is_empty() {
                out.push(Token::Free(format!("\"{}\"", phrase.trim())));
            }
            i = next;
            continue;
        }
        // A bare run up to whitespace; a qualifier's value may be quoted.
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
            if chars[i] == ':' {
                break;
            }
            i += 1;
        }
        let head: String = chars[start..i].iter().collect();
        let (negated, key) = match head.strip_prefix('-') {
            Some(k) => (true, k.to_string()),
            None => (false, head.clone()),
        };
        let is_key = i < chars.len()
            && chars[i] == ':'
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_');
        if !is_key {
            // Plain word (it may still contain a colon later, e.g. 10:30).
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            out.push(Token::Free(chars[start..i].iter().collect()));
            continue;
        }
        let key = key.to_ascii_lowercase();
        if !KEYS.contains(&key.as_str()) {
            // Not a filter (a name such as "Re: renewal"): it is text.
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '"' {
                i += 1;
            }
            out.push(Token::Free(chars[start..i].iter().collect()));
            continue;
        }
        if negated && key != "action" {
            return Err(QueryError(format!("Only action: can be excluded with '-'; '-{key}:' cannot.")));
        }
        i += 1; // the colon
        let mut values = Vec::new();
        let mut current = String::new();
        let mut quoted_any = false;
        while i < chars.len() && !chars[i].is_whitespace() {
            match chars[i] {
                '"' => {
                    let (v, next) = quoted(&chars, i)?;
                    current.push_str(&v);
                    quoted_any = true;
                    i = next;
                }
                ',' => {
                    values.push(std::mem::take(&mut current));
                    i += 1;
                }
                c => {
                    current.push(c);
                    i += 1;
                }
            }
        }
        values.push(current);
        let values: Vec<String> =
            values.into_iter().map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
        if values.is_empty() {
            let hint = if quoted_any { "an empty quote" } else { "nothing" };
            return Err(QueryError(format!("'{key}:' needs a value; it has {hint}.")));
        }
        out.push(Token::Qualifier { negated, key, value: values });
    }
    Ok(out)
}

/// The text inside the quote that starts at `at`, and where reading goes on.
fn quoted(chars: &[char], at: usize) -> Result<(String, usize), QueryError> {
    let rest = &chars[at + 1..];
    match rest.iter().position(|&c| c == '"') {
        Some(end) => Ok((rest[..end].iter().collect(), at + 1 + end + 1)),
        None => Err(QueryError("A quote is not closed: add the closing \".".into())),
    }
}

fn apply(f: &mut TimelineFilter, negated: bool, key: &str, values: &[String]) -> Result<(), QueryError> {
    let bad = |reason: String| QueryError(format!("{key}: {reason}"));
    let single = || -> Result<&String, QueryError> {
        match values {
            [one] => Ok(one),
            _ => Err(QueryError(format!("{key}: takes one value, not a list."))),
        }
    };
    match key {
        "action" => {
            for v in values {
                let term = check_action(v).map_err(|e| bad(format!("'{v}' is {e}")))?;
                if negated { f.not_actions.push(term) } else { f.actions.push(term) }
            }
        }
        "entity" => {
            for v in values {
                let v = v.to_ascii_lowercase();
                if !is_entity_type(&v) {
                    return Err(bad(format!("'{v}' is not an entity type such as invoice or api_key.")));
                }
                f.entity_types.push(v);
            }
        }
        "actor" => f.actors.extend(values.iter().cloned()),
        "category" => {
            for v in values {
                let c = Category::parse(&v.to_ascii_lowercase()).ok_or_else(|| {
                    bad(format!("'{v}' is not a category: record, user, system, security, view or api."))
                })?;
                f.categories.push(c);
            }
        }
        "priority" => {
            for v in values {
                let p = Priority::parse(&v.to_ascii_lowercase())
                    .ok_or_else(|| bad(format!("'{v}' is not a priority: low, medium or high.")))?;
                f.priorities.push(p);
            }
        }
        "record" => f.record = Some(single()?.clone()),
        "session" => f.session = Some(single()?.clone()),
        "ip" => f.ip = Some(check_ip(single()?).map_err(bad)?),
        "country" => {
            let v = single()?;
            f.country = Some(check_country(v).map_err(|e| bad(format!("'{v}' is {e}")))?);
        }
        "within" => {
            let v = single()?;
            f.within = Some(Within::parse(v).ok_or_else(|| bad(format!("'{v}' is not 24h, 7d or 30d.")))?);
        }
        "after" => f.after = Some(parse_date_time(single()?).map_err(bad)?),
        "before" => f.before = Some(parse_date_time(single()?).map_err(bad)?),
        _ => unreachable!("tokens() admits only KEYS"),
    }
    if let (Some(a), Some(b)) = (f.after, f.before)
        && a >= b
    {
        return Err(QueryError("after: must be earlier than before:.".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::filter::MAX_VALUES;

    #[test]
    fn the_issue_example_parses() {
        let f = parse(
            r#"actor:alice action:invoice.* -action:*.view entity:invoice ip:10.1.2.3 after:2026-01-01 before:2026-02-01 "exact phrase""#,
        )
        .unwrap();
        assert_eq!(f.actors, ["alice"]);
        assert_eq!(f.actions, ["invoice.*"]);
        assert_eq!(f.not_actions, ["*.view"]);
        assert_eq!(f.entity_types, ["invoice"]);
        assert_eq!(f.ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(f.after.map(format_date_time).as_deref(), Some("2026-01-01"));
        assert_eq!(f.before.map(format_date_time).as_deref(), Some("2026-02-01"));
        assert_eq!(f.q, "\"exact phrase\"");
        assert_eq!(f.search_terms(), ["exact phrase"]);
    }

    #[test]
    fn category_and_priority_are_qualifiers() {
        let f = parse("category:security,user priority:HIGH failed").unwrap();
        assert_eq!(f.categories, [Category::Security, Category::User]);
        assert_eq!(f.priorities, [Priority::High]);
        assert_eq!(f.q, "failed");
        assert_eq!(render(&f), "category:security,user priority:high failed");
        let err = parse("priority:urgent").unwrap_err();
        assert!(err.0.contains("'urgent' is not a priority"), "{err}");
    }

    #[test]
    fn unknown_keys_are_text() {
        let f = parse("Re: renewal colour:red").unwrap();
        assert_eq!(f.q, "Re: renewal colour:red");
        assert_eq!(f.search_terms(), ["Re:", "renewal", "colour:red"]);
    }

    #[test]
    fn lists_quotes_and_free_words() {
        let f = parse(r#"Invoice action:create,delete actor:"Ada Lovelace",usr_7 10:30 country:de"#).unwrap();
        assert_eq!(f.actions, ["create", "delete"]);
        assert_eq!(f.actors, ["Ada Lovelace", "usr_7"]);
        assert_eq!(f.q, "Invoice 10:30");
        assert_eq!(f.country.as_deref(), Some("DE"));
        assert_eq!(render(&f), r#"action:create,delete actor:"Ada Lovelace",usr_7 country:DE Invoice 10:30"#);
    }

    #[test]
    fn malformed_queries_say_what_is_wrong() {
        for (text, says) in [
            ("after:2026-13-01", "after: '2026-13-01' is not a date"),
            ("ip:10.0.0.999", "ip: '10.0.0.999' is not an IP address"),
            ("action:", "'action:' needs a value"),
            ("\"open phrase", "A quote is not closed"),
            ("-entity:invoice", "Only action: can be excluded"),
            ("within:1y", "within: '1y' is not 24h, 7d or 30d"),
            ("record:a,b", "record: takes one value"),
            ("action:in..voice", "action: 'in..voice' is not an action"),
            ("after:2026-02-01 before:2026-01-01", "earlier than before"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.0.contains(says), "{text}: {err}");
        }
    }

    /// A small deterministic generator: no test dependency, and a failure
    /// reproduces exactly.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, pool: &[&'a str]) -> &'a str {
            pool[(self.next() % pool.len() as u64) as usize]
        }
        fn some(&mut self, pool: &[&str], max: usize) -> Vec<String> {
            let n = (self.next() % (max as u64 + 1)) as usize;
            let mut v: Vec<String> = (0..n).map(|_| self.pick(pool).to_string()).collect();
            v.dedup();
            v
        }
        fn maybe(&mut self, pool: &[&str]) -> Option<String> {
            self.next().is_multiple_of(2).then(|| self.pick(pool).to_string())
        }
    }

    fn random_filter(g: &mut Gen) -> TimelineFilter {
        let words = ["alice", "\"sent invoice\"", "INV-0042", "é", "10:30", "-x", "50%", "a_b", "\"x:y\""];
        let n = (g.next() % 4) as usize;
        let q = (0..n).map(|_| g.pick(&words)).collect::<Vec<_>>().join(" ");
        TimelineFilter {
            q,
            actions: g.some(&["delete", "invoice.*", "*.view", "user.login_failed", "permission_change"], 3),
            not_actions: g.some(&["*.view", "session.*"], 2),
            entity_types: g.some(&["invoice", "api_key", "ticket"], 3),
            actors: g.some(&["usr_01", "Ada Lovelace", "alice@example.com", "billing-sync"], 3),
            categories: g
                .some(&["security", "user", "record"], 2)
                .iter()
                .filter_map(|c| Category::parse(c))
                .collect(),
            priorities: g.some(&["high", "medium"], 2).iter().filter_map(|p| Priority::parse(p)).collect(),
            record: g.maybe(&["inv_0042", "key with spaces", "a,b"]),
            ip: g.maybe(&["10.1.2.3", "10.0.0.0/8", "2001:db8::1"]),
            session: g.maybe(&["sess_abc"]),
            country: g.maybe(&["DE", "US"]),
            within: g.next().is_multiple_of(2).then(|| Within::ALL[(g.next() % 3) as usize]),
            after: g.maybe(&["2026-01-01", "2026-01-01T09:30"]).map(|d| parse_date_time(&d).unwrap()),
            before: g.maybe(&["2026-03-01T00:00:10"]).map(|d| parse_date_time(&d).unwrap()),
            tz: None,
        }
        .normalized()
    }

    #[test]
    fn render_then_parse_is_the_identity() {
        let mut g = Gen(0x9E37_79B9_7F4A_7C15);
        for _ in 0..5_000 {
            let f = random_filter(&mut g);
            let text = render(&f);
            assert_eq!(parse(&text).as_ref(), Ok(&f), "{text}");
        }
    }

    #[test]
    fn any_text_parses_or_explains_and_never_panics() {
        let alphabet: Vec<char> = "ab :,\"-*.é10/_xactionentityafter".chars().collect();
        let mut g = Gen(42);
        for _ in 0..20_000 {
            let len = (g.next() % 24) as usize;
            let text: String =
                (0..len).map(|_| alphabet[(g.next() % alphabet.len() as u64) as usize]).collect();
            if let Ok(f) = parse(&text) {
                // What was accepted reads the same once written back.
                assert_eq!(parse(&render(&f)).as_ref(), Ok(&f), "{text:?}");
                assert!(f.actions.len() <= MAX_VALUES);
            }
        }
    }
}
