use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::timeline::AppBar;
use crate::api::current_viewer;
use crate::components::{Controls, Timeline};
use crate::model::{TimelineFilter, entity_type_label};

/// One record's full history at `/o/{org}/records/{type}/{id}`, newest
/// first, with the same filters as the org's timeline (the record itself is
/// fixed: the URL's filters can only narrow it).
#[component]
pub fn RecordHistoryPage() -> impl IntoView {
    let params = use_params_map();
    let param = move |key: &'static str| Memo::new(move |_| params.with(|p| p.get(key).unwrap_or_default()));
    let org = param("org");
    let entity_type = param("type");
    let id = param("id");
    let who = Resource::new(move || org.get(), current_viewer);
    let back = move || format!("/o/{}", org.get());
    view! {
        <AppBar who />
        <header class="page-header">
            <p class="breadcrumb"><a href=back>"← Audit log"</a></p>
            <h1>
                "History of " {move || entity_type_label(&entity_type.get())} " "
                <code class="record-id">{move || id.get()}</code>
            </h1>
            <p class="lede">"Every recorded action on this record, newest first."</p>
        </header>
        // Keyed on the record: another record is a new timeline, not a
        // filter change of this one.
        {move || {
            let scope = TimelineFilter {
                entity_types: vec![entity_type.get()],
                record: Some(id.get()),
                ..Default::default()
            };
            let controls = Controls { entity_types: false, ..Default::default() };
            view! { <Timeline org scope controls /> }
        }}
    }
}
