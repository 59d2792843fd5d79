use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// What an event changed. Stored as JSON with one key naming the kind:
/// `{"diff": {...}}`, `{"snapshot": {...}}` or `{"initial": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Changes {
    /// Updates: only the fields that changed, nested objects as a tree.
    Diff(ChangeTree),
    /// Deletes: the record's final field values.
    Snapshot(Map<String, Value>),
    /// Creates: the initial field values.
    Initial(Map<String, Value>),
}

/// Field name -> what happened to it. Sorted by field name.
pub type ChangeTree = BTreeMap<String, ChangeNode>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChangeNode {
    /// A nested object some of whose fields changed.
    Nested { fields: ChangeTree },
    /// A value that changed. `old` absent: the field was added; `new` absent:
    /// it was removed. An explicit JSON `null` is a value, not an absence.
    Value {
        #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
        old: Option<Value>,
        #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
        new: Option<Value>,
    },
}

/// Keeps `"old": null` apart from a missing `old`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// One line of a rendered diff: a dotted field path and its two sides.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

impl Changes {
    /// The diff flattened depth-first into dotted paths (`billing.city`).
    pub fn diff_rows(tree: &ChangeTree) -> Vec<ChangeRow> {
        fn walk(prefix: &str, tree: &ChangeTree, out: &mut Vec<ChangeRow>) {
            for (name, node) in tree {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                match node {
                    ChangeNode::Nested { fields } => walk(&path, fields, out),
                    ChangeNode::Value { old, new } => {
                        out.push(ChangeRow { path, old: old.clone(), new: new.clone() })
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk("", tree, &mut out);
        out
    }
}

/// A JSON value as a person reads it: strings bare, everything else as JSON.
pub fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_round_trips_and_keeps_null_apart_from_absent() {
        let raw = json!({"diff": {
            "status": {"old": "draft", "new": "sent"},
            "due_date": {"old": null, "new": "2026-02-01"},
            "notes": {"new": "added"},
            "billing": {"fields": {"city": {"old": "Leeds", "new": "York"}}}
        }});
        let changes: Changes = serde_json::from_value(raw.clone()).unwrap();
        let Changes::Diff(tree) = &changes else { panic!("expected a diff") };
        let rows = Changes::diff_rows(tree);
        let paths: Vec<_> = rows.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["billing.city", "due_date", "notes", "status"]);
        assert_eq!(rows[1].old, Some(Value::Null));
        assert_eq!(rows[2].old, None);
        assert_eq!(serde_json::to_value(&changes).unwrap(), raw);
    }

    #[test]
    fn snapshot_and_initial_are_plain_objects() {
        let c: Changes =
            serde_json::from_value(json!({"snapshot": {"number": "INV-1", "total": 10}})).unwrap();
        assert!(matches!(c, Changes::Snapshot(ref m) if m["total"] == json!(10)));
        assert_eq!(display_value(&json!("x")), "x");
        assert_eq!(display_value(&json!({"a": 1})), r#"{"a":1}"#);
    }
}
