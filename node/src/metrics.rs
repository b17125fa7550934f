//! Prometheus metrics at `/metrics` on `--metrics-listen`, in the text format.
//!
//! Most values are read from the replica when scraped (`collector`): queue depth by state, task
//! totals by outcome, Raft term, leader and indexes. What must be measured as it happens is held
//! in [`Timings`], stage by stage along a task's path: the API, the proposer, the leader's write,
//! fsync, replication, apply, and the worker pools' leases, runs and answers.
//!
//! - `collector`: the scrape-time values.
//! - `http`: the HTTP/1 server.
//! - `stage`: the latency histograms, which `NodeStatus` also reports for `qraft bench --breakdown`.

mod collector;
mod http;
pub mod stage;

use std::net::SocketAddr;

use prometheus_client::registry::{Registry, Unit};

use http::serve;
pub use stage::Stage;

use crate::raft::Replica;

/// Latencies measured as they happen, stage by stage along a task's path. Clones share the
/// same histograms.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// A submit (one task or a batch) through the API, gRPC or HTTP, from its proposal to its
    /// answer.
    pub api_submit: Stage,
    /// A write's wait in the proposer until a batch takes it and one of the batches in flight
    /// has room.
    pub propose_wait: Stage,
    /// A batch a follower forwards to the leader, there and back.
    pub forward: Stage,
    /// A batch on the leader from its proposal to its outcome: append, fsync, replication to a
    /// majority, commit and apply.
    pub leader_write: Stage,
    /// One WAL sync, covering every log append waiting for it.
    pub fsync: Stage,
    /// One AppendEntries round trip from the leader to a follower (which appends and syncs).
    pub replicate: Stage,
    /// One apply call: the committed entries openraft hands over at once, written in one batch.
    pub apply: Stage,
    /// A worker pool's lease, from its proposal to its tasks.
    pub worker_lease: Stage,
    /// One attempt of a task, from its lease to its answer, in cluster time. Every replica
    /// applies every answer, so each node reports the whole cluster's run times.
    pub task_run: Stage,
    /// A worker pool's batch of answers (acks and fails), from its proposal to its commit.
    pub worker_answer: Stage,
}

impl Timings {
    /// Every stage, in the order a task passes them: its name and what it times.
    pub fn stages(&self) -> [(&'static str, &'static str, &Stage); 10] {
        [
            (
                "api_submit",
                "A submit (one task or a batch), gRPC or HTTP, on the node that took it",
                &self.api_submit,
            ),
            (
                "propose_wait",
                "A write's wait in the proposer for a batch and a slot in flight",
                &self.propose_wait,
            ),
            (
                "forward",
                "A batch forwarded from a follower to the leader, there and back",
                &self.forward,
            ),
            (
                "leader_write",
                "A batch on the leader, proposal to outcome: append, fsync, replication, commit, apply",
                &self.leader_write,
            ),
            (
                "fsync",
                "Time of one WAL sync (group commit of every Raft log append waiting for it)",
                &self.fsync,
            ),
            (
                "replicate",
                "One AppendEntries round trip from the leader to a follower",
                &self.replicate,
            ),
            (
                "apply",
                "Time to apply one batch of committed entries and write it to RocksDB",
                &self.apply,
            ),
            (
                "worker_lease",
                "A worker pool's lease, proposal to tasks",
                &self.worker_lease,
            ),
            (
                "task_run",
                "Run time of one task attempt, lease to answer, in cluster time (whole cluster)",
                &self.task_run,
            ),
            (
                "worker_answer",
                "A worker pool's batch of acks and fails, proposal to commit",
                &self.worker_answer,
            ),
        ]
    }
}

/// Every metric this node exports.
pub fn registry(replica: Replica) -> Registry {
    let mut registry = Registry::with_prefix("qraft");
    for (name, help, stage) in replica.timings().stages() {
        registry.register_with_unit(format!("{name}_duration"), help, Unit::Seconds, stage.clone());
    }
    registry.register_collector(Box::new(collector::NodeCollector::new(replica)));
    registry
}

/// Starts serving `/metrics` on `listen`; errors only if the address cannot be bound.
pub async fn start(listen: SocketAddr, replica: Replica) -> std::io::Result<tokio::task::JoinHandle<()>> {
    serve(listen, registry(replica)).await
}
