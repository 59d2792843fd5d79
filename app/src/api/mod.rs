//! The UI's API: server functions the browser calls, and (under `ssr`) the
//! port they call into. Server functions stay thin: parse, scope, call the
//! store once, map the error.

#[cfg(feature = "ssr")]
mod store;

#[cfg(feature = "ssr")]
pub use store::{AuditStore, StoreError, ViewerScope};

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{TimelineFilter, TimelinePage};

/// One page of the timeline, newest first. `cursor` continues after a page
/// returned earlier with the same filter.
#[server(prefix = "/api/ui", endpoint = "timeline")]
pub async fn list_events(filter: TimelineFilter, cursor: Option<String>) -> Result<TimelinePage, AppError> {
    use crate::model::{Cursor, PAGE_SIZE};
    let (store, scope) = store::from_context()?;
    let cursor = match cursor.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| {
            store::fail(AppError::bad_request(
                "cursor",
                "not a cursor this server issued; reload the timeline",
            ))
        })?),
    };
    store.list_events(scope.org_id, &filter.normalized(), cursor, PAGE_SIZE).await.map_err(store::unavailable)
}

/// The entity categories present in the viewer's log, for the filter menu.
#[server(prefix = "/api/ui", endpoint = "entity-types")]
pub async fn entity_types() -> Result<Vec<String>, AppError> {
    let (store, scope) = store::from_context()?;
    store.entity_types(scope.org_id).await.map_err(store::unavailable)
}
