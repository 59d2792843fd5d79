//! Idempotency records: the first answer to a request sent with an
//! `Idempotency-Key`, kept so a retry gets the same answer and writes nothing.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The stored first answer to a keyed request.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotencyRecord {
    /// SHA-256 of the first request's raw body.
    pub request_hash: Vec<u8>,
    /// HTTP status of the first answer.
    pub status: u16,
    /// JSON body of the first answer.
    pub response: Value,
}

/// The record for `key` in `org_id`, if a request with that key has been
/// answered (committed).
pub async fn find_idempotency_record(
    pool: &PgPool,
    org_id: Uuid,
    key: &str,
) -> Result<Option<IdempotencyRecord>, sqlx::Error> {
    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    let row = sqlx::query!(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE org_id = $1 AND key = $2",
        org_id,
        key,
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|row| IdempotencyRecord {
        request_hash: row.request_hash,
        // Only this module writes the column, from a u16 status.
        status: u16::try_from(row.status).unwrap_or(500),
        response: row.response,
    }))
}

/// Records the answer to a keyed request, inside the caller's transaction
/// (the one that writes what the answer reports). Returns false when another
/// request already holds the key: then the caller rolls back and answers
/// from that request's record.
///
/// Call it before doing the work: a concurrent request with the same key
/// waits here on the primary key until this transaction ends, then finds
/// the key taken (commit) or takes it itself (rollback). So two racing
/// retries never both write.
pub async fn claim_idempotency_key(
    conn: &mut PgConnection,
    org_id: Uuid,
    key: &str,
    request_hash: &[u8],
    status: u16,
    response: &Value,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO idempotency_keys (org_id, key, request_hash, status, response) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, key) DO NOTHING",
        org_id,
        key,
        request_hash,
        i16::try_from(status).unwrap_or(i16::MAX),
        response,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
