//! The signed checkpoints of a chain: each signature checked against a
//! trusted key, each hash against the chain at its seq.

use super::walk::Walk;
use super::*;

/// What checking the checkpoints found.
pub(super) struct Checks {
    /// Checkpoints that checked out.
    pub(super) count: i64,
    /// The last seq known good when `fault` is set: the latest checkpoint
    /// that agreed with the chain before it.
    pub(super) verified_through: i64,
    pub(super) fault: Option<ChainFault>,
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    seq: i64,
    hash: Vec<u8>,
    signed_at: DateTime<Utc>,
    key_id: String,
    signature: Vec<u8>,
    chain_hash: Option<Vec<u8>>,
}

pub(super) async fn check_checkpoints(
    conn: &mut PgConnection,
    org_id: Uuid,
    keys: &Keys,
    walk: &Walk,
) -> Result<Checks, sqlx::Error> {
    // Checkpoints past a broken link cannot change the first bad seq.
    let limit = walk.fault.as_ref().map_or(i64::MAX, |f| f.seq);
    // Streamed too: one checkpoint per thousand events is still many on a
    // large chain. The stored hash at a checkpoint's seq is the recomputed
    // one wherever the walk got to.
    let mut rows = sqlx::query_as::<_, CheckpointRow>(
        "SELECT c.seq, c.hash, c.signed_at, c.key_id, c.signature, e.hash AS chain_hash \
           FROM chain_checkpoints c \
           LEFT JOIN audit_events e ON e.org_id = c.org_id AND e.seq = c.seq \
          WHERE c.org_id = $1 AND c.seq < $2 \
          ORDER BY c.seq",
    )
    .bind(org_id)
    .bind(limit)
    .fetch(conn);
    let mut count = 0;
    let mut last_good = 0;
    while let Some(row) = rows.try_next().await? {
        let fault = |kind, reason: String| Checks {
            count,
            verified_through: last_good.max(0),
            fault: Some(ChainFault::new(row.seq, kind, reason)),
        };
        let (Ok(hash), Ok(signature)) =
            (<[u8; 32]>::try_from(row.hash.as_slice()), <[u8; 64]>::try_from(row.signature.as_slice()))
        else {
            return Ok(fault(
                FaultKind::Checkpoint,
                format!("the checkpoint at seq {} is malformed", row.seq),
            ));
        };
        let checkpoint = Checkpoint {
            org_id,
            seq: row.seq,
            hash,
            signed_at: row.signed_at,
            key_id: row.key_id,
            signature,
        };
        let key = match keys.lookup(&checkpoint.key_id) {
            Ok(key) => key,
            Err(why) => {
                return Ok(fault(
                    FaultKind::Checkpoint,
                    format!("the checkpoint at seq {} cannot be checked: {why}", row.seq),
                ));
            }
        };
        if !checkpoint.is_signed_by(key) {
            return Ok(fault(
                FaultKind::Checkpoint,
                format!(
                    "the signature of the checkpoint at seq {} is not valid: it was forged or changed",
                    row.seq
                ),
            ));
        }
        if row.seq > walk.verified_through {
            let end = walk.verified_through;
            return Ok(Checks {
                count,
                verified_through: last_good,
                fault: Some(ChainFault::new(
                    end + 1,
                    FaultKind::Deleted,
                    format!(
                        "a checkpoint was signed at seq {} but the chain ends at seq {end}: events were removed",
                        row.seq
                    ),
                )),
            });
        }
        if row.chain_hash.as_deref() != Some(hash.as_slice()) {
            return Ok(fault(
                FaultKind::Checkpoint,
                format!(
                    "the signed checkpoint at seq {} does not match the chain: events between seq {} and {} \
                     were changed and the chain recomputed after it was signed",
                    row.seq,
                    last_good + 1,
                    row.seq
                ),
            ));
        }
        count += 1;
        last_good = row.seq;
    }
    Ok(Checks { count, verified_through: last_good, fault: None })
}
