//! Consensus, kept behind this one module: openraft `0.10.0-alpha.37` on RocksDB over gRPC.
//! Nothing outside `raft/` names an openraft type; the rest of the node uses [`Replica`].
//!
//! - [`types`]: the openraft type configuration and the log payload ([`types::Proposal`]).
//! - [`codec`]: the versioned encoding of everything on disk and on the wire.
//! - [`storage`]: the RocksDB instance, its column families and the node identity check.
//! - [`syncer`]: group commit: one fsync for every pending append.
//! - [`disk`]: the free-space watermark below which growing writes are refused.
//! - [`log_store`]: the Raft log and vote.
//! - [`state_machine`]: applies entries to the queue and persists what changed.
//! - [`snapshot`]: point-in-time snapshot files; [`compaction`]: when to build one.
//! - [`network`] / [`rpc_server`]: the `qraft.v1.Raft` transport, both directions.
//! - [`proposer`]: batches client commands into log entries, forwarding to the leader.
//! - [`read_index`]: linearizable reads on any node (the leader's read index).
//! - [`ticker`]: the leader's periodic tick, proposed when some task is due.
//! - [`observer`]: the leader records elections and unreachable members for the timeline.
//! - [`clock_check`]: the leader checks its wall clock against its voters'.
//! - [`membership`]: adding and removing nodes, with catch-up and quorum checks.
//! - [`bootstrap`]: forming the cluster on first start, or joining an existing one.
//! - [`vote_guard`]: a node that lost its data neither serves Raft nor votes until it is safe.
//! - [`replica`]: [`Replica`], the face of all of the above; [`lifecycle`]: its start (with the
//!   loops beside Raft: tick, observer, compaction) and shutdown; [`loops`]: how those loops
//!   are stopped together.
//! - [`leader_contact`]: when this node last heard from a leader.

pub mod bootstrap;
pub mod clock_check;
pub mod codec;
pub mod compaction;
pub mod disk;
pub mod leader_contact;
pub mod lifecycle;
pub mod log_store;
pub mod loops;
pub mod membership;
pub mod network;
pub mod observer;
pub mod proposer;
pub mod read_index;
pub mod replica;
pub mod rpc_server;
pub mod snapshot;
pub mod state_machine;
pub mod storage;
pub mod syncer;
pub mod ticker;
pub mod types;
pub mod vote_guard;

pub use membership::{Added, MembershipError, MembershipView, Standing};
pub use proposer::ProposeError;
pub use replica::{
    Member, PeerProgress, RaftSettings, Replica, ReplicaError, ReplicaStatus, Role, TransferError,
};
pub use storage::{Identity, Storage, StorageError};

#[cfg(test)]
mod conformance;
