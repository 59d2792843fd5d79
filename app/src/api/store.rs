use std::sync::Arc;

use async_trait::async_trait;
use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{
    ActorSummary, AuditEvent, ChainStatus, Cursor, EventCount, EventQuery, RecordNeighbors, TimelinePage,
    Viewer,
};

/// The port the server functions call: where audit events are read from.
/// `server` implements it on PostgreSQL; an embedding application may bring
/// its own. It is handed over through Leptos context as `Arc<dyn AuditStore>`.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Up to `limit` events of `org_id` matching `query`, newest first,
    /// strictly after `after` when given.
    async fn list_events(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<TimelinePage, StoreError>;

    /// Events of `org_id` matching `query` stored after seq `after_seq`,
    /// oldest first, at most `limit`, and the seq through which that answer
    /// is complete: continue from it to miss nothing and repeat nothing.
    /// Starting from a page's [`TimelinePage::head_seq`] gives exactly the
    /// events stored since the page was read. A store whose pages carry no
    /// `head_seq` never gets this call; the default finds nothing.
    async fn events_since(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        after_seq: i64,
        limit: usize,
    ) -> Result<(Vec<AuditEvent>, i64), StoreError> {
        let _ = (org_id, query, limit);
        Ok((Vec::new(), after_seq))
    }

    /// How many events match `query`, counting no further than `cap`.
    async fn count_events(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        cap: u64,
    ) -> Result<EventCount, StoreError>;

    /// Up to `limit` actors of `org_id` whose name, email or id contains
    /// `search` (all when empty), by name.
    async fn actors(&self, org_id: Uuid, search: &str, limit: usize)
    -> Result<Vec<ActorSummary>, StoreError>;

    /// The changes to the same record just before and just after event `id`,
    /// among the events `within` admits (nothing if it does not admit `id`).
    async fn record_neighbors(
        &self,
        org_id: Uuid,
        id: Uuid,
        within: &EventQuery,
    ) -> Result<RecordNeighbors, StoreError>;

    /// The distinct entity categories in `org_id`'s log, sorted.
    async fn entity_types(&self, org_id: Uuid) -> Result<Vec<String>, StoreError>;

    /// Events of `org_id`'s whole log per category (in
    /// [`Category::ALL`](crate::model::Category::ALL) order) in each span
    /// `[bounds[i], bounds[i + 1])`; `bounds` ascending. For the dashboard;
    /// a store that keeps no counts says so.
    async fn span_counts(
        &self,
        org_id: Uuid,
        bounds: &[chrono::DateTime<chrono::Utc>],
    ) -> Result<Vec<Vec<u64>>, StoreError> {
        let _ = (org_id, bounds);
        Err(StoreError::failed("this store keeps no counts"))
    }

    /// How many events `org_id`'s log holds, and their stored bytes.
    async fn log_totals(&self, org_id: Uuid) -> Result<(u64, u64), StoreError> {
        let _ = org_id;
        Err(StoreError::failed("this store keeps no counts"))
    }

    /// One actor's counts over whole UTC days `days` (`[from, until)`): all
    /// events, those matching each of `measures` (timeline action terms),
    /// and the `modules` busiest record types. For the people page; a store
    /// that keeps no counts says so.
    async fn actor_counts(
        &self,
        org_id: Uuid,
        actor_id: &str,
        days: (chrono::NaiveDate, chrono::NaiveDate),
        measures: &[Vec<String>],
        modules: usize,
    ) -> Result<crate::model::people::ActorCounts, StoreError> {
        let _ = (org_id, actor_id, days, measures, modules);
        Err(StoreError::failed("this store keeps no counts"))
    }

    /// The server's own health since `since`, as its processes measured it;
    /// `None` from a store that keeps none.
    async fn server_health(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::model::oversight::ServerHealth>, StoreError> {
        let _ = since;
        Ok(None)
    }

    /// The latest recorded verification of `org_id`'s hash chain, if any.
    async fn chain_status(&self, org_id: Uuid) -> Result<Option<ChainStatus>, StoreError>;

    /// Re-walks `org_id`'s hash chain now and records the result.
    async fn verify_chain(&self, org_id: Uuid) -> Result<ChainStatus, StoreError>;
}

/// A failure inside a store. Its text is for the server's log only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Failed(String),
    /// The read ran past its time limit and was cancelled.
    #[error("the read ran past its time limit")]
    TimedOut,
}

impl StoreError {
    pub fn failed(detail: impl std::fmt::Display) -> StoreError {
        StoreError::Failed(detail.to_string())
    }
}

/// The store and the [`Grant`](super::Grant) for a server function's
/// request about `org_slug`: the request's viewer, checked by the one
/// authorization boundary for `need`.
pub(super) async fn authorize(
    org_slug: &str,
    need: super::Need,
) -> Result<(Arc<dyn AuditStore>, super::Grant), AppError> {
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
    let grant = match cache.as_ref().and_then(|c| c.get(org_slug)) {
        Some(grant) => super::access::permit(grant, need),
        None => {
            // Resolved for the least need, so the cache serves every later
            // call of the request whatever it asks.
            let found = super::authorize(access.as_ref(), &parts, org_slug, super::Need::Member).await;
            if let (Some(cache), Ok(grant)) = (&cache, &found) {
                cache.put(org_slug, grant);
            }
            found.and_then(|grant| super::access::permit(grant, need))
        }
    };
    Ok((store, grant.map_err(fail)?))
}

/// Viewers already resolved in this request. A server-rendered page calls
/// several server functions (viewer, first page, entity types, chain state);
/// without this each would look the session and memberships up again. The
/// server provides a fresh one per request, so nothing outlives it.
#[derive(Clone, Default)]
pub struct ViewerCache(Arc<std::sync::Mutex<Vec<(String, super::Grant)>>>);

impl ViewerCache {
    fn get(&self, org_slug: &str) -> Option<super::Grant> {
        let entries = self.0.lock().ok()?;
        entries.iter().find(|(slug, _)| slug == org_slug).map(|(_, grant)| grant.clone())
    }

    fn put(&self, org_slug: &str, grant: &super::Grant) {
        if let Ok(mut entries) = self.0.lock() {
            entries.push((org_slug.to_string(), grant.clone()));
        }
    }
}

/// Sets the HTTP status of the server function's response to match `err`
/// (server functions would otherwise answer every error with a 500), and
/// for a 429 the `Retry-After` it promises.
pub(super) fn fail(err: AppError) -> AppError {
    if let (Some(res), Ok(status)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(err.status()))
    {
        res.set_status(status);
        if let AppError::Busy { retry_after, .. } = &err {
            res.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(*retry_after));
        }
    }
    err
}

pub(super) fn unavailable(err: StoreError) -> AppError {
    match err {
        StoreError::TimedOut => fail(AppError::TooSlow(
            "This view took too long to read and was stopped. Narrow it with a date range, a type or a \
             person, or use a longer search term."
                .into(),
        )),
        StoreError::Failed(detail) => {
            tracing::error!("audit store error: {detail}");
            fail(AppError::Unavailable)
        }
    }
}

/// A permit for `work` by `viewer` in `org_id` from the process's
/// [`Admission`](super::Admission), or the 429 that says to come back later.
/// An expensive read (`costly`: a search, a count) also waits its org's
/// turn at the process's gate for expensive reads. Without an admission in
/// context (an embedding host that provides none), everything is admitted.
pub(super) async fn admit(
    work: super::Work,
    org_id: Uuid,
    viewer: &Viewer,
    costly: bool,
) -> Result<Option<super::Permit>, AppError> {
    let Some(admission) = use_context::<super::Admission>() else { return Ok(None) };
    let who = super::viewer_key(viewer);
    let admitted = if costly {
        admission.admit_heavy(work, org_id, &who).await
    } else {
        admission.admit_as(work, org_id, &who)
    };
    admitted
        .map(Some)
        .map_err(|busy| fail(AppError::Busy { message: busy.message, retry_after: busy.retry_after }))
}
