//! Verifying an org's chain and its checkpoints.
//!
//! [`verify_org`] reads, in one read-only snapshot, the org's events in
//! `seq` order as a stream (constant memory whatever the chain's length) and
//! for each one recomputes its hash from what is stored, checks that `seq`
//! continues from 1 without gaps or repeats and that `prev_hash` is the
//! previous event's hash. The end of the walk must be the org's chain head.
//! Then every checkpoint must carry a valid signature and name the hash the
//! chain has at its seq. The first failure, by seq, is reported with what it
//! looks like:
//!
//! - **modified**: the event at that seq no longer matches its hash;
//! - **deleted**: a seq is missing (a gap, the chain ends before its head or
//!   before a checkpoint, or later events were renumbered to close the gap);
//! - **inserted**: a seq appears twice, an event has no seq or lies past the
//!   head, or an event does not link to the one before it;
//! - **reordered**: an event sits at another seq than it was written at,
//!   with its neighbours intact (two events swapped);
//! - **checkpoint**: a checkpoint's signature is invalid, or it disagrees
//!   with the chain (the chain was recomputed after a change).
//!
//! What a verification can and cannot show: someone who can write the
//! database can also recompute hashes, so changes after the latest
//! checkpoint that are recomputed consistently (and the head updated) are
//! only caught by the next checkpoint taken before them, never after. And
//! [`verify_org`] trusts the public keys in `signing_keys`, which the same
//! person could add to along with the checkpoints; [`verify_org_trusting`]
//! takes the keys from the caller instead (the server's own key and the
//! operator's list), and is what the product uses.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::VerifyingKey;
use futures_util::TryStreamExt;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::signing::key_id;
use super::{CanonicalEvent, Checkpoint, GENESIS, Head};

mod checkpoints;
mod walk;

use checkpoints::check_checkpoints;
use walk::walk_chain;

/// How far from its seq verify looks for the seq an out-of-place event was
/// written at. Each try is one hash (a few microseconds), and only after the
/// first failure.
const MOVED_SEARCH_WINDOW: i64 = 1024;

/// What the first failure looks like. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    Modified,
    Deleted,
    Inserted,
    Reordered,
    Checkpoint,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] =
        [Self::Modified, Self::Deleted, Self::Inserted, Self::Reordered, Self::Checkpoint];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Modified => "modified",
            Self::Deleted => "deleted",
            Self::Inserted => "inserted",
            Self::Reordered => "reordered",
            Self::Checkpoint => "checkpoint",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first bad seq of a chain and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFault {
    pub seq: i64,
    pub kind: FaultKind,
    /// For people: what was found, naming the seqs involved.
    pub reason: String,
}

impl ChainFault {
    fn new(seq: i64, kind: FaultKind, reason: impl Into<String>) -> Self {
        ChainFault { seq, kind, reason: reason.into() }
    }
}

/// The outcome of verifying one org's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub org_id: Uuid,
    /// Every event up to and including this seq checked out (0: none did,
    /// or the org has no events).
    pub verified_through: i64,
    /// Checkpoints whose signature and hash checked out.
    pub checkpoints: i64,
    /// The first failure, if any.
    pub fault: Option<ChainFault>,
    pub checked_at: DateTime<Utc>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.fault.is_none()
    }

    /// The report as the timeline's integrity badge shows it (the model's
    /// shape, which the browser decodes too).
    pub fn status(&self) -> app::model::ChainStatus {
        app::model::ChainStatus {
            verified_through: self.verified_through,
            checkpoints: self.checkpoints,
            broken_at: self.fault.as_ref().map(|f| (f.seq, f.reason.clone())),
            checked_at: self.checked_at,
        }
    }
}

/// "verified through seq N (K checkpoints)" or "chain broken at seq N: why".
impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fault {
            None => {
                let plural = if self.checkpoints == 1 { "" } else { "s" };
                write!(
                    f,
                    "verified through seq {} ({} checkpoint{plural})",
                    self.verified_through, self.checkpoints
                )
            }
            Some(fault) => write!(f, "chain broken at seq {}: {}", fault.seq, fault.reason),
        }
    }
}

/// One stored event as verify reads it: the columns the canonical form
/// covers, in the text the database returns, plus the chain columns.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: Option<i64>,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Option<Vec<u8>>,
    pub org_id: Uuid,
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_email: Option<String>,
    pub actor_avatar: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub entity_name: Option<String>,
    pub changes: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub session_id: Option<String>,
    pub request_id: Option<String>,
    pub country: Option<String>,
    pub metadata: Option<String>,
    pub external_id: Option<String>,
}

impl StoredEvent {
    /// The select list that fills a [`StoredEvent`] from `audit_events`.
    /// jsonb as its text (parsed by the canonical form itself, so no digit
    /// of a number is lost), the IP without the /32 or /128 the writer
    /// never sets but with any other netmask.
    pub const COLUMNS: &'static str = "seq, prev_hash, hash, org_id, id, occurred_at, received_at, actor_kind, \
        actor_id, actor_name, actor_email, actor_avatar, action, entity_type, entity_id, entity_name, \
        changes::text AS changes, \
        host(ip) || CASE WHEN masklen(ip) = CASE family(ip) WHEN 4 THEN 32 ELSE 128 END THEN '' \
                         ELSE '/' || masklen(ip) END AS ip, \
        user_agent, session_id, request_id, country, metadata::text AS metadata, external_id";

    /// The canonical form of this event placed at `seq`.
    pub fn canonical(&self, seq: i64) -> CanonicalEvent<'_> {
        CanonicalEvent {
            org_id: self.org_id,
            id: self.id,
            seq,
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            actor_kind: &self.actor_kind,
            actor_id: &self.actor_id,
            actor_name: &self.actor_name,
            actor_email: self.actor_email.as_deref(),
            actor_avatar: self.actor_avatar.as_deref(),
            action: &self.action,
            entity_type: &self.entity_type,
            entity_id: &self.entity_id,
            entity_name: self.entity_name.as_deref(),
            changes: self.changes.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            session_id: self.session_id.as_deref(),
            request_id: self.request_id.as_deref(),
            country: self.country.as_deref(),
            metadata: self.metadata.as_deref(),
            external_id: self.external_id.as_deref(),
        }
    }

    fn stored_links(&self) -> Option<([u8; 32], [u8; 32])> {
        let prev = <[u8; 32]>::try_from(self.prev_hash.as_deref()?).ok()?;
        let hash = <[u8; 32]>::try_from(self.hash.as_deref()?).ok()?;
        Some((prev, hash))
    }

    /// Whether this event, hashed at `seq` after its stored prev_hash, gives
    /// its stored hash: i.e. it is unchanged and was written as `seq`.
    fn was_written_as(&self, seq: i64, buf: &mut Vec<u8>) -> bool {
        self.stored_links().is_some_and(|(prev, hash)| self.canonical(seq).hash(&prev, buf) == Ok(hash))
    }
}

/// Verifies `org_id`'s chain and checkpoints, trusting the public keys
/// registered in `signing_keys`, and records the result for
/// [`latest_verification`].
pub async fn verify_org(pool: &PgPool, org_id: Uuid) -> Result<VerifyReport, sqlx::Error> {
    verify(pool, org_id, None).await
}

/// Like [`verify_org`], but a checkpoint counts only when signed by one of
/// `trusted` (such as [`super::ChainSigner::verifying_key`]), whatever
/// `signing_keys` says: a database superuser can add keys there, not to
/// this list.
pub async fn verify_org_trusting(
    pool: &PgPool,
    org_id: Uuid,
    trusted: &[VerifyingKey],
) -> Result<VerifyReport, sqlx::Error> {
    verify(pool, org_id, Some(trusted)).await
}

/// The latest recorded verification of `org_id`, if it was ever verified.
pub async fn latest_verification(pool: &PgPool, org_id: Uuid) -> Result<Option<VerifyReport>, sqlx::Error> {
    type Row = (i64, i64, Option<i64>, Option<String>, Option<String>, DateTime<Utc>);
    let mut tx = crate::store::tenant::begin_for_org(pool, org_id).await?;
    let row: Option<Row> = sqlx::query_as(
        "SELECT verified_through, checkpoints, first_bad_seq, fault, reason, checked_at \
           FROM chain_verifications WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|(verified_through, checkpoints, first_bad_seq, fault, reason, checked_at)| VerifyReport {
        org_id,
        verified_through,
        checkpoints,
        fault: first_bad_seq.map(|seq| ChainFault {
            seq,
            // Only this module writes the column, from FaultKind::as_str.
            kind: fault.as_deref().and_then(FaultKind::parse).unwrap_or(FaultKind::Modified),
            reason: reason.unwrap_or_default(),
        }),
        checked_at,
    }))
}

/// Which public keys checkpoints may be signed with, by key id.
enum Keys {
    Registered { keys: HashMap<String, VerifyingKey>, mismatched: Vec<String> },
    Trusted(HashMap<String, VerifyingKey>),
}

impl Keys {
    fn lookup(&self, key_id: &str) -> Result<&VerifyingKey, String> {
        match self {
            Keys::Registered { keys, mismatched } => keys.get(key_id).ok_or_else(|| {
                if mismatched.iter().any(|k| k == key_id) {
                    format!("key {key_id} is registered with a public key that does not hash to its id")
                } else {
                    format!("key {key_id} is not registered")
                }
            }),
            Keys::Trusted(keys) => keys.get(key_id).ok_or_else(|| format!("key {key_id} is not trusted")),
        }
    }
}

async fn verify(
    pool: &PgPool,
    org_id: Uuid,
    trusted: Option<&[VerifyingKey]>,
) -> Result<VerifyReport, sqlx::Error> {
    let checked_at = Utc::now().trunc_subsecs(6);
    // One snapshot for the head, the events and the checkpoints, so writes
    // landing meanwhile are simply not seen rather than half seen.
    let mut tx = crate::store::tenant::begin_read(pool, org_id, true, std::time::Duration::ZERO).await?;
    let head: Option<(i64, Vec<u8>)> = sqlx::query_as("SELECT seq, hash FROM chain_heads WHERE org_id = $1")
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
    let head = head
        .map(|(seq, hash)| Head { seq, hash: <[u8; 32]>::try_from(hash.as_slice()).unwrap_or([0xff; 32]) });
    let keys = match trusted {
        Some(trusted) => Keys::Trusted(trusted.iter().map(|k| (key_id(k), *k)).collect()),
        None => registered_keys(&mut tx).await?,
    };

    let walk = walk_chain(&mut tx, org_id, head).await?;
    let checks = check_checkpoints(&mut tx, org_id, &keys, &walk).await?;
    tx.commit().await?;

    // The earlier of the two failures; at the same seq the chain's own is
    // the more specific.
    let (verified_through, fault) = match (walk.fault, checks.fault) {
        (Some(chain), Some(checkpoint)) if checkpoint.seq < chain.seq => {
            (checks.verified_through, Some(checkpoint))
        }
        (Some(chain), _) => (walk.verified_through.min(chain.seq - 1), Some(chain)),
        (None, Some(checkpoint)) => (checks.verified_through, Some(checkpoint)),
        (None, None) => (walk.verified_through, None),
    };
    let report = VerifyReport {
        org_id,
        verified_through: verified_through.max(0),
        checkpoints: checks.count,
        fault,
        checked_at,
    };
    record(pool, &report).await?;
    Ok(report)
}

async fn registered_keys(conn: &mut PgConnection) -> Result<Keys, sqlx::Error> {
    let rows: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT key_id, public_key FROM signing_keys").fetch_all(conn).await?;
    let mut keys = HashMap::new();
    let mut mismatched = Vec::new();
    for (id, public_key) in rows {
        let key =
            <[u8; 32]>::try_from(public_key.as_slice()).ok().and_then(|b| VerifyingKey::from_bytes(&b).ok());
        match key {
            Some(key) if key_id(&key) == id => {
                keys.insert(id, key);
            }
            _ => mismatched.push(id),
        }
    }
    Ok(Keys::Registered { keys, mismatched })
}

async fn record(pool: &PgPool, report: &VerifyReport) -> Result<(), sqlx::Error> {
    let mut tx = crate::store::tenant::begin_for_org(pool, report.org_id).await?;
    // A slower run that started earlier never overwrites a later one.
    sqlx::query(
        "INSERT INTO chain_verifications AS v \
             (org_id, ok, verified_through, checkpoints, first_bad_seq, fault, reason, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (org_id) DO UPDATE \
            SET ok = EXCLUDED.ok, verified_through = EXCLUDED.verified_through, \
                checkpoints = EXCLUDED.checkpoints, first_bad_seq = EXCLUDED.first_bad_seq, \
                fault = EXCLUDED.fault, reason = EXCLUDED.reason, checked_at = EXCLUDED.checked_at \
          WHERE v.checked_at <= EXCLUDED.checked_at",
    )
    .bind(report.org_id)
    .bind(report.is_ok())
    .bind(report.verified_through)
    .bind(report.checkpoints)
    .bind(report.fault.as_ref().map(|f| f.seq))
    .bind(report.fault.as_ref().map(|f| f.kind.as_str()))
    .bind(report.fault.as_ref().map(|f| f.reason.as_str()))
    .bind(report.checked_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_read_as_the_header_shows_them() {
        let mut report = VerifyReport {
            org_id: Uuid::nil(),
            verified_through: 1200,
            checkpoints: 1,
            fault: None,
            checked_at: Utc::now(),
        };
        assert_eq!(report.to_string(), "verified through seq 1200 (1 checkpoint)");
        report.checkpoints = 3;
        assert_eq!(report.to_string(), "verified through seq 1200 (3 checkpoints)");
        report.fault =
            Some(ChainFault::new(7, FaultKind::Modified, "the event at seq 7 does not match its hash"));
        assert_eq!(report.to_string(), "chain broken at seq 7: the event at seq 7 does not match its hash");
        assert!(!report.is_ok());
        for kind in FaultKind::ALL {
            assert_eq!(FaultKind::parse(kind.as_str()), Some(kind));
        }
    }
}
