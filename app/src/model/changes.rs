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

/// What a write-time redaction leaves in place of a secret (see the
/// server's redaction step; the strings are part of the stored format).
pub const REDACTED: &str = "[REDACTED]";
/// What a write-time redaction leaves in place of binary data.
pub const BINARY_DATA: &str = "[BINARY DATA]";

/// Whether a value is a placeholder left by redaction rather than data.
pub fn is_masked(value: &Value) -> bool {
    matches!(value, Value::String(s) if s == REDACTED || s == BINARY_DATA)
}

/// What happened to a field, in the words the timeline shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Set for the first time: absent, null or empty before.
    Added,
    /// Changed from one value to another.
    Updated,
    /// Removed or cleared: absent, null or empty after.
    Removed,
}

impl ChangeKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "Added",
            Self::Updated => "Updated",
            Self::Removed => "Removed",
        }
    }

    /// Lower-case name, for CSS classes and data attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Updated => "updated",
            Self::Removed => "removed",
        }
    }
}

/// One changed field (or array item) of a change tree, ready to display.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The field's key, or `[i]` for an array item.
    pub name: String,
    pub diff: FieldDiff,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldDiff {
    /// A value that was added, updated or removed. `old` is absent for
    /// fields that did not exist before, `new` for fields that no longer do.
    Value { kind: ChangeKind, old: Option<Value>, new: Option<Value> },
    /// An object or array some of whose members changed; only those listed.
    Members { array: bool, changes: Vec<FieldChange> },
}

/// How many leaf fields were added, updated and removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

impl ChangeCounts {
    pub fn of(changes: &[FieldChange]) -> Self {
        let mut counts = Self::default();
        for change in changes {
            match &change.diff {
                FieldDiff::Value { kind: ChangeKind::Added, .. } => counts.added += 1,
                FieldDiff::Value { kind: ChangeKind::Updated, .. } => counts.updated += 1,
                FieldDiff::Value { kind: ChangeKind::Removed, .. } => counts.removed += 1,
                FieldDiff::Members { changes, .. } => {
                    let inner = Self::of(changes);
                    counts.added += inner.added;
                    counts.updated += inner.updated;
                    counts.removed += inner.removed;
                }
            }
        }
        counts
    }

    pub fn total(&self) -> usize {
        self.added + self.updated + self.removed
    }

    /// "2 updated, 1 added": the non-zero counts, in words.
    pub fn in_words(&self) -> String {
        [(self.added, "added"), (self.updated, "updated"), (self.removed, "removed")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, word)| format!("{n} {word}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A stored diff as a tree of changed fields, each classified as Added,
/// Updated or Removed. Nested objects and arrays that were stored as whole
/// values are compared member by member, and fields whose two sides are
/// equal are left out, so only what changed is shown.
pub fn change_fields(tree: &ChangeTree) -> Vec<FieldChange> {
    tree.iter()
        .filter_map(|(name, node)| {
            let diff = match node {
                ChangeNode::Nested { fields } => {
                    let changes = change_fields(fields);
                    (!changes.is_empty()).then_some(FieldDiff::Members { array: false, changes })
                }
                ChangeNode::Value { old, new } => diff_values(old.as_ref(), new.as_ref()),
            }?;
            Some(FieldChange { name: name.clone(), diff })
        })
        .collect()
}

/// The change from `old` to `new` (either may be absent); `None` when the
/// two are equal.
pub fn diff_values(old: Option<&Value>, new: Option<&Value>) -> Option<FieldDiff> {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) if !a.is_empty() && !b.is_empty() => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            let changes: Vec<FieldChange> = keys
                .into_iter()
                .filter_map(|k| {
                    diff_values(a.get(k), b.get(k)).map(|diff| FieldChange { name: k.clone(), diff })
                })
                .collect();
            (!changes.is_empty()).then_some(FieldDiff::Members { array: false, changes })
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if !a.is_empty() && !b.is_empty() => {
            let changes = diff_arrays(a, b);
            (!changes.is_empty()).then_some(FieldDiff::Members { array: true, changes })
        }
        _ => classify(old, new).map(|kind| FieldDiff::Value { kind, old: old.cloned(), new: new.cloned() }),
    }
}

/// Added, Updated or Removed; `None` when nothing changed.
pub fn classify(old: Option<&Value>, new: Option<&Value>) -> Option<ChangeKind> {
    match (old, new) {
        (None, None) => None,
        (None, Some(_)) => Some(ChangeKind::Added),
        (Some(_), None) => Some(ChangeKind::Removed),
        // Two equal placeholders still mean the secret changed: the sender
        // listed it, and redaction made the sides alike.
        (Some(a), Some(b)) if a == b && !is_masked(a) => None,
        (Some(a), Some(b)) => Some(match (is_blank(a), is_blank(b)) {
            (true, false) => ChangeKind::Added,
            (false, true) => ChangeKind::Removed,
            _ => ChangeKind::Updated,
        }),
    }
}

/// Null and empty values: a field set to one of these was cleared.
fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Arrays compared item by item along their longest common subsequence, so
/// removing one tag does not show every later tag as changed. Within a
/// changed stretch, removed and added items are paired in order as updates
/// (compared member by member when they are objects).
fn diff_arrays(a: &[Value], b: &[Value]) -> Vec<FieldChange> {
    // Arrays in audit diffs are short; beyond this, compare by position.
    const MAX_CELLS: usize = 40_000;
    let (n, m) = (a.len(), b.len());
    let ops: Vec<(Option<usize>, Option<usize>)> = if (n + 1) * (m + 1) <= MAX_CELLS {
        super::lcs::align(a, b)
    } else {
        (0..n.max(m)).map(|k| (Some(k).filter(|k| *k < n), Some(k).filter(|k| *k < m))).collect()
    };

    let mut out = Vec::new();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let flush = |removed: &mut Vec<usize>, added: &mut Vec<usize>, out: &mut Vec<FieldChange>| {
        let paired = removed.len().min(added.len());
        for (&i, &j) in removed.iter().zip(added.iter()) {
            if let Some(diff) = diff_values(Some(&a[i]), Some(&b[j])) {
                out.push(FieldChange { name: format!("[{j}]"), diff });
            }
        }
        for &i in &removed[paired..] {
            let diff = FieldDiff::Value { kind: ChangeKind::Removed, old: Some(a[i].clone()), new: None };
            out.push(FieldChange { name: format!("[{i}]"), diff });
        }
        for &j in &added[paired..] {
            let diff = FieldDiff::Value { kind: ChangeKind::Added, old: None, new: Some(b[j].clone()) };
            out.push(FieldChange { name: format!("[{j}]"), diff });
        }
        removed.clear();
        added.clear();
    };
    for op in ops {
        match op {
            (Some(i), Some(j)) if a[i] == b[j] => flush(&mut removed, &mut added, &mut out),
            (Some(i), Some(j)) => {
                removed.push(i);
                added.push(j);
            }
            (Some(i), None) => removed.push(i),
            (None, Some(j)) => added.push(j),
            (None, None) => {}
        }
    }
    flush(&mut removed, &mut added, &mut out);
    out
}

/// Whether an update is long or wordy enough on both sides that a word-level
/// diff reads better than the two values side by side.
pub fn wants_word_diff(old: &Value, new: &Value) -> bool {
    const LONG: usize = 60;
    match (old, new) {
        (Value::String(a), Value::String(b)) if !is_masked(old) && !is_masked(new) => {
            let wordy = |s: &str| s.split_whitespace().nth(1).is_some();
            a.chars().count() > LONG || b.chars().count() > LONG || (wordy(a) && wordy(b))
        }
        _ => false,
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

    fn tree(v: Value) -> ChangeTree {
        match serde_json::from_value(json!({ "diff": v })).unwrap() {
            Changes::Diff(tree) => tree,
            _ => unreachable!(),
        }
    }

    /// `name: kind` for every leaf, paths dotted, for compact assertions.
    fn leaves(changes: &[FieldChange]) -> Vec<String> {
        fn walk(prefix: &str, changes: &[FieldChange], out: &mut Vec<String>) {
            for c in changes {
                let path = if prefix.is_empty() { c.name.clone() } else { format!("{prefix}.{}", c.name) };
                match &c.diff {
                    FieldDiff::Value { kind, .. } => out.push(format!("{path}: {}", kind.label())),
                    FieldDiff::Members { changes, .. } => walk(&path, changes, out),
                }
            }
        }
        let mut out = Vec::new();
        walk("", changes, &mut out);
        out
    }

    #[test]
    fn fields_are_added_updated_or_removed_and_unchanged_ones_left_out() {
        let t = tree(json!({
            "status": {"old": "draft", "new": "sent"},
            "notes": {"new": "first note"},
            "po_number": {"old": null, "new": "PO-7"},
            "tax_id": {"old": "GB123", "new": ""},
            "discount": {"old": 5},
            "due": {"old": null, "new": ""},
            "same": {"old": 1, "new": 1},
            "billing": {"fields": {
                "city": {"old": "Leeds", "new": "York"},
                "line2": {"new": "Flat 2"},
                "unchanged": {"old": "x", "new": "x"}
            }},
            "empty_branch": {"fields": {"a": {"old": 1, "new": 1}}}
        }));
        let changes = change_fields(&t);
        assert_eq!(
            leaves(&changes),
            [
                "billing.city: Updated",
                "billing.line2: Added",
                "discount: Removed",
                "due: Updated",
                "notes: Added",
                "po_number: Added",
                "status: Updated",
                "tax_id: Removed",
            ]
        );
        let counts = ChangeCounts::of(&changes);
        assert_eq!(counts, ChangeCounts { added: 3, updated: 3, removed: 2 });
        assert_eq!(counts.in_words(), "3 added, 3 updated, 2 removed");
        assert_eq!(ChangeCounts { added: 0, updated: 1, removed: 0 }.in_words(), "1 updated");
    }

    #[test]
    fn whole_objects_and_arrays_are_compared_member_by_member() {
        let t = tree(json!({
            "address": {"old": {"street": "1 Main St", "city": "Leeds", "zip": "LS1"},
                        "new": {"street": "1 Main St", "city": "York", "country": "GB"}},
            "tags": {"old": ["vip", "late", "eu"], "new": ["vip", "eu", "new"]},
            "lines": {"old": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}],
                      "new": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 3}]},
            "kind": {"old": {"a": 1}, "new": "flat"},
            "same_list": {"old": [1, 2], "new": [1, 2]}
        }));
        let changes = change_fields(&t);
        assert_eq!(
            leaves(&changes),
            [
                "address.city: Updated",
                "address.country: Added",
                "address.zip: Removed",
                "kind: Updated",
                "lines.[1].qty: Updated",
                "tags.[1]: Removed",
                "tags.[2]: Added",
            ]
        );
        assert!(matches!(changes[2].diff, FieldDiff::Members { array: true, .. }));
        let FieldDiff::Members { changes: tags, .. } = &changes[3].diff else { panic!("tags") };
        assert_eq!(
            tags[0].diff,
            FieldDiff::Value { kind: ChangeKind::Removed, old: Some(json!("late")), new: None }
        );
    }

    #[test]
    fn redaction_placeholders_are_recognised_and_never_word_diffed() {
        assert!(is_masked(&json!("[REDACTED]")));
        assert!(is_masked(&json!("[BINARY DATA]")));
        assert!(!is_masked(&json!("REDACTED")));
        assert!(!is_masked(&json!(null)));
        let long = json!("The customer asked us to move the delivery to the second week of March");
        assert!(wants_word_diff(&long, &json!("The customer asked us to move the delivery to April")));
        assert!(wants_word_diff(&json!("Leeds Road"), &json!("York Road")));
        assert!(!wants_word_diff(&json!("draft"), &json!("sent")));
        assert!(!wants_word_diff(&json!("[REDACTED]"), &json!("[REDACTED]")));
        assert!(!wants_word_diff(&json!(12), &json!(13)));
        let t = tree(json!({"password": {"old": "[REDACTED]", "new": "[REDACTED]"}}));
        assert_eq!(leaves(&change_fields(&t)), ["password: Updated"]);
    }
}
