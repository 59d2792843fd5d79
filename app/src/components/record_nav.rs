use leptos::prelude::*;

use crate::api::adjacent_changes;
use crate::model::{AuditEvent, EntityRef};

/// The org a timeline shows, for links out of its entries. A viewer token
/// stands in for the slug in an embed, where there are no other pages.
#[derive(Clone, Copy)]
pub struct TimelineOrg {
    pub org: Signal<String>,
    /// Whether entries link to record history pages (a host that mounts the
    /// timeline alone has none).
    pub history: bool,
}

impl TimelineOrg {
    /// `/o/{org}/records/{type}/{id}`, or nothing inside an embed or a host
    /// without history pages.
    pub fn record_path(&self, entity: &EntityRef) -> Option<String> {
        let org = self.org.get_untracked();
        (self.history && !org.starts_with("vt1.")).then(|| record_href(&org, &entity.entity_type, &entity.id))
    }

    /// One entry's own export (`json` or `csv`), recorded like any export;
    /// where record pages are linked too.
    pub fn entry_export(&self, id: uuid::Uuid, extension: &str) -> Option<String> {
        let org = self.org.get_untracked();
        (self.history && !org.starts_with("vt1.")).then(|| format!("/o/{org}/export.{extension}?event={id}"))
    }

    /// The actor's people page, where record pages are linked too.
    pub fn person_path(&self, actor_id: &str) -> Option<String> {
        let org = self.org.get_untracked();
        (self.history && !org.starts_with("vt1.")).then(|| person_href(&org, actor_id))
    }
}

/// The history page of one record.
pub fn record_href(org: &str, entity_type: &str, id: &str) -> String {
    format!("/o/{org}/records/{}/{}", encode_segment(entity_type), encode_segment(id))
}

/// The timeline of `org` filtered by `filter`.
pub fn timeline_href(org: &str, filter: &crate::model::TimelineFilter) -> String {
    let q = filter.to_query();
    if q.is_empty() { format!("/o/{org}") } else { format!("/o/{org}?{q}") }
}

/// The people page of `actor_id` in `org`.
pub fn person_href(org: &str, actor_id: &str) -> String {
    format!("/o/{org}/people/{}", encode_segment(actor_id))
}

/// Percent-encodes a path segment (record ids are free text).
pub fn encode_segment(s: &str) -> String {
    crate::model::percent::encode(s, crate::model::percent::COMPONENT)
}

/// In an expanded entry: the change to the same record just before and just
/// after this one, and a link to the record's whole history.
#[component]
pub fn RecordNav(event_id: uuid::Uuid, entity: EntityRef) -> impl IntoView {
    let org = use_context::<TimelineOrg>();
    let history = org.and_then(|o| o.record_path(&entity));
    let neighbours = LocalResource::new(move || {
        let org = org.map(|o| o.org.get_untracked()).unwrap_or_default();
        adjacent_changes(org, event_id)
    });
    let side = move |label: &'static str, e: Option<AuditEvent>| match e {
        None => view! { <p class="neighbour none">{label}": none"</p> }.into_any(),
        Some(e) => {
            let when = e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            view! {
                <p class="neighbour">
                    {label}": " <code>{e.action}</code> " by " {e.actor.name} " · "
                    <time datetime=when.clone()>{when.replace('T', " ").replace('Z', " UTC")}</time>
                </p>
            }
            .into_any()
        }
    };
    view! {
        <nav class="record-nav" aria-label="This record's changes">
            <Suspense fallback=|| view! { <p class="neighbour">"Looking for this record's other changes…"</p> }>
                {move || Suspend::new(async move {
                    match neighbours.await {
                        Ok(n) => view! {
                            {side("Previous change", n.previous)}
                            {side("Next change", n.next)}
                            <Related events=n.related />
                        }
                        .into_any(),
                        Err(_) => view! { <p class="neighbour">"This record's other changes could not be loaded."</p> }.into_any(),
                    }
                })}
            </Suspense>
            {history.map(|href| view! { <a class="record-history" href=href>"Full history of this record →"</a> })}
        </nav>
    }
}

/// Events of the same request or session a few seconds around an entry:
/// what it set off, or what came with it.
#[component]
fn Related(events: Vec<AuditEvent>) -> impl IntoView {
    if events.is_empty() {
        return None;
    }
    let org = use_context::<TimelineOrg>();
    let items = events
        .into_iter()
        .map(|e| {
            let when = e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let label = format!(
                "{} · {} {}",
                crate::model::action_label(&e.action),
                crate::model::entity_type_label(&e.entity.entity_type),
                e.entity.display_name()
            );
            let link = org.and_then(|o| o.record_path(&e.entity));
            view! {
                <li>
                    {match link {
                        Some(href) => view! { <a href=href>{label}</a> }.into_any(),
                        None => view! { <span>{label}</span> }.into_any(),
                    }}
                    " by " {e.actor.name} " · "
                    <time datetime=when.clone()>{when.replace('T', " ").replace('Z', " UTC")}</time>
                </li>
            }
        })
        .collect_view();
    Some(view! {
        <div class="related">
            <h3>"Related events"</h3>
            <p class="related-note">"Same request or session, within a few seconds"</p>
            <ul>{items}</ul>
        </div>
    })
}
