use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{ChainStatus, Cursor, TimelineFilter, TimelinePage, Viewer};

/// The port the server functions call: where audit events are read from.
/// `server` implements it on PostgreSQL; an embedding application may bring
/// its own. It is handed over through Leptos context as `Arc<dyn AuditStore>`.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Up to `limit` events of `org_id` matching `filter`, newest first,
    /// strictly after `after` when given.
    async fn list_events(
        &self,
        org_id: Uuid,
        filter: &TimelineFilter,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<TimelinePage, StoreError>;

    /// The distinct entity categories in `org_id`'s log, sorted.
    async fn entity_types(&self, org_id: Uuid) -> Result<Vec<String>, StoreError>;

    /// The latest recorded verification of `org_id`'s hash chain, if any.
    async fn chain_status(&self, org_id: Uuid) -> Result<Option<ChainStatus>, StoreError>;

    /// Re-walks `org_id`'s hash chain now and records the result.
    async fn verify_chain(&self, org_id: Uuid) -> Result<ChainStatus, StoreError>;
}

/// A failure inside a store. Its text is for the server's log only.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// The store, the org id and the viewer for a request about `org_slug`,
/// once the session and membership are checked, and with `need_view`, the
/// View Audit Log permission.
pub(super) async fn authorize(
    org_slug: &str,
    need_view: bool,
) -> Result<(Arc<dyn AuditStore>, Uuid, Viewer), AppError> {
    use super::AccessControl;
    let (Some(store), Some(access), Some(parts)) = (
        use_context::<Arc<dyn AuditStore>>(),
        use_context::<Arc<dyn AccessControl>>(),
        use_context::<http::request::Parts>(),
    ) else {
        tracing::error!("the server did not provide the audit store, access control and request");
        return Err(fail(AppError::Unavailable));
    };
    let cache = use_context::<ViewerCache>();
    let cached = cache.as_ref().and_then(|c| c.get(org_slug));
    let (viewer, org_id) = match cached {
        Some(found) => found,
        None => {
            let found = resolve(access.as_ref(), &parts, org_slug).await?;
            if let Some(cache) = &cache {
                cache.put(org_slug, &found);
            }
            found
        }
    };
    if need_view && !viewer.role.can_view_audit_log() {
        return Err(fail(AppError::Forbidden(format!(
            "You need the View Audit Log permission to see {org}'s audit log. It comes with the Owner, \
             Admin and Developer roles; your role is {role}. Ask an owner of {org} for access.",
            org = viewer.org.name,
            role = viewer.role.label(),
        ))));
    }
    Ok((store, org_id, viewer))
}

/// The viewer of `org_slug` from the access port, with its errors mapped.
async fn resolve(
    access: &dyn super::AccessControl,
    parts: &http::request::Parts,
    org_slug: &str,
) -> Result<(Viewer, Uuid), AppError> {
    use super::AccessError;
    access.viewer(parts, org_slug).await.map_err(|e| {
        fail(match e {
            AccessError::Unauthenticated => AppError::Unauthenticated,
            AccessError::NoSuchOrg => {
                AppError::NotFound(format!("there is no org '{org_slug}' you belong to"))
            }
            AccessError::Unavailable(detail) => {
                tracing::error!("access control: {detail}");
                AppError::Unavailable
            }
        })
    })
}

/// Viewers already resolved in this request. A server-rendered page calls
/// several server functions (viewer, first page, entity types, chain state);
/// without this each would look the session and memberships up again. The
/// server provides a fresh one per request, so nothing outlives it.
#[derive(Clone, Default)]
pub struct ViewerCache(Arc<std::sync::Mutex<Vec<(String, Viewer, Uuid)>>>);

impl ViewerCache {
    fn get(&self, org_slug: &str) -> Option<(Viewer, Uuid)> {
        let entries = self.0.lock().ok()?;
        entries.iter().find(|(slug, ..)| slug == org_slug).map(|(_, v, id)| (v.clone(), *id))
    }

    fn put(&self, org_slug: &str, found: &(Viewer, Uuid)) {
        if let Ok(mut entries) = self.0.lock() {
            entries.push((org_slug.to_string(), found.0.clone(), found.1));
        }
    }
}

/// Sets the HTTP status of the server function's response to match `err`
/// (server functions would otherwise answer every error with a 500).
pub(super) fn fail(err: AppError) -> AppError {
    if let (Some(res), Ok(status)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(err.status()))
    {
        res.set_status(status);
    }
    err
}

pub(super) fn unavailable(err: StoreError) -> AppError {
    tracing::error!("audit store error: {err}");
    fail(AppError::Unavailable)
}
