//! The cluster's view of its workers: who is registered, where, what they consume, and how much
//! they have done. Replicated like the tasks, so every node (and the console) sees the same list.

use serde::{Deserialize, Serialize};

/// A worker not heard from (registration, heartbeat or answer) for this long is removed from
/// the registry: it died or is cut off. Twelve missed heartbeats, so a slow one is not dropped;
/// one that comes back has its heartbeat refused and registers again.
pub const WORKER_TTL_MS: u64 = 60_000;

/// The worker id of node `node`'s own pool. A restarted node's pool hands back every lease
/// under this id that it does not run, so no remote worker may use it.
pub fn embedded_worker_id(node: u64) -> String {
    format!("node{node}")
}

/// Whether `id` is (or could be) a node's own pool's: `node` and digits.
pub fn is_embedded_worker_id(id: &str) -> bool {
    id.strip_prefix("node")
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a worker runs inside a node or speaks the worker protocol from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerKind {
    Embedded,
    Remote,
}

impl WorkerKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkerKind::Embedded => "embedded",
            WorkerKind::Remote => "remote",
        }
    }
}

/// One registered worker. `processed` and `failed` are counted in apply from the answers that
/// carry this worker's leases, so they agree on every replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub id: String,
    /// Where it runs: the node's address for an embedded pool, the host it names otherwise.
    pub node: String,
    pub kind: WorkerKind,
    pub queues: Vec<String>,
    /// Task names it runs; empty means any.
    #[serde(default)]
    pub names: Vec<String>,
    pub concurrency: u32,
    /// Tasks running, as of its last heartbeat.
    pub active: u32,
    pub processed: u64,
    pub failed: u64,
    pub registered_at_ms: u64,
    /// Cluster time of its last registration, heartbeat or lease.
    pub last_seen_ms: u64,
}

/// What a worker says about itself when it registers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRegistration {
    pub id: String,
    pub node: String,
    pub kind: WorkerKind,
    pub queues: Vec<String>,
    /// Task names it runs; empty means any.
    #[serde(default)]
    pub names: Vec<String>,
    pub concurrency: u32,
}

impl WorkerInfo {
    /// Whether this worker would take a task named `name` from `queue`.
    pub fn consumes(&self, queue: &str, name: &str) -> bool {
        self.queues.iter().any(|q| q == queue)
            && (self.names.is_empty() || self.names.iter().any(|n| n == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ids_of_node_pools_are_recognised() {
        assert!(is_embedded_worker_id(&embedded_worker_id(12)));
        for remote in ["node", "nodes", "node1a", "host:node1", "web-1:4242"] {
            assert!(!is_embedded_worker_id(remote), "{remote}");
        }
    }
}
