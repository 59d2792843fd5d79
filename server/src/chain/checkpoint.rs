//! Signed checkpoints: the server's signature on "org X's chain had hash H
//! at seq N at time T".
//!
//! The signed message is the UTF-8 text
//!
//! ```text
//! audit-checkpoint:v1:{org_id}:{seq}:{hash}:{signed_at}
//! ```
//!
//! with `org_id` a lower-case hyphenated UUID, `seq` in decimal, `hash` the
//! chain hash at `seq` in lower-case hex, and `signed_at` RFC 3339 in UTC
//! with six fractional digits and `Z`, e.g.
//! `audit-checkpoint:v1:0190...0001:1000:9f86d0...:2026-01-15T09:00:00.000000Z`.
//!
//! Anyone can recompute a chain; only the key holder can sign. A rewrite of
//! events before a checkpoint therefore shows as a checkpoint that disagrees
//! with the chain, and a removal of the last events as a checkpoint beyond
//! the chain's end. Events after the latest checkpoint are protected by the
//! chain alone, which is why checkpoints are taken often.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::ChainSigner;
use super::canonical::canonical_time;

/// Sign a checkpoint once an org's chain is this many events past its last one.
pub const CHECKPOINT_EVERY: i64 = 1000;
/// ... or once its oldest unsigned event is this old.
pub const CHECKPOINT_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// How often [`spawn_checkpointer`] looks for orgs that are due.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(10);

/// One signed checkpoint, as stored in `chain_checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub org_id: Uuid,
    pub seq: i64,
    pub hash: [u8; 32],
    pub signed_at: DateTime<Utc>,
    pub key_id: String,
    pub signature: [u8; 64],
}

impl Checkpoint {
    /// Signs the chain of `org_id` at `seq`, whose hash is `hash`.
    /// `signed_at` is truncated to microseconds, what the database keeps.
    pub fn sign(
        signer: &ChainSigner,
        org_id: Uuid,
        seq: i64,
        hash: [u8; 32],
        signed_at: DateTime<Utc>,
    ) -> Self {
        let signed_at = signed_at.trunc_subsecs(6);
        let signature = signer.sign(checkpoint_message(org_id, seq, &hash, signed_at).as_bytes());
        Checkpoint { org_id, seq, hash, signed_at, key_id: signer.key_id().to_string(), signature }
    }

    /// The text that was signed.
    pub fn message(&self) -> String {
        checkpoint_message(self.org_id, self.seq, &self.hash, self.signed_at)
    }

    /// Whether `key` signed exactly this checkpoint.
    pub fn is_signed_by(&self, key: &VerifyingKey) -> bool {
        key.verify_strict(self.message().as_bytes(), &Signature::from_bytes(&self.signature)).is_ok()
    }
}

/// The message a checkpoint's signature covers (see the module docs).
pub fn checkpoint_message(org_id: Uuid, seq: i64, hash: &[u8; 32], signed_at: DateTime<Utc>) -> String {
    format!(
        "audit-checkpoint:v1:{}:{seq}:{}:{}",
        org_id.hyphenated(),
        hex::encode(hash),
        canonical_time(signed_at)
    )
}

/// Signs a checkpoint at the current head of every org whose head is at
/// least `every_n` events past its last checkpoint, or whose first unsigned
/// event was received `max_age` ago or earlier. Returns the checkpoints
/// written (none when nothing was due). The signer's key must be registered
/// ([`ChainSigner::register`], by the owner) before.
///
/// Safe to run from several processes: a checkpoint another one wrote first
/// is kept and not returned. The head is read without locking it: a head row
/// is only ever written together with the events up to it, so what is read
/// is a chain end that is committed.
///
/// Each org is looked at in a transaction scoped to it, like every other
/// read under row-level security (FORCEd, so the owner is bound too unless
/// it bypasses it): any pool works, the app role's included.
pub async fn checkpoint_due(
    pool: &PgPool,
    signer: &ChainSigner,
    every_n: i64,
    max_age: Duration,
) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let orgs: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM orgs ORDER BY id").fetch_all(pool).await?;
    let mut written = Vec::new();
    for org_id in orgs {
        if let Some(checkpoint) = checkpoint_org_if_due(pool, signer, org_id, every_n, max_age).await? {
            written.push(checkpoint);
        }
    }
    Ok(written)
}

async fn checkpoint_org_if_due(
    pool: &PgPool,
    signer: &ChainSigner,
    org_id: Uuid,
    every_n: i64,
    max_age: Duration,
) -> Result<Option<Checkpoint>, sqlx::Error> {
    let mut tx = crate::store::tenant::begin_for_org(pool, org_id).await?;
    // One probe of the head, of the last checkpoint, and (only when behind
    // by fewer than every_n) of the event just after it.
    let due: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT h.seq, h.hash \
           FROM chain_heads h \
           LEFT JOIN LATERAL (SELECT c.seq FROM chain_checkpoints c \
                               WHERE c.org_id = h.org_id ORDER BY c.seq DESC LIMIT 1) last ON true \
          WHERE h.org_id = $3 AND h.seq > coalesce(last.seq, 0) \
            AND (h.seq - coalesce(last.seq, 0) >= $1 \
                 OR (SELECT e.received_at FROM audit_events e \
                      WHERE e.org_id = h.org_id AND e.seq = coalesce(last.seq, 0) + 1) \
                    <= now() - $2::float8 * interval '1 second')",
    )
    .bind(every_n.max(1))
    .bind(max_age.as_secs_f64())
    .bind(org_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((seq, hash)) = due else {
        tx.commit().await?;
        return Ok(None);
    };
    let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
        tracing::warn!(%org_id, seq, "chain head hash is not 32 bytes; not signing it");
        tx.commit().await?;
        return Ok(None);
    };
    let checkpoint = Checkpoint::sign(signer, org_id, seq, hash, Utc::now());
    let inserted = sqlx::query!(
        "INSERT INTO chain_checkpoints (org_id, seq, hash, signed_at, key_id, signature) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, seq) DO NOTHING",
        checkpoint.org_id,
        checkpoint.seq,
        checkpoint.hash.as_slice(),
        checkpoint.signed_at,
        checkpoint.key_id,
        checkpoint.signature.as_slice(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok((inserted == 1).then_some(checkpoint))
}

/// The action a checkpoint is recorded under in its org's log.
pub const CHECKPOINT_ACTION: &str = "audit_log.checkpoint";

/// Records a signed checkpoint as a system event of its org's log, so the
/// product's own background work shows in the system view. Only when the
/// span it signs holds an event other than a checkpoint's record: otherwise
/// each record would call for a checkpoint of its own, forever.
pub async fn record(pool: &PgPool, c: &Checkpoint) -> Result<bool, sqlx::Error> {
    let mut tx = crate::store::tenant::begin_for_org(pool, c.org_id).await?;
    let worth: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_events e \
                         WHERE e.org_id = $1 AND e.seq <= $2 AND e.action <> $3 \
                           AND e.seq > coalesce((SELECT max(k.seq) FROM chain_checkpoints k \
                                                  WHERE k.org_id = $1 AND k.seq < $2), 0))",
    )
    .bind(c.org_id)
    .bind(c.seq)
    .bind(CHECKPOINT_ACTION)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if !worth {
        return Ok(false);
    }
    let actor = app::model::Actor {
        kind: app::model::ActorKind::System,
        id: "checkpointer".into(),
        name: "Checkpointer".into(),
        email: None,
        avatar: None,
    };
    let entity = crate::self_audit::entity("audit_log", c.org_id, "Audit log");
    let event = app::model::NewAuditEvent {
        metadata: serde_json::json!({ "status": "success", "seq": c.seq, "key_id": c.key_id }),
        ..crate::self_audit::event(c.org_id, actor, CHECKPOINT_ACTION, entity)
    };
    crate::store::insert_events(pool, &[event]).await?;
    Ok(true)
}

/// Runs [`checkpoint_due`] every [`CHECKPOINT_INTERVAL`] with the default
/// thresholds, for as long as the task lives. Failures are logged and
/// retried on the next tick.
pub fn spawn_checkpointer(pool: PgPool, signer: ChainSigner) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match checkpoint_due(&pool, &signer, CHECKPOINT_EVERY, CHECKPOINT_MAX_AGE).await {
                Ok(written) => {
                    for c in written {
                        tracing::debug!(org_id = %c.org_id, seq = c.seq, key_id = %c.key_id, "signed checkpoint");
                        if let Err(err) = record(&pool, &c).await {
                            tracing::warn!(%err, org_id = %c.org_id, "recording a checkpoint in the log failed");
                        }
                    }
                }
                Err(err) => tracing::warn!(%err, "signing checkpoints failed; retrying"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_signed_message_is_the_documented_text() {
        let at =
            Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap() + chrono::Duration::nanoseconds(1_234_567);
        let org = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        let signer = ChainSigner::from_seed([3; 32]);
        let c = Checkpoint::sign(&signer, org, 1000, [0xab; 32], at);
        assert_eq!(
            c.message(),
            format!(
                "audit-checkpoint:v1:01900000-0000-7000-8000-000000000001:1000:{}:2026-01-15T09:00:00.001234Z",
                "ab".repeat(32)
            )
        );
        assert!(c.is_signed_by(&signer.verifying_key()));
        assert!(!c.is_signed_by(&ChainSigner::from_seed([4; 32]).verifying_key()));
        for tampered in [
            Checkpoint { seq: 1001, ..c.clone() },
            Checkpoint { hash: [0xac; 32], ..c.clone() },
            Checkpoint { org_id: Uuid::from_u128(2), ..c.clone() },
            Checkpoint { signed_at: c.signed_at + chrono::Duration::microseconds(1), ..c.clone() },
        ] {
            assert!(!tampered.is_signed_by(&signer.verifying_key()), "{tampered:?}");
        }
    }
}
