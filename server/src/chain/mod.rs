//! Tamper evidence: a hash chain per org, signed checkpoints, verification.
//!
//! The append-only trigger stops every role short of a superuser. This module
//! makes what a superuser (or anyone with the disk) does to stored events
//! visible afterwards.
//!
//! # The chain
//!
//! Every event of an org gets the next sequence number `seq` (1, 2, 3, ...,
//! no gaps) and
//!
//! ```text
//! hash = SHA-256(prev_hash || canonical JSON of the event)
//! ```
//!
//! where `prev_hash` is the `hash` of the org's event at `seq - 1`, and for
//! `seq = 1` (genesis) 32 zero bytes ([`GENESIS`]). The canonical JSON is
//! described in [`canonical`] and in `docs/hash-chain.md`; it covers every
//! stored field, including `seq`, `org_id` and `received_at`, so an event can
//! be neither changed, moved within its chain, nor moved to another org's
//! chain without its hash changing.
//!
//! The writer (`store::insert_events_in`, `store::copy_events`) assigns
//! `seq`, `prev_hash` and `hash` in Rust inside the insert transaction, while
//! it holds the org's `chain_heads` row locked: once per batch (or COPY
//! chunk) per org, so concurrent batches of one org chain one after the
//! other and a batch of a thousand costs no more round trips than before.
//!
//! # Checkpoints
//!
//! A chain alone proves nothing against someone who can rewrite it: the
//! canonical form is public, so a superuser can change an event and
//! recompute every later hash. The server therefore signs, every
//! [`CHECKPOINT_EVERY`] events and at least hourly when there were writes,
//! the head of each org's chain with an Ed25519 key the database never sees
//! ([`ChainSigner`]). A rewrite of anything before a checkpoint then
//! disagrees with it. See [`checkpoint`].
//!
//! # Verification
//!
//! [`verify_org`] re-walks an org's chain in `seq` order (streaming, constant
//! memory), recomputes every hash, checks the links, compares the end with
//! the chain head and every checkpoint with the chain, and reports
//! "verified through seq N" or the first bad seq and why. See [`verify`].

pub mod canonical;
pub mod checkpoint;
mod head;
pub mod signing;
pub mod verify;

use sha2::{Digest, Sha256};

pub use canonical::{CANONICAL_VERSION, CanonicalError, CanonicalEvent, SeqSplit};
pub use checkpoint::{
    CHECKPOINT_ACTION, CHECKPOINT_EVERY, CHECKPOINT_INTERVAL, CHECKPOINT_MAX_AGE, Checkpoint, checkpoint_due,
    checkpoint_message, record as record_checkpoint, spawn_checkpointer,
};
pub use ed25519_dalek::VerifyingKey;
pub(crate) use head::{Head, Link, Linker, advance_head, lock_head};
pub use signing::{ChainSigner, SignerError};
pub use verify::{
    ChainFault, FaultKind, StoredEvent, VerifyReport, latest_verification, verify_org, verify_org_trusting,
};

/// The public keys whose signatures a verification accepts: the server's
/// own and the ones the operator lists. Cheap to clone.
pub type TrustedKeys = std::sync::Arc<[VerifyingKey]>;

/// The `prev_hash` of every org's first event (seq 1): 32 zero bytes. A
/// public constant, so a verifier needs nothing to start from; chains of
/// different orgs still never coincide, because `org_id` is inside every
/// canonical event.
pub const GENESIS: [u8; 32] = [0; 32];

/// `SHA-256(prev_hash || canonical)`: the hash that links an event into its
/// org's chain.
pub fn chain_hash(prev_hash: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_hash_is_sha256_of_the_previous_hash_then_the_canonical_bytes() {
        // SHA-256 of 32 zero bytes followed by "{}", computed independently.
        let mut input = vec![0u8; 32];
        input.extend_from_slice(b"{}");
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(chain_hash(&GENESIS, b"{}"), expected);
        assert_ne!(chain_hash(&expected, b"{}"), expected, "each link depends on the one before");
    }
}
