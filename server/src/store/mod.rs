//! The append-only audit store on PostgreSQL.
//!
//! Reads are keyset-paginated on `(org_id, occurred_at DESC, id DESC)`;
//! writes only ever INSERT (single, batched or COPY). The SQL sits beside the
//! code that runs it.

mod copy;
pub mod export;
pub mod filter_sql;
mod group;
mod insert;
mod orgs;
pub mod search_index;
mod stored_json;
pub mod tenant;
mod timeline;

mod api_keys;
mod idempotency;

use app::api::{AuditStore, StoreError};
use app::model::{
    ActorSummary, AuditEvent, ChainStatus, Cursor, EventCount, EventQuery, RecordNeighbors, TimelinePage,
};
use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

pub use copy::copy_events;
pub use group::{GroupWriter, KeyClaim, MAX_GROUP_EVENTS, WriteError, Written};
pub use insert::{PreparedEvent, insert_events, insert_events_in, insert_prepared_in, prepare};
pub use orgs::{Org, all_orgs, ensure_org, find_org, first_org, org_by_id};
pub use timeline::{
    SINCE_SCAN_WINDOW, events_since_within, head_seq, list_events_within, page_plan, page_statement,
};

pub use api_keys::{
    ApiKeyAuth, ApiKeyError, ApiKeyInfo, KEY_PREFIX, authenticate_api_key, cli_actor, create_api_key,
    hash_secret, list_api_keys, revoke_api_key, viewer_token_org,
};
pub use idempotency::{IdempotencyRecord, claim_idempotency_key, find_idempotency_record};

/// [`AuditStore`] on PostgreSQL. Give it the app pool (connections acting as
/// `audit_app`).
#[derive(Clone)]
pub struct PgAuditStore {
    pool: PgPool,
    /// The keys whose checkpoints "Verify now" trusts; none: no checkpoint
    /// counts.
    trusted_keys: crate::chain::TrustedKeys,
}

impl PgAuditStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, trusted_keys: Default::default() }
    }

    /// Trust checkpoints signed by these keys (the server's own and the
    /// operator's list), never the database's list of keys.
    pub fn with_trusted_keys(mut self, keys: crate::chain::TrustedKeys) -> Self {
        self.trusted_keys = keys;
        self
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
        query: &EventQuery,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<TimelinePage, StoreError> {
        timeline::list_events(&self.pool, org_id, query, after, limit).await.map_err(store_error)
    }

    async fn events_since(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        after_seq: i64,
        limit: usize,
    ) -> Result<(Vec<AuditEvent>, i64), StoreError> {
        timeline::events_since(&self.pool, org_id, query, after_seq, limit).await.map_err(store_error)
    }

    async fn count_events(
        &self,
        org_id: Uuid,
        query: &EventQuery,
        cap: u64,
    ) -> Result<EventCount, StoreError> {
        timeline::count_events(&self.pool, org_id, query, cap).await.map_err(store_error)
    }

    async fn actors(
        &self,
        org_id: Uuid,
        search: &str,
        limit: usize,
    ) -> Result<Vec<ActorSummary>, StoreError> {
        timeline::actors(&self.pool, org_id, search, limit).await.map_err(store_error)
    }

    async fn record_neighbors(
        &self,
        org_id: Uuid,
        id: Uuid,
        within: &EventQuery,
    ) -> Result<RecordNeighbors, StoreError> {
        timeline::record_neighbors(&self.pool, org_id, id, within).await.map_err(store_error)
    }

    async fn entity_types(&self, org_id: Uuid) -> Result<Vec<String>, StoreError> {
        timeline::entity_types(&self.pool, org_id).await.map_err(store_error)
    }

    async fn chain_status(&self, org_id: Uuid) -> Result<Option<ChainStatus>, StoreError> {
        let report = crate::chain::latest_verification(&self.pool, org_id).await.map_err(store_error)?;
        Ok(report.map(|r| r.status()))
    }

    async fn verify_chain(&self, org_id: Uuid) -> Result<ChainStatus, StoreError> {
        let report = crate::chain::verify_org_trusting(&self.pool, org_id, &self.trusted_keys)
            .await
            .map_err(store_error)?;
        Ok(report.status())
    }
}

fn store_error(err: sqlx::Error) -> StoreError {
    if tenant::is_timeout(&err) { StoreError::TimedOut } else { StoreError::failed(err) }
}
