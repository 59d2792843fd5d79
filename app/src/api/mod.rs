//! The UI's API: server functions the browser calls, and (under `ssr`) the
//! ports they call into. Server functions stay thin: check who is asking,
//! call the store once, map the error. Every one of them checks the viewer's
//! permission on the server, whatever the UI shows or hides.

#[cfg(feature = "ssr")]
mod access;
#[cfg(feature = "ssr")]
mod admission;
mod dashboard;
#[cfg(feature = "ssr")]
mod gate;
mod oversight;
mod people;
#[cfg(feature = "ssr")]
mod store;

#[cfg(feature = "ssr")]
pub use access::{AccessControl, AccessError, Grant, Need, authorize};
#[cfg(feature = "ssr")]
pub use admission::{Admission, Busy, HEAVY_WAIT, Permit, Shares, Work, viewer_key};
#[cfg(feature = "ssr")]
pub use gate::{Full, Gate, Pass, default_slots};
#[cfg(feature = "ssr")]
pub use store::{AuditStore, StoreError, ViewerCache};

pub use dashboard::load_dashboard;
pub use oversight::load_oversight;
pub use people::{MAX_ACTOR_CHARS, load_person};

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{
    ActorSummary, ChainStatus, DemoAccount, EventCount, TimelineFilter, TimelinePage, Viewer,
};

/// How an embedded timeline names itself where an org slug goes:
/// `embed.<token id>`, the token itself riding in a cookie (the dot makes it
/// no valid slug).
pub const EMBED_REF_PREFIX: &str = "embed.";

/// One page of `org`'s timeline, newest first, of the events matching both
/// `filter` (the page's, from the URL) and `scope` (fixed by the page, e.g.
/// one record's history). `cursor` continues after a page returned earlier
/// with the same filters.
#[server(prefix = "/api/ui", endpoint = "timeline")]
pub async fn list_events(
    org: String,
    #[server(default)] filter: TimelineFilter,
    #[server(default)] scope: TimelineFilter,
    cursor: Option<String>,
    page_size: Option<usize>,
) -> Result<TimelinePage, AppError> {
    use crate::model::{Cursor, MAX_PAGE_SIZE, PAGE_SIZE};
    let (store, grant) = store::authorize(&org, Need::Read).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    let cursor = match cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| {
            store::fail(AppError::bad_request(
                "cursor",
                "not a cursor this server issued; reload the timeline",
            ))
        })?),
    };
    let query = grant.query([scope, filter]).map_err(store::fail)?;
    if query.is_empty_window() {
        return Ok(TimelinePage { events: Vec::new(), next_cursor: None, head_seq: None, partial: false });
    }
    let _permit = store::admit(Work::Read, org_id, viewer, query.is_costly()).await?;
    let limit = page_size.unwrap_or(PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
    let mut page = store.list_events(org_id, &query, cursor, limit).await.map_err(store::unavailable)?;
    if grant.is_scoped() {
        // The head is the whole org's chain position: how many events it
        // holds, and (followed live) when each lands. A scoped viewer is
        // told neither, so its page has no live tail.
        page.head_seq = None;
    }
    Ok(page)
}

/// The events of `org` matching `filter` and `scope` that were stored after
/// seq `after_seq` (a page's `head_seq`, or this function's last answer),
/// oldest first, for the live tail. Authorized exactly like
/// [`list_events`]: the live stream only says that something is new; what
/// is new is read here, under the viewer's permission and scope.
#[server(prefix = "/api/ui", endpoint = "events-since")]
pub async fn events_since(
    org: String,
    #[server(default)] filter: TimelineFilter,
    #[server(default)] scope: TimelineFilter,
    after_seq: i64,
) -> Result<crate::model::EventsSince, AppError> {
    use crate::model::{EventsSince, SINCE_BATCH};
    // Positions here are the org's chain (see `list_events`).
    let (store, grant) = store::authorize(&org, Need::ReadOrgWide).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    if after_seq < 0 {
        return Err(store::fail(AppError::bad_request("after_seq", "must be 0 or more")));
    }
    let query = grant.query([scope, filter]).map_err(store::fail)?;
    if query.is_empty_window() {
        return Ok(EventsSince { events: Vec::new(), head_seq: after_seq });
    }
    let _permit = store::admit(Work::Read, org_id, viewer, false).await?;
    let (events, head_seq) =
        store.events_since(org_id, &query, after_seq, SINCE_BATCH).await.map_err(store::unavailable)?;
    Ok(EventsSince { events, head_seq })
}

/// How many events of `org` match `filter`: exact up to
/// [`crate::model::COUNT_CAP`], then "more than that".
#[server(prefix = "/api/ui", endpoint = "count")]
pub async fn count_events(
    org: String,
    #[server(default)] filter: TimelineFilter,
    #[server(default)] scope: TimelineFilter,
) -> Result<EventCount, AppError> {
    use crate::model::COUNT_CAP;
    let (store, grant) = store::authorize(&org, Need::Read).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    let query = grant.query([scope, filter]).map_err(store::fail)?;
    if query.is_empty_window() {
        return Ok(EventCount { count: 0, capped: false });
    }
    let _permit = store::admit(Work::Count, org_id, viewer, true).await?;
    store.count_events(org_id, &query, COUNT_CAP).await.map_err(store::unavailable)
}

/// Actors of `org` whose name, email or id contains `search`, for the actor
/// filter.
#[server(prefix = "/api/ui", endpoint = "actors")]
pub async fn list_actors(org: String, search: String) -> Result<Vec<ActorSummary>, AppError> {
    let (store, grant) = store::authorize(&org, Need::Read).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    if grant.is_scoped() {
        // A scoped viewer (an embed) does not get to browse the org's people.
        return Ok(Vec::new());
    }
    // PostgreSQL text holds no NUL; a search with one finds nobody.
    let search: String = search.trim().chars().filter(|c| *c != '\0').take(100).collect();
    let _permit = store::admit(Work::Read, org_id, viewer, !search.is_empty()).await?;
    store.actors(org_id, &search, 50).await.map_err(store::unavailable)
}

/// The previous and next change to the record event `id` is about.
#[server(prefix = "/api/ui", endpoint = "record-neighbors")]
pub async fn adjacent_changes(
    org: String,
    id: uuid::Uuid,
) -> Result<crate::model::RecordNeighbors, AppError> {
    let (store, grant) = store::authorize(&org, Need::Read).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    // A scoped viewer (an embed) sees neighbours inside its scope only.
    let within = grant.query([]).map_err(store::fail)?;
    let _permit = store::admit(Work::Read, org_id, viewer, false).await?;
    store.record_neighbors(org_id, id, &within).await.map_err(store::unavailable)
}

/// The entity categories present in `org`'s log, for the filter menu.
#[server(prefix = "/api/ui", endpoint = "entity-types")]
pub async fn entity_types(org: String) -> Result<Vec<String>, AppError> {
    let (store, grant) = store::authorize(&org, Need::Read).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    if grant.is_scoped() {
        // A scoped viewer (an embed) is not told what else the log holds.
        return Ok(grant.viewer.scope.entity_types);
    }
    let _permit = store::admit(Work::Read, org_id, viewer, false).await?;
    store.entity_types(org_id).await.map_err(store::unavailable)
}

/// The latest verification of `org`'s hash chain (tamper evidence).
#[server(prefix = "/api/ui", endpoint = "chain-status")]
pub async fn latest_chain_status(org: String) -> Result<Option<ChainStatus>, AppError> {
    let (store, grant) = store::authorize(&org, Need::Read).await?;
    if grant.is_scoped() {
        // The chain is the whole org's log: its head and where it breaks
        // are beyond a scoped viewer's events.
        return Ok(None);
    }
    store.chain_status(grant.org_id).await.map_err(store::unavailable)
}

/// Verifies `org`'s hash chain now. Owners and admins only: it reads the
/// whole log.
#[server(prefix = "/api/ui", endpoint = "verify-chain")]
pub async fn verify_chain(org: String) -> Result<ChainStatus, AppError> {
    let (store, grant) = store::authorize(&org, Need::Verify).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    let _permit = store::admit(Work::Verify, org_id, viewer, false).await?;
    store.verify_chain(org_id).await.map_err(store::unavailable)
}

/// Who is looking at `org`: for the header, the org menu and the
/// permission message. Needs a session and membership, not the permission.
#[server(prefix = "/api/ui", endpoint = "viewer")]
pub async fn current_viewer(org: String) -> Result<Viewer, AppError> {
    store::authorize(&org, Need::Member).await.map(|(_, grant)| grant.viewer)
}

/// Demo accounts to sign in with; empty outside demo mode.
#[server(prefix = "/api/ui", endpoint = "demo-accounts")]
pub async fn demo_accounts() -> Result<Vec<DemoAccount>, AppError> {
    let access = use_context::<std::sync::Arc<dyn AccessControl>>().ok_or(AppError::Unavailable)?;
    Ok(access.demo_accounts().await)
}
