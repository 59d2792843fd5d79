//! The UI's API: server functions the browser calls, and (under `ssr`) the
//! ports they call into. Server functions stay thin: check who is asking,
//! call the store once, map the error. Every one of them checks the viewer's
//! permission on the server, whatever the UI shows or hides.

#[cfg(feature = "ssr")]
mod access;
#[cfg(feature = "ssr")]
mod store;

#[cfg(feature = "ssr")]
pub use access::{AccessControl, AccessError};
#[cfg(feature = "ssr")]
pub use store::{AuditStore, StoreError, ViewerCache};

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{ChainStatus, DemoAccount, TimelineFilter, TimelinePage, Viewer};

/// One page of `org`'s timeline, newest first. `cursor` continues after a
/// page returned earlier with the same filter.
#[server(prefix = "/api/ui", endpoint = "timeline")]
pub async fn list_events(
    org: String,
    filter: TimelineFilter,
    cursor: Option<String>,
) -> Result<TimelinePage, AppError> {
    use crate::model::{Cursor, PAGE_SIZE};
    let (store, org_id, _) = store::authorize(&org, true).await?;
    let cursor = match cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| {
            store::fail(AppError::bad_request(
                "cursor",
                "not a cursor this server issued; reload the timeline",
            ))
        })?),
    };
    store.list_events(org_id, &filter.normalized(), cursor, PAGE_SIZE).await.map_err(store::unavailable)
}

/// The entity categories present in `org`'s log, for the filter menu.
#[server(prefix = "/api/ui", endpoint = "entity-types")]
pub async fn entity_types(org: String) -> Result<Vec<String>, AppError> {
    let (store, org_id, _) = store::authorize(&org, true).await?;
    store.entity_types(org_id).await.map_err(store::unavailable)
}

/// The latest verification of `org`'s hash chain (tamper evidence).
#[server(prefix = "/api/ui", endpoint = "chain-status")]
pub async fn latest_chain_status(org: String) -> Result<Option<ChainStatus>, AppError> {
    let (store, org_id, _) = store::authorize(&org, true).await?;
    store.chain_status(org_id).await.map_err(store::unavailable)
}

/// Verifies `org`'s hash chain now. Owners and admins only: it reads the
/// whole log.
#[server(prefix = "/api/ui", endpoint = "verify-chain")]
pub async fn verify_chain(org: String) -> Result<ChainStatus, AppError> {
    use crate::model::Role;
    let (store, org_id, viewer) = store::authorize(&org, true).await?;
    if !matches!(viewer.role, Role::Owner | Role::Admin) {
        return Err(store::fail(AppError::Forbidden(
            "Only owners and admins can run a verification.".into(),
        )));
    }
    store.verify_chain(org_id).await.map_err(store::unavailable)
}

/// Who is looking at `org`: for the header, the org menu and the
/// permission message. Needs a session and membership, not the permission.
#[server(prefix = "/api/ui", endpoint = "viewer")]
pub async fn current_viewer(org: String) -> Result<Viewer, AppError> {
    store::authorize(&org, false).await.map(|(_, _, viewer)| viewer)
}

/// Demo accounts to sign in with; empty outside demo mode.
#[server(prefix = "/api/ui", endpoint = "demo-accounts")]
pub async fn demo_accounts() -> Result<Vec<DemoAccount>, AppError> {
    let access = use_context::<std::sync::Arc<dyn AccessControl>>().ok_or(AppError::Unavailable)?;
    Ok(access.demo_accounts().await)
}
