//! The append-only audit store on PostgreSQL.
//!
//! Reads are keyset-paginated on `(org_id, occurred_at DESC, id DESC)`;
//! writes only ever INSERT (single, batched or COPY). The SQL sits beside the
//! code that runs it.

pub mod actor_counts;
mod copy;
pub mod export;
pub mod filter_sql;
mod group;
mod insert;
mod orgs;
pub mod priority_rules;
pub mod rollups;
pub mod search_index;
pub mod server_health;
mod stored_json;
pub mod tenant;
mod timeline;

mod api_keys;
mod idempotency;

use sqlx::PgPool;

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

/// [`AuditStore`](app::api::AuditStore) on PostgreSQL, implemented beside
/// its queries (`timeline/port.rs`). Give it the app pool (connections
/// acting as `audit_app`).
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
