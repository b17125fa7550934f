//! [`ProposeError`]: why a proposal has no outcome, and whether it was certainly not applied
//! (so a client may resend without a key).

use serde::{Deserialize, Serialize};

use super::persist::disk::DiskFull;
use crate::queue::cap::StoreFull;

/// Why a proposal has no outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ProposeError {
    /// Certainly not applied: there is no leader right now, or it refused before appending.
    #[error("no leader is available{}", .leader_addr.as_ref().map(|a| format!(" (try {a})")).unwrap_or_default())]
    NoLeader { leader_addr: Option<String> },
    /// May or may not have been applied: leadership changed or the connection broke mid-way.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// May or may not have been applied: the leader it was sent to stopped leading before it
    /// answered. Names the new leader, so a client resending with an idempotency key goes
    /// straight there instead of to the old one, which may be frozen.
    #[error("outcome unknown: the leader changed before it answered{}", .leader_addr.as_ref().map(|a| format!(" (the leader is now {a})")).unwrap_or_default())]
    LeaderChanged { leader_addr: Option<String> },
    /// The node is shutting down; nothing was proposed.
    #[error("this node is shutting down")]
    ShuttingDown,
    /// The disk of `node` is below the free-space watermark: writes that would grow the state
    /// are refused until space is freed.
    #[error(
        "node {node} has {} MiB free on its data disk, below the watermark of {} MiB \
         (--min-free-disk-bytes): free space, or drain queues, before sending more tasks",
        free_bytes / (1024 * 1024),
        min_free_bytes / (1024 * 1024)
    )]
    DiskFull {
        node: u64,
        free_bytes: u64,
        min_free_bytes: u64,
    },
    /// The cluster holds as many tasks or bytes as a cluster-wide cap allows: writes that would
    /// add to it are refused until tasks finish and expire.
    #[error("{0}")]
    StoreFull(StoreFull),
    /// This node holds as many bytes of proposals waiting for their outcome as it may: nothing
    /// was proposed.
    #[error(
        "node {node} is overloaded: {} MiB of writes wait for the log, and this one of {} KiB \
         would pass its limit of {} MiB; nothing was applied: send it again shortly, or to \
         another node",
        waiting_bytes / (1024 * 1024),
        bytes / 1024,
        limit_bytes / (1024 * 1024)
    )]
    Overloaded {
        node: u64,
        bytes: u64,
        waiting_bytes: u64,
        limit_bytes: u64,
    },
}

impl From<StoreFull> for ProposeError {
    fn from(full: StoreFull) -> Self {
        ProposeError::StoreFull(full)
    }
}

impl From<DiskFull> for ProposeError {
    fn from(full: DiskFull) -> Self {
        ProposeError::DiskFull {
            node: full.node,
            free_bytes: full.free_bytes,
            min_free_bytes: full.min_free_bytes,
        }
    }
}

impl ProposeError {
    pub fn not_applied(&self) -> bool {
        matches!(
            self,
            ProposeError::NoLeader { .. }
                | ProposeError::ShuttingDown
                | ProposeError::DiskFull { .. }
                | ProposeError::StoreFull(_)
                | ProposeError::Overloaded { .. }
        )
    }
}
