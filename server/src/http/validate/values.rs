//! The value-level rules of the validator: free-form documents within the
//! event limits and storable by jsonb, objects, texts and unknown fields,
//! each problem reported by its path.

use app::model::limits;
use serde_json::{Map, Value};

use super::{Path, Report};

/// The shared event limits (see [`limits`]) on a free-form document
/// (`changes` or `metadata` as sent, which is the form the store keeps), at
/// nesting level `depth`: every value over a limit is reported by its path;
/// nothing inside a container nested too deep is looked at.
pub(super) fn document_limits(r: &mut Report, path: &Path<'_>, value: &Value, depth: usize) {
    if let Some(problem) = limits::container_problem(value, depth) {
        r.add(path, problem);
        return;
    }
    match value {
        Value::String(s) => {
            if let Some(problem) = limits::string_problem(s) {
                r.add(path, problem);
            }
        }
        Value::Number(n) => {
            if let Some(problem) = limits::number_problem(n) {
                r.add(path, problem);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                document_limits(r, &path.index(i), item, depth + 1);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if let Some(problem) = limits::key_problem(key) {
                    // Named by its parent: the key itself may be huge.
                    r.add(path, format!("a {problem}"));
                    continue;
                }
                document_limits(r, &path.key(key), item, depth + 1);
            }
        }
        _ => {}
    }
}

/// Free-form JSON (metadata, changed values) that jsonb can store: no NUL
/// character in any string or key, which jsonb refuses (`\u0000 cannot be
/// converted to text`). Depth and sizes are [`document_limits`]'s.
pub(super) fn storable_json(r: &mut Report, path: &Path<'_>, key: &str, value: &Value) {
    if key.contains('\0') {
        r.add(path, "the field name contains a NUL character, which cannot be stored");
        return;
    }
    match value {
        Value::String(s) if s.contains('\0') => {
            r.add(path, "contains a NUL character (\\u0000), which cannot be stored")
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                storable_json(r, &path.index(i), "", item);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                storable_json(r, &path.key(k), k, v);
            }
        }
        _ => {}
    }
}

pub(super) fn object(r: &mut Report, path: &Path<'_>, value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            r.add(path, format!("expected an object, got {}", kind(&other)));
            None
        }
    }
}

pub(super) fn required_object(
    r: &mut Report,
    path: &Path<'_>,
    value: Option<Value>,
) -> Option<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => {
            r.add(path, "required");
            None
        }
        Some(v) => object(r, path, v),
    }
}

/// `Some(None)`: absent or null. `None`: present but not an object (reported).
pub(super) fn optional_object(
    r: &mut Report,
    path: &Path<'_>,
    value: Option<Value>,
    expected: &str,
) -> Option<Option<Map<String, Value>>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::Object(map)) => Some(Some(map)),
        Some(other) => {
            r.add(path, format!("expected {expected}, got {}", kind(&other)));
            None
        }
    }
}

pub(super) fn required_text(
    r: &mut Report,
    path: &Path<'_>,
    value: Option<Value>,
    max_chars: usize,
) -> Option<String> {
    match value {
        None | Some(Value::Null) => {
            r.add(path, "required");
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            r.add(path, "must not be empty");
            None
        }
        Some(Value::String(s)) => storable_text(r, path, s, max_chars),
        Some(other) => {
            r.add(path, format!("expected a string, got {}", kind(&other)));
            None
        }
    }
}

/// Absent, null and empty all mean "not given".
pub(super) fn optional_text(
    r: &mut Report,
    path: &Path<'_>,
    value: Option<Value>,
    max_chars: usize,
) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => storable_text(r, path, s, max_chars),
        Some(other) => {
            r.add(path, format!("expected a string, got {}", kind(&other)));
            None
        }
    }
}

/// Text a PostgreSQL `text` column takes: no NUL, which it refuses outright.
pub(super) fn storable_text(r: &mut Report, path: &Path<'_>, s: String, max_chars: usize) -> Option<String> {
    if s.contains('\0') {
        r.add(path, "contains a NUL character (\\u0000), which cannot be stored");
        return None;
    }
    // Bytes first: a string of fewer bytes than the limit has fewer chars,
    // so only long strings are counted.
    if s.len() > max_chars && s.chars().count() > max_chars {
        r.add(path, format!("longer than {max_chars} characters"));
        return None;
    }
    Some(s)
}

pub(super) fn unknown_fields(r: &mut Report, path: &Path<'_>, rest: Map<String, Value>) {
    unknown_fields_with(r, path, rest, "unknown field");
}

pub(super) fn unknown_fields_with(r: &mut Report, path: &Path<'_>, rest: Map<String, Value>, problem: &str) {
    for key in rest.keys() {
        if key.contains('\0') {
            r.add(path, "a field name contains a NUL character");
        } else {
            r.add(
                &path.key(key),
                if problem == "unknown field" {
                    problem.to_string()
                } else {
                    format!("unknown field; {problem}")
                },
            );
        }
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
