//! Consensus, kept behind this one module: openraft `0.10.0-alpha.37` on RocksDB over gRPC.
//! Nothing outside `raft/` names an openraft type; the rest of the node uses [`Replica`].
//!
//! Grouped by role, as openraft's own examples are:
//!
//! - [`persist`]: what is on disk. `storage` (RocksDB, its column families, the node identity
//!   check), `log_store` (the Raft log and vote) with `syncer` (group commit: one fsync per
//!   pending append), `state_machine` (applies entries to the queue, persists what changed),
//!   `snapshot` (point-in-time files) and `compaction` (when to build one), `disk` (the
//!   free-space watermark), `codec` (the versioned encoding on disk and on the wire).
//! - [`transport`]: `qraft.v1.Raft` both ways: `network` (outgoing) and `rpc_server` (incoming).
//! - [`control`]: the cluster's control: `bootstrap` (forming or joining), `membership` (adding
//!   and removing nodes, one change at a time), `ticker` (the leader's tick when a task is due),
//!   `observer` (elections and unreachable members on the timeline), `clock_check` (the
//!   leader's wall clock against its voters'), `leader_contact`, `vote_guard` (a node that lost
//!   its data neither serves Raft nor votes until safe).
//! - At the top: [`types`] (the openraft type configuration and the log payload), [`proposer`]
//!   (batches client commands into log entries, forwarding to the leader) with
//!   [`propose_error`] (why a proposal has no outcome), [`parked`] (leases
//!   that ride in the entry of the next submit they could take), [`read_index`]
//!   (linearizable reads on any node), [`replica`] ([`Replica`], the face of all of the above),
//!   [`lifecycle`] (its start with the loops beside Raft, and its shutdown) and [`loops`] (how
//!   those loops stop together).
//!
//! Dependencies point one way: `control` and `transport` use [`Replica`] and `persist`;
//! `persist` uses none of them. [`Replica`] holds two small `control` types (the leader contact
//! and the vote guard), which import nothing of it.

pub mod control;
pub mod lifecycle;
pub mod loops;
pub mod parked;
pub mod persist;
pub mod propose_error;
pub mod proposer;
pub mod read_index;
pub mod replica;
pub mod transport;
pub mod types;

pub use control::membership::{Added, MembershipError, MembershipView, Standing};
pub use persist::storage::{Identity, Storage, StorageError};
pub use propose_error::ProposeError;
pub use replica::{
    Member, PeerProgress, RaftSettings, Replica, ReplicaError, ReplicaStatus, Role, TransferError,
};

#[cfg(test)]
mod conformance;
