//! A host dashboard that embeds the audit timeline as a Leptos component.
//!
//! It brings its own [`AuditStore`] (here: events in memory; in a real host,
//! whatever holds its audit trail) and its own sign-in ([`AccessControl`]),
//! provides both as context, and mounts `<Timeline/>` like any component.
//! The timeline's filters, URL state and server functions work unchanged.
//! Built and tested with the workspace, never shipped in the product binary.
// The timeline's view types nest deeply.
#![recursion_limit = "256"]

use std::sync::{Arc, OnceLock};

use app::Timeline;
use app::api::{AccessControl, AccessError, AuditStore, StoreError, ViewerCache};
use app::components::Controls;
use app::model::{
    ActorSummary, AuditEvent, ChainStatus, Cursor, EventCount, EventQuery, OrgRef, RecordNeighbors, Role,
    TimelineFilter, TimelinePage, Viewer,
};
use async_trait::async_trait;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use leptos_router::components::{Route, Router as LeptosRouter, Routes};
use leptos_router::{SsrMode, StaticSegment};
use uuid::Uuid;

pub const ORG_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0f01);

/// The host's page: its own header, and the timeline as one widget of it.
#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <h1>"Operations dashboard"</h1>
        <section class="widget" aria-label="Recent activity">
            // Mounting the timeline: the org, and which controls to show
            // (this host has no record history pages to link to).
            <Timeline org="ops" controls=Controls { more: false, history: false, ..Controls::default() } />
        </section>
    }
}

/// A second widget: invoices only unless the URL says otherwise, two at a
/// time.
#[component]
pub fn InvoicesWidget() -> impl IntoView {
    let invoices = TimelineFilter { entity_types: vec!["invoice".into()], ..TimelineFilter::default() };
    view! {
        <h1>"Billing"</h1>
        <section class="widget" aria-label="Invoice activity">
            <Timeline
                org="ops"
                initial=invoices
                page_size=2
                controls=Controls { history: false, ..Controls::default() }
            />
        </section>
    }
}

#[component]
pub fn HostApp() -> impl IntoView {
    view! {
        <LeptosRouter>
            <main>
                <Routes fallback=|| "Not found">
                    <Route path=StaticSegment("dashboard") view=Dashboard ssr=SsrMode::Async />
                    <Route path=StaticSegment("invoices") view=InvoicesWidget ssr=SsrMode::Async />
                </Routes>
            </main>
        </LeptosRouter>
    }
}

fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head><meta charset="utf-8" /><HydrationScripts options /></head>
            <body><HostApp /></body>
        </html>
    }
}

/// The host's router: its pages and the timeline's server functions, with
/// the host's store and sign-in in context.
pub fn router(store: Arc<dyn AuditStore>) -> Router {
    let options = LeptosOptions::builder().output_name("host-dashboard").build();
    let access: Arc<dyn AccessControl> = Arc::new(HostSignIn);
    let context = move || {
        provide_context(store.clone());
        provide_context(access.clone());
        provide_context(ViewerCache::default());
    };
    Router::new()
        .leptos_routes_with_context(&options, routes(), context, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .with_state(options)
}

/// The host's routes, listed once per process. Listing them renders the app
/// with resource loading switched off process-wide (leptos-rs/leptos#4773),
/// so a page rendered meanwhile on another thread could wait forever for a
/// resource that never starts. A host that builds its router more than once
/// (tests do, one per test) must not list the routes again.
fn routes() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: OnceLock<Vec<leptos_axum::AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(HostApp)).clone()
}

/// The host's own sign-in: here everyone is the operator of org "ops".
struct HostSignIn;

#[async_trait]
impl AccessControl for HostSignIn {
    async fn viewer(
        &self,
        _request: &http::request::Parts,
        org: &str,
    ) -> Result<(Viewer, Uuid), AccessError> {
        if org != "ops" {
            return Err(AccessError::NoSuchOrg);
        }
        let viewer = Viewer {
            name: "Operator".into(),
            email: "ops@example.com".into(),
            org: OrgRef { slug: "ops".into(), name: "Ops".into() },
            role: Role::Admin,
            orgs: Vec::new(),
            scope: Default::default(),
        };
        Ok((viewer, ORG_ID))
    }
}

/// The host's store: events in memory, newest first. It honours the entity
/// type and free-text filters; a host store answers what its data supports.
pub struct MemoryStore {
    events: Vec<AuditEvent>,
}

impl MemoryStore {
    pub fn new(mut events: Vec<AuditEvent>) -> MemoryStore {
        events.sort_by_key(|e| std::cmp::Reverse((e.occurred_at, e.id)));
        MemoryStore { events }
    }

    fn matching<'a>(
        &'a self,
        org_id: Uuid,
        query: &'a EventQuery,
    ) -> impl Iterator<Item = &'a AuditEvent> + 'a {
        self.events.iter().filter(move |e| {
            e.org_id == org_id
                && query.filters.iter().all(|f| {
                    let text = format!(
                        "{}\n{}\n{}",
                        e.action,
                        e.actor.name,
                        e.entity.name.clone().unwrap_or_default()
                    )
                    .to_lowercase();
                    (f.entity_types.is_empty() || f.entity_types.contains(&e.entity.entity_type))
                        && f.search_terms().iter().all(|t| text.contains(&t.to_lowercase()))
                })
        })
    }
}

#[async_trait]
impl AuditStore for MemoryStore {
    async fn list_events(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<TimelinePage, StoreError> {
        let mut rest = self
            .matching(org_id, query)
            .filter(|e| after.as_ref().is_none_or(|c| (e.occurred_at, e.id) < (c.occurred_at, c.id)))
            .cloned();
        let events: Vec<AuditEvent> = rest.by_ref().take(limit).collect();
        let next_cursor = match (rest.next(), events.last()) {
            (Some(_), Some(last)) => Some(Cursor { occurred_at: last.occurred_at, id: last.id }.encode()),
            _ => None,
        };
        // No chain here, so no live tail: the page says so with no head.
        Ok(TimelinePage { events, next_cursor, head_seq: None, partial: false })
    }

    async fn count_events(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        cap: u64,
    ) -> Result<EventCount, StoreError> {
        let n = self.matching(org_id, query).take(cap as usize + 1).count() as u64;
        Ok(EventCount { count: n.min(cap), capped: n > cap })
    }

    async fn actors(
        &self,
        _org_id: Uuid,
        _search: &str,
        _limit: usize,
    ) -> Result<Vec<ActorSummary>, StoreError> {
        Ok(Vec::new())
    }

    async fn record_neighbors(
        &self,
        _org_id: Uuid,
        _id: Uuid,
        _within: &EventQuery,
    ) -> Result<RecordNeighbors, StoreError> {
        Ok(RecordNeighbors::default())
    }

    async fn entity_types(&self, org_id: Uuid) -> Result<Vec<String>, StoreError> {
        let mut types: Vec<String> =
            self.events.iter().filter(|e| e.org_id == org_id).map(|e| e.entity.entity_type.clone()).collect();
        types.sort();
        types.dedup();
        Ok(types)
    }

    async fn chain_status(&self, _org_id: Uuid) -> Result<Option<ChainStatus>, StoreError> {
        Ok(None)
    }

    async fn verify_chain(&self, _org_id: Uuid) -> Result<ChainStatus, StoreError> {
        Err(StoreError::failed("this store keeps no hash chain"))
    }
}
