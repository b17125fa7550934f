//! gRPC metadata keys shared by nodes and clients.

/// On an error status: the address of the current leader, when the answering node knows it.
pub const LEADER: &str = "x-qraft-leader";

/// On an error status: `"1"` when the request was certainly not applied, so it is safe to send
/// it again to any node, even if it is not idempotent.
pub const NOT_APPLIED: &str = "x-qraft-not-applied";

/// On every Raft RPC: the sender's cluster name. A node refuses Raft traffic from another cluster.
pub const CLUSTER: &str = "x-qraft-cluster";

/// On a FAILED_PRECONDITION or RESOURCE_EXHAUSTED status: what kind of refusal it is.
pub const ERROR: &str = "x-qraft-error";
/// [`ERROR`] value: the answer's delivery number is not the task's current lease.
pub const STALE_LEASE: &str = "stale-lease";
/// [`ERROR`] value: the task was revoked while running.
pub const REVOKED: &str = "revoked";
/// [`ERROR`] value on RESOURCE_EXHAUSTED: a queue cap, a cluster-wide cap or the free-disk
/// watermark refused the write, and nothing was stored. Sending it again at once will not help.
pub const FULL: &str = "full";
