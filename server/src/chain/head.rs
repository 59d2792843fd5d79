//! The writer's side of the chain: locking an org's head and linking new
//! events to it. Used by `store::insert_events_in` and `store::copy_events`.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{CanonicalError, CanonicalEvent, GENESIS, SeqSplit};

/// The end of an org's chain: its last seq (0 before the first event) and
/// that event's hash ([`GENESIS`] before the first event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub seq: i64,
    pub hash: [u8; 32],
}

/// Scopes the transaction on `conn` to `org_id` and locks the org's chain
/// head until it ends, creating the head at genesis for a new org. Other
/// writers of the same org wait here; writers of other orgs do not.
///
/// Callers holding several orgs lock them in ascending org id order, so two
/// writers never wait on each other in a cycle.
pub(crate) async fn lock_head(conn: &mut PgConnection, org_id: Uuid) -> Result<Head, sqlx::Error> {
    loop {
        // Sets the org for row-level security (transaction-local, so it
        // never leaks to the next user of a pooled connection) and locks
        // the head, in one round trip (migration 0018).
        let head = sqlx::query!(r#"SELECT seq AS "seq!", hash AS "hash!" FROM lock_chain_head($1)"#, org_id)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(head) = head {
            let hash = <[u8; 32]>::try_from(head.hash.as_slice())
                .map_err(|_| sqlx::Error::Protocol("chain_heads.hash is not 32 bytes".into()))?;
            return Ok(Head { seq: head.seq, hash });
        }
        // First write of this org. Two writers may both get here: the
        // second waits on the first's row and inserts nothing, and both
        // then queue on the FOR UPDATE above.
        sqlx::query!(
            "INSERT INTO chain_heads (org_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT (org_id) DO NOTHING",
            org_id,
            GENESIS.as_slice(),
        )
        .execute(&mut *conn)
        .await?;
    }
}

/// Moves the org's head to the last event just written. Call it in the
/// transaction that took [`lock_head`].
pub(crate) async fn advance_head(
    conn: &mut PgConnection,
    org_id: Uuid,
    head: Head,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE chain_heads SET seq = $2, hash = $3, updated_at = now() WHERE org_id = $1",
        org_id,
        head.seq,
        head.hash.as_slice(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Where one event sits in its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    pub seq: i64,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// Hands out the next links of one org's chain, starting after a head.
pub(crate) struct Linker {
    head: Head,
    buf: Vec<u8>,
}

impl Linker {
    pub fn new(head: Head) -> Self {
        Linker { head, buf: Vec::with_capacity(1024) }
    }

    /// Links `event` (whose `seq` is ignored and set here) after the
    /// previous one.
    pub fn link(&mut self, event: CanonicalEvent<'_>) -> Result<Link, CanonicalError> {
        let seq = self.head.seq + 1;
        let prev_hash = self.head.hash;
        let hash = CanonicalEvent { seq, ..event }.hash(&prev_hash, &mut self.buf)?;
        self.head = Head { seq, hash };
        Ok(Link { seq, prev_hash, hash })
    }

    /// Links the event whose canonical form, but for its seq, is `split`.
    pub fn link_split(&mut self, split: &SeqSplit) -> Link {
        let seq = self.head.seq + 1;
        let prev_hash = self.head.hash;
        let hash = split.hash(&prev_hash, seq);
        self.head = Head { seq, hash };
        Link { seq, prev_hash, hash }
    }

    /// The head after the events linked so far.
    pub fn head(&self) -> Head {
        self.head
    }
}
