use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The latest verification of an org's hash chain, for the page header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// Every event up to this sequence number checked out.
    pub verified_through: i64,
    /// Signed checkpoints that checked out.
    pub checkpoints: i64,
    /// The first bad sequence number and why, when the chain is broken.
    pub broken_at: Option<(i64, String)>,
    pub checked_at: DateTime<Utc>,
}
