//! The append-only audit store on PostgreSQL.
//!
//! Reads are keyset-paginated on `(org_id, occurred_at DESC, id DESC)`;
//! writes only ever INSERT (single, batched or COPY). The SQL sits beside the
//! code that runs it.

mod copy;
mod insert;
mod orgs;
mod timeline;

use app::api::{AuditStore, StoreError};
use app::model::{Cursor, TimelineFilter, TimelinePage};
use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

pub use copy::copy_events;
pub use insert::{insert_events, insert_events_in};
pub use orgs::{Org, ensure_org, find_org, first_org};

/// [`AuditStore`] on PostgreSQL. Give it the app pool (connections acting as
/// `audit_app`).
#[derive(Clone)]
pub struct PgAuditStore {
    pool: PgPool,
}

impl PgAuditStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl AuditStore for PgAuditStore {
    async fn list_events(
        &self,
        org_id: Uuid,
        filter: &TimelineFilter,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<TimelinePage, StoreError> {
        timeline::list_events(&self.pool, org_id, filter, after, limit).await.map_err(store_error)
    }

    async fn entity_types(&self, org_id: Uuid) -> Result<Vec<String>, StoreError> {
        timeline::entity_types(&self.pool, org_id).await.map_err(store_error)
    }
}

fn store_error(err: sqlx::Error) -> StoreError {
    StoreError(err.to_string())
}
