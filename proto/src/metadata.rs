//! gRPC metadata keys shared by nodes and clients.

/// On an error status: the address of the current leader, when the answering node knows it.
pub const LEADER: &str = "x-qraft-leader";

/// On an error status: `"1"` when the request was certainly not applied, so it is safe to send
/// it again to any node, even if it is not idempotent.
pub const NOT_APPLIED: &str = "x-qraft-not-applied";

/// On every Raft RPC: the sender's cluster name. A node refuses Raft traffic from another cluster.
pub const CLUSTER: &str = "x-qraft-cluster";

/// On a FAILED_PRECONDITION status: what kind of refusal it is, for workers.
pub const ERROR: &str = "x-qraft-error";
/// [`ERROR`] value: the answer's delivery number is not the task's current lease.
pub const STALE_LEASE: &str = "stale-lease";
/// [`ERROR`] value: the task was revoked while running.
pub const REVOKED: &str = "revoked";
