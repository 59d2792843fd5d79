use leptos::prelude::*;
use serde_json::{Map, Value};

use crate::model::{
    BINARY_DATA, ChangeCounts, ChangeKind, ChangeTree, Edit, FieldChange, FieldDiff, REDACTED, change_fields,
    is_masked, wants_word_diff, word_diff,
};

/// What an update changed, as a tree: every changed field says in words
/// whether it was Added, Updated or Removed; nested objects and arrays open
/// inline; long texts show which words changed. Unchanged fields are left
/// out.
#[component]
pub fn ChangesTree(tree: ChangeTree) -> impl IntoView {
    let changes = change_fields(&tree);
    let counts = ChangeCounts::of(&changes);
    let summary =
        if counts.total() == 0 { "No field values changed.".to_string() } else { counts.in_words() };
    view! {
        <section class="changes" aria-label="Changes">
            <h3>"Changes"</h3>
            <p class="change-counts">{summary}</p>
            {change_list(changes)}
        </section>
    }
}

fn change_list(changes: Vec<FieldChange>) -> AnyView {
    view! { <ul class="change-tree">{changes.into_iter().map(change_item).collect_view()}</ul> }.into_any()
}

fn change_item(change: FieldChange) -> AnyView {
    let name = change.name;
    let field = name.clone();
    match change.diff {
        FieldDiff::Members { array, changes } => {
            let counts = ChangeCounts::of(&changes);
            // A whole branch that appeared or went reads as that; anything
            // mixed is an update of the branch.
            let kind = match (counts.added, counts.updated, counts.removed) {
                (_, 0, 0) => ChangeKind::Added,
                (0, 0, _) => ChangeKind::Removed,
                _ => ChangeKind::Updated,
            };
            let what = if array { "list" } else { "object" };
            view! {
                <li class="change change-branch" data-change=kind.as_str() data-field=field>
                    <details open>
                        <summary>
                            <span class="change-field">{name}</span>
                            {kind_label(kind)}
                            <span class="change-count">{format!("{what}: {}", counts.in_words())}</span>
                        </summary>
                        {change_list(changes)}
                    </details>
                </li>
            }
            .into_any()
        }
        FieldDiff::Value { kind, old, new } => {
            let values = match (kind, old, new) {
                (ChangeKind::Updated, Some(old), Some(new)) if wants_word_diff(&old, &new) => {
                    word_diff_view(&old, &new)
                }
                (_, old, new) => sides(old, new),
            };
            view! {
                <li class="change change-leaf" data-change=kind.as_str() data-field=field>
                    <span class="change-field">{name}</span>
                    {kind_label(kind)}
                    <div class="change-values">{values}</div>
                </li>
            }
            .into_any()
        }
    }
}

/// The kind of change as a word in a tinted pill: never colour alone.
fn kind_label(kind: ChangeKind) -> impl IntoView {
    view! { <span class=format!("change-kind kind-{}", kind.as_str())>{kind.label()}</span> }
}

/// Before and after, whichever exist.
fn sides(old: Option<Value>, new: Option<Value>) -> AnyView {
    let old = old.map(|v| view! { <del class="old">{value_view(&v)}</del> });
    let arrow =
        (old.is_some() && new.is_some()).then(|| view! { <span class="arrow" aria-hidden="true">"→"</span> });
    let new = new.map(|v| view! { <ins class="new">{value_view(&v)}</ins> });
    view! { {old} {arrow} {new} }.into_any()
}

/// The new text with removed words struck out and added words marked.
fn word_diff_view(old: &Value, new: &Value) -> AnyView {
    let (Value::String(old), Value::String(new)) = (old, new) else { return sides(None, None) };
    let segments = word_diff(old, new);
    // With no word in common the marks add nothing: show the two values.
    if !segments.iter().any(|s| s.edit == Edit::Same && !s.text.trim().is_empty()) {
        return sides(Some(Value::String(old.clone())), Some(Value::String(new.clone())));
    }
    view! {
        <p class="word-diff">
            {segments
                .into_iter()
                .map(|s| match s.edit {
                    Edit::Same => view! { <span>{s.text}</span> }.into_any(),
                    Edit::Removed => view! { <del>{s.text}</del> }.into_any(),
                    Edit::Added => view! { <ins>{s.text}</ins> }.into_any(),
                })
                .collect_view()}
        </p>
    }
    .into_any()
}

/// A JSON value as a person reads it: text as text, objects as nested
/// tables, lists as lists, and redaction placeholders as a muted token that
/// cannot be mistaken for the data.
pub fn value_view(value: &Value) -> AnyView {
    match value {
        v if is_masked(v) => {
            let (text, why) = match v.as_str() {
                Some(BINARY_DATA) => (BINARY_DATA, "Binary data is not stored in the audit log"),
                _ => (REDACTED, "Sensitive value, hidden when the event was recorded"),
            };
            view! { <span class="masked" title=why>{text}</span> }.into_any()
        }
        Value::String(s) if s.is_empty() => view! { <span class="empty">"(empty)"</span> }.into_any(),
        Value::String(s) => view! { <span class="text">{s.clone()}</span> }.into_any(),
        Value::Null => view! { <span class="empty">"null"</span> }.into_any(),
        Value::Bool(_) | Value::Number(_) => {
            view! { <span class="scalar">{value.to_string()}</span> }.into_any()
        }
        Value::Array(items) if items.is_empty() => {
            view! { <span class="empty">"(empty list)"</span> }.into_any()
        }
        Value::Array(items) => view! {
            <ol class="value-list">
                {items.iter().map(|item| view! { <li>{value_view(item)}</li> }).collect_view()}
            </ol>
        }
        .into_any(),
        Value::Object(map) if map.is_empty() => {
            view! { <span class="empty">"(empty object)"</span> }.into_any()
        }
        Value::Object(map) => {
            view! { <table class="value-table"><tbody>{field_rows(map)}</tbody></table> }.into_any()
        }
    }
}

fn field_rows(map: &Map<String, Value>) -> impl IntoView + use<> {
    map.iter()
        .map(|(field, value)| {
            view! {
                <tr>
                    <th scope="row" class="field">{field.clone()}</th>
                    <td>{value_view(value)}</td>
                </tr>
            }
        })
        .collect_view()
}

/// The record's final field values just before it was deleted.
#[component]
pub fn SnapshotTable(values: Map<String, Value>) -> impl IntoView {
    view! {
        <section class="snapshot" aria-label="Snapshot">
            <h3>"Snapshot"</h3>
            <p class="hint">"The record's final values just before it was deleted."</p>
            <table class="snapshot-table">
                <tbody>{field_rows(&values)}</tbody>
            </table>
        </section>
    }
}

/// The field values a record was created with.
#[component]
pub fn InitialValues(values: Map<String, Value>) -> impl IntoView {
    view! {
        <section class="snapshot initial" aria-label="Initial values">
            <h3>"Initial values"</h3>
            <table class="snapshot-table">
                <tbody>{field_rows(&values)}</tbody>
            </table>
        </section>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::model::Changes;
    use serde_json::json;

    fn render_tree(diff: Value) -> String {
        let Changes::Diff(tree) = serde_json::from_value(json!({ "diff": diff })).unwrap() else {
            unreachable!()
        };
        Owner::new().with(|| view! { <ChangesTree tree /> }.to_html())
    }

    #[test]
    fn the_tree_names_each_change_in_words() {
        let html = render_tree(json!({
            "status": {"old": "draft", "new": "sent"},
            "po_number": {"new": "PO-7"},
            "discount": {"old": 5},
            "billing": {"fields": {"city": {"old": "Leeds", "new": "York"}}},
            "password": {"old": "[REDACTED]", "new": "[REDACTED]"},
            "notes": {"old": "Call the client on Monday about the invoice",
                      "new": "Call the client on Friday about the invoice"}
        }));
        for word in ["Added", "Updated", "Removed"] {
            assert!(html.contains(&format!(">{word}</span>")), "{word} in {html}");
        }
        assert!(html.contains("<details open"), "{html}");
        assert!(html.contains(r#"data-field="city""#), "{html}");
        assert!(html.contains(r#"class="masked">[REDACTED]</span>"#), "{html}");
        assert!(html.contains("<del>Monday</del><ins>Friday</ins>"), "{html}");
        assert!(html.contains("1 added, 4 updated, 1 removed"), "{html}");
    }

    #[test]
    fn texts_with_no_word_in_common_show_both_values_instead_of_marks() {
        let html = render_tree(json!({"street": {"old": "203 Torstraße", "new": "175 Wellington Street"}}));
        assert!(!html.contains("word-diff"), "{html}");
        assert!(html.contains(r#"<del class="old"><span class="text">203 Torstraße</span></del>"#), "{html}");
    }

    #[test]
    fn snapshots_render_nested_objects_as_tables() {
        let values =
            json!({"number": "INV-1", "billing": {"city": "York", "lines": [1, 2]}, "token": "[REDACTED]"});
        let Value::Object(values) = values else { unreachable!() };
        let html = Owner::new().with(|| view! { <SnapshotTable values /> }.to_html());
        assert!(html.contains(r#"<table class="value-table">"#), "{html}");
        assert!(html.contains(r#"<ol class="value-list">"#), "{html}");
        assert!(!html.contains("{&quot;"), "no raw JSON: {html}");
        assert!(html.contains("[REDACTED]"), "{html}");
    }
}
