//! Prometheus metrics at `/metrics` on `--metrics-listen`, in the text format.
//!
//! Most values are read from the replica when scraped (`collector`): queue depth by state, task
//! totals by outcome, Raft term, leader and indexes. What must be measured as it happens is held
//! in [`Timings`], which the Raft layer feeds: fsync and apply latency, and task run times.
//!
//! - `collector`: the scrape-time values.
//! - `http`: the HTTP/1 server.

mod collector;
mod http;

use std::net::SocketAddr;

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use http::serve;

use crate::raft::Replica;

/// Latencies measured as they happen. Clones share the same histograms.
#[derive(Clone, Debug)]
pub struct Timings {
    /// One WAL sync, covering every log append waiting for it.
    pub fsync: Histogram,
    /// One apply call: the committed entries openraft hands over at once, written in one batch.
    pub apply: Histogram,
    /// One attempt of a task, from its lease to its answer, in cluster time. Every replica
    /// applies every answer, so each node reports the whole cluster's run times.
    pub task_run: Histogram,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            // 50 µs to about 1.6 s.
            fsync: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            apply: Histogram::new(exponential_buckets(0.000_05, 2.0, 16)),
            // 1 ms to about 9 minutes.
            task_run: Histogram::new(exponential_buckets(0.001, 2.0, 20)),
        }
    }
}

/// Every metric this node exports.
pub fn registry(replica: Replica) -> Registry {
    let mut registry = Registry::with_prefix("qraft");
    let timings = replica.timings().clone();
    registry.register_with_unit(
        "fsync_duration",
        "Time of one WAL sync (group commit of every Raft log append waiting for it)",
        Unit::Seconds,
        timings.fsync,
    );
    registry.register_with_unit(
        "apply_duration",
        "Time to apply one batch of committed entries and write it to RocksDB",
        Unit::Seconds,
        timings.apply,
    );
    registry.register_with_unit(
        "task_run_duration",
        "Run time of one task attempt, lease to answer, in cluster time (whole cluster)",
        Unit::Seconds,
        timings.task_run,
    );
    registry.register_collector(Box::new(collector::NodeCollector::new(replica)));
    registry
}

/// Starts serving `/metrics` on `listen`; errors only if the address cannot be bound.
pub async fn start(listen: SocketAddr, replica: Replica) -> std::io::Result<tokio::task::JoinHandle<()>> {
    serve(listen, registry(replica)).await
}
