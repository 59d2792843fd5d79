//! The limits of one event, and the byte budgets of what is read back: one
//! set of numbers for the API's validator, the store's last check before
//! writing, the read paths and the documentation.
//!
//! The log is append-only: an event that some page, export or live-tail
//! message cannot carry would break every view of its time range for ever.
//! So every write path refuses what these limits exclude, and every read
//! path holds at most a fixed number of bytes whatever the events' sizes.

use serde_json::Value;

use super::NewAuditEvent;

/// Deepest nesting of `changes` and of `metadata`, counted on the JSON the
/// store keeps, the document's own object being level 1. Real payloads stay
/// under ten; 32 leaves room for generous structures while the page that
/// carries an event (which nests it some ten levels deeper still) stays far
/// below the 128 levels the browser's JSON decoder accepts.
pub const MAX_DEPTH: usize = 32;

/// Longest string value, in bytes (UTF-8): a long comment, a description,
/// a stack trace fits; past it the value is a document or a blob, which
/// belongs in the sender's own storage, not in an audit line.
pub const MAX_STRING_BYTES: usize = 8 * 1024;

/// Longest object key, in bytes: keys name fields.
pub const MAX_KEY_BYTES: usize = 256;

/// Most keys in one object: a snapshot of a wide record fits.
pub const MAX_KEYS: usize = 500;

/// Most items in one array.
pub const MAX_ITEMS: usize = 1000;

/// Largest event, in bytes of its JSON form. A timeline page of 50 events of
/// this size is about 3 MiB, which the page budget then cuts short; typical
/// events are under 2 KiB.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Most event bytes one timeline page holds (the sum of its rows' sizes, as
/// [`MAX_EVENT_BYTES`] counts them). A page stops early past it, still with
/// at least one event and a cursor, so paging goes on.
pub const PAGE_BUDGET_BYTES: usize = 1024 * 1024;

/// The same for one live-tail answer (`events_since`).
pub const SINCE_BUDGET_BYTES: usize = 1024 * 1024;

/// The same for one export batch: an export holds one batch at a time.
pub const EXPORT_BATCH_BUDGET_BYTES: usize = 8 * 1024 * 1024;

/// Longest text of each event field, in characters: generous for real
/// data, small enough that one field cannot dominate a row or a timeline
/// line. What the API's validator enforces, what the OpenAPI document states (a test holds the
/// two together) and what the table's CHECK constraints allow.
pub const MAX_ID_CHARS: usize = 200;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_ENTITY_NAME_CHARS: usize = 500;
pub const MAX_ACTION_CHARS: usize = 100;
pub const MAX_TYPE_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 320;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_USER_AGENT_CHARS: usize = 1000;

/// One value over a limit: where (relative to the checked document, e.g.
/// `.a.b[3]`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub path: String,
    pub problem: String,
}

impl std::fmt::Display for LimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// What is wrong with a string value, if anything.
pub fn string_problem(s: &str) -> Option<String> {
    (s.len() > MAX_STRING_BYTES).then(|| format!("string longer than {MAX_STRING_BYTES} bytes"))
}

/// What is wrong with a number, if anything: one that would not read back.
///
/// jsonb keeps a number as an exact decimal and prints it without an
/// exponent, so `1.7976931348623157e308` comes back as 309 digits, which
/// the JSON reader rounds past the largest double and refuses (the store
/// then has to read it as some other number, see `server::store::
/// stored_json`). A number is accepted only if the text the database will
/// return reads back as the same number.
pub fn number_problem(n: &serde_json::Number) -> Option<String> {
    let x = n.as_f64().filter(|_| n.is_f64())?;
    let reads_back =
        serde_json::from_str::<f64>(&without_exponent(&n.to_string())).is_ok_and(|back| back == x);
    (!reads_back)
        .then(|| "a number too large to store and read back exactly; send it as a string".to_string())
}

/// `text` (a JSON number) written out in full, as PostgreSQL prints a
/// numeric: `1.5e3` -> `1500`, `1e-3` -> `0.001`.
fn without_exponent(text: &str) -> String {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => return text.to_string(),
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exponent;
    let plain = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{plain}")
}

/// What is wrong with an object key, if anything.
pub fn key_problem(k: &str) -> Option<String> {
    (k.len() > MAX_KEY_BYTES).then(|| format!("key longer than {MAX_KEY_BYTES} bytes"))
}

/// What is wrong with a container's size or depth, if anything; `depth` is
/// its level (the document itself being 1).
pub fn container_problem(value: &Value, depth: usize) -> Option<String> {
    match value {
        Value::Object(map) if depth > MAX_DEPTH || map.len() > MAX_KEYS => Some(if depth > MAX_DEPTH {
            format!("nested deeper than {MAX_DEPTH} levels")
        } else {
            format!("more than {MAX_KEYS} keys")
        }),
        Value::Array(items) if depth > MAX_DEPTH || items.len() > MAX_ITEMS => Some(if depth > MAX_DEPTH {
            format!("nested deeper than {MAX_DEPTH} levels")
        } else {
            format!("more than {MAX_ITEMS} items")
        }),
        _ => None,
    }
}

/// The first value of `doc` over a limit, found depth first.
pub fn check_document(doc: &Value) -> Result<(), LimitError> {
    walk(doc, 1).map_err(|(mut parts, problem)| {
        parts.reverse();
        LimitError { path: parts.concat(), problem }
    })
}

/// Path parts come back innermost first, so a path is only built on error.
fn walk(value: &Value, depth: usize) -> Result<(), (Vec<String>, String)> {
    if let Some(problem) = container_problem(value, depth) {
        return Err((Vec::new(), problem));
    }
    match value {
        Value::String(s) => string_problem(s).map_or(Ok(()), |p| Err((Vec::new(), p))),
        Value::Number(n) => number_problem(n).map_or(Ok(()), |p| Err((Vec::new(), p))),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            walk(item, depth + 1).map_err(|(mut parts, p)| {
                parts.push(format!("[{i}]"));
                (parts, p)
            })
        }),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            let part = || {
                let plain = !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if plain {
                    format!(".{k}")
                } else {
                    format!("[{}]", serde_json::to_string(k).unwrap_or_default())
                }
            };
            if let Some(problem) = key_problem(k) {
                return Err((vec![part()], problem));
            }
            walk(v, depth + 1).map_err(|(mut parts, p)| {
                parts.push(part());
                (parts, p)
            })
        }),
        _ => Ok(()),
    }
}

/// The size [`MAX_EVENT_BYTES`] limits: the event's compact JSON.
pub fn event_bytes(e: &NewAuditEvent) -> usize {
    serde_json::to_vec(e).map(|v| v.len()).unwrap_or(usize::MAX)
}

/// Problem text for an event over [`MAX_EVENT_BYTES`].
pub fn event_size_problem(bytes: usize) -> String {
    format!("the event is {bytes} bytes of JSON, more than the limit of {MAX_EVENT_BYTES}")
}

/// Every limit on one event, as the store checks it before writing: its
/// changes and metadata documents, then its whole size. The API's validator
/// applies the same limits with full paths and every problem listed; this
/// is the last guard for every other way in (server functions, COPY, seed).
pub fn check_event(e: &NewAuditEvent) -> Result<(), LimitError> {
    if let Some(changes) = &e.changes {
        let doc = serde_json::to_value(changes)
            .map_err(|err| LimitError { path: "changes".into(), problem: err.to_string() })?;
        check_document(&doc).map_err(|err| LimitError { path: format!("changes{}", err.path), ..err })?;
    }
    check_document(&e.metadata).map_err(|err| LimitError { path: format!("metadata{}", err.path), ..err })?;
    let bytes = event_bytes(e);
    if bytes > MAX_EVENT_BYTES {
        return Err(LimitError { path: "event".into(), problem: event_size_problem(bytes) });
    }
    Ok(())
}

/// A value nested `levels` deep (the outermost object being level 1), for
/// tests and examples of the deepest allowed document.
pub fn nested(levels: usize, leaf: Value) -> Value {
    (1..levels).fold(leaf, |inner, _| serde_json::json!({ "a": inner }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_must_read_back_from_the_database_as_sent() {
        let n = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
        for fine in ["0", "-12", "18446744073709551615", "0.1", "1e308", "-2.5e-7", "5e-324", "1e-320"] {
            assert_eq!(number_problem(&n(fine)), None, "{fine}");
        }
        // The largest double: PostgreSQL prints its 309 digits, which read
        // back past the largest double.
        assert!(number_problem(&n("1.7976931348623157e308")).is_some());
        let err =
            check_document(&serde_json::json!({"a": {"big": n("1.7976931348623157e308")}})).unwrap_err();
        assert_eq!(err.path, ".a.big");
        assert_eq!(without_exponent("1.5e3"), "1500");
        assert_eq!(without_exponent("-1e-3"), "-0.001");
        assert_eq!(without_exponent("1.25e1"), "12.5");
    }

    #[test]
    fn documents_at_the_limits_pass_and_past_them_name_the_path() {
        // `nested(n, {})`: n objects, the leaf included.
        assert_eq!(check_document(&nested(MAX_DEPTH, json!({}))), Ok(()));
        let err = check_document(&nested(MAX_DEPTH + 1, json!({}))).unwrap_err();
        assert_eq!(err.path, ".a".repeat(MAX_DEPTH));
        assert_eq!(err.problem, "nested deeper than 32 levels");
        assert_eq!(check_document(&nested(MAX_DEPTH, json!([]))), Ok(()));
        assert!(check_document(&nested(MAX_DEPTH, json!([[]]))).is_err());

        let s = "é".repeat(MAX_STRING_BYTES / 2);
        assert_eq!(check_document(&json!({"s": s})), Ok(()));
        let err = check_document(&json!({"list": [1, format!("{s}x")]})).unwrap_err();
        assert_eq!(err.to_string(), ".list[1]: string longer than 8192 bytes");

        let wide: serde_json::Map<String, Value> =
            (0..=MAX_KEYS).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(
            check_document(&json!({"x y": wide})).unwrap_err().to_string(),
            "[\"x y\"]: more than 500 keys"
        );
        assert!(check_document(&json!(vec![0; MAX_ITEMS + 1])).unwrap_err().problem.contains("1000 items"));
        let key = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(check_document(&json!({ key: 1 })).unwrap_err().problem.contains("key longer"));
    }
}
