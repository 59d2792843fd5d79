use leptos::prelude::*;

use super::{ActionBadge, ActorCell, ChangesTable, EntityCell, LocalTime, SnapshotTable};
use crate::model::{AuditEvent, Changes};

/// One timeline entry; its summary is a button that expands the entry inline
/// to the field diff (updates) or the final snapshot (deletes).
#[component]
pub fn EntryRow(event: AuditEvent) -> impl IntoView {
    let expanded = RwSignal::new(false);
    let detail_id = format!("entry-{}", event.id.simple());
    let detail = StoredValue::new(event.clone());
    let detail_el_id = detail_id.clone();
    let entity_id = event.entity.id.clone();
    view! {
        <li class="entry" class:expanded=move || expanded.get() data-event-id=event.id.to_string() data-entity-id=entity_id>
            <button
                type="button"
                class="entry-summary"
                aria-expanded=move || expanded.get().to_string()
                aria-controls=detail_id
                on:click=move |_| expanded.update(|open| *open = !*open)
            >
                <ActorCell actor=event.actor />
                <ActionBadge action=event.action />
                <EntityCell entity=event.entity />
                <LocalTime at=event.occurred_at />
            </button>
            <Show when=move || expanded.get()>
                <EntryDetail event=detail.get_value() id=detail_el_id.clone() />
            </Show>
        </li>
    }
}

#[component]
fn EntryDetail(event: AuditEvent, id: String) -> impl IntoView {
    let exact = event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let fact = |label: &'static str, value: Option<String>| {
        value.map(|v| view! { <div class="fact"><dt>{label}</dt><dd>{v}</dd></div> })
    };
    let body = match event.changes {
        Some(Changes::Diff(tree)) if !tree.is_empty() => Some(view! { <ChangesTable tree /> }.into_any()),
        Some(Changes::Snapshot(values)) => Some(view! { <SnapshotTable values /> }.into_any()),
        // Creates and state changes: the action itself is the story.
        _ => None,
    };
    view! {
        <div class="entry-detail" id=id>
            <dl class="facts">
                {fact("When", Some(exact))}
                {fact("Email", event.actor.email)}
                {fact("Record id", Some(event.entity.id))}
                {fact("IP address", event.context.ip)}
                {fact("User agent", event.context.user_agent)}
                {fact("Session", event.context.session_id)}
            </dl>
            {body}
        </div>
    }
}
