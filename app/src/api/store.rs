use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{Cursor, TimelineFilter, TimelinePage};

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
}

/// A failure inside a store. Its text is for the server's log only.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Whose log the current request may read. Provided through context by the
/// server for every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewerScope {
    pub org_id: Uuid,
}

pub(super) fn from_context() -> Result<(Arc<dyn AuditStore>, ViewerScope), AppError> {
    match (use_context::<Arc<dyn AuditStore>>(), use_context::<ViewerScope>()) {
        (Some(store), Some(scope)) => Ok((store, scope)),
        _ => {
            tracing::error!("the server did not provide an audit store and viewer scope");
            Err(fail(AppError::Unavailable))
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
