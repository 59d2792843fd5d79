use leptos::prelude::*;
use serde_json::{Map, Value};

use crate::model::{ChangeTree, Changes, display_value};

/// Side-by-side diff of every changed field: before in red, after in green.
/// Nested fields read as dotted paths.
#[component]
pub fn ChangesTable(tree: ChangeTree) -> impl IntoView {
    let rows = Changes::diff_rows(&tree);
    view! {
        <section class="changes" aria-label="Changes">
            <h3>"Changes"</h3>
            <table class="diff">
                <thead>
                    <tr>
                        <th scope="col">"Field"</th>
                        <th scope="col">"Before"</th>
                        <th scope="col">"After"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            view! {
                                <tr>
                                    <th scope="row" class="field">{row.path}</th>
                                    <td class="old">{side(row.old, false)}</td>
                                    <td class="new">{side(row.new, true)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}

fn side(value: Option<Value>, is_new: bool) -> AnyView {
    match value {
        None => view! { <span class="absent">"(none)"</span> }.into_any(),
        Some(v) if is_new => view! { <ins>{display_value(&v)}</ins> }.into_any(),
        Some(v) => view! { <del>{display_value(&v)}</del> }.into_any(),
    }
}

/// The record's final field values just before it was deleted.
#[component]
pub fn SnapshotTable(values: Map<String, Value>) -> impl IntoView {
    view! {
        <section class="snapshot" aria-label="Snapshot">
            <h3>"Snapshot"</h3>
            <p class="hint">"The record's final values just before it was deleted."</p>
            <table class="snapshot-table">
                <tbody>
                    {values
                        .into_iter()
                        .map(|(field, value)| {
                            view! {
                                <tr>
                                    <th scope="row" class="field">{field}</th>
                                    <td>{display_value(&value)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
