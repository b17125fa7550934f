//! Values read from the replica at scrape time: nothing to keep in step between scrapes.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::queue::TaskState;
use crate::raft::{Replica, Role};

#[derive(Debug)]
pub struct NodeCollector {
    replica: Replica,
}

impl NodeCollector {
    pub fn new(replica: Replica) -> Self {
        NodeCollector { replica }
    }
}

impl Collector for NodeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.replica.status();
        let leader = status.leader.as_ref().map_or(0, |l| l.id);
        let raft_gauges = [
            ("raft_term", "Current Raft term", status.term),
            (
                "raft_leader_id",
                "Id of the leader this node knows; 0 if none",
                leader,
            ),
            (
                "raft_is_leader",
                "1 on the leader, 0 elsewhere",
                u64::from(status.role == Role::Leader),
            ),
            (
                "raft_last_log_index",
                "Index of the last entry in this node's log",
                status.last_log_index.unwrap_or_default(),
            ),
            (
                "raft_committed_index",
                "Highest index this node knows to be committed",
                status.committed_index.unwrap_or_default(),
            ),
            (
                "raft_applied_index",
                "Index of the last entry applied to this node's queue state",
                status.applied_index.unwrap_or_default(),
            ),
            (
                "raft_snapshot_index",
                "Index covered by this node's newest snapshot",
                status.snapshot_index.unwrap_or_default(),
            ),
        ];
        for (name, help, value) in raft_gauges {
            gauge(&mut encoder, name, help, value)?;
        }
        let cluster_ms = self.replica.shared().queue().now_ms();
        let skew = encoder.encode_descriptor(
            "clock_skew_ms",
            "This node's wall clock minus the cluster time it has applied (ms); large values mean a clock is off, or the node is behind",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(crate::clock::skew_ms(crate::clock::wall_ms(), cluster_ms)).encode(skew)?;
        let mut lag = encoder.encode_descriptor(
            "raft_peer_lag",
            "Entries each peer is behind this leader's log (only the leader reports it)",
            None,
            MetricType::Gauge,
        )?;
        for peer in &status.peers {
            let id = peer.id.to_string();
            ConstGauge::new(peer.lag as i64).encode(lag.encode_family(&[("peer", id.as_str())])?)?;
        }

        let queue = self.replica.shared().queue();
        let stats = queue.stats();
        let mut depth = encoder.encode_descriptor(
            "queue_tasks",
            "Tasks held per queue and state (this replica's view)",
            None,
            MetricType::Gauge,
        )?;
        for (name, queue_stats) in &stats {
            for state in TaskState::ALL {
                let labels = [("queue", name.as_str()), ("state", state.name())];
                ConstGauge::new(queue_stats.count(state) as i64).encode(depth.encode_family(&labels)?)?;
            }
        }
        let mut paused = encoder.encode_descriptor(
            "queue_paused",
            "1 if the queue hands out nothing",
            None,
            MetricType::Gauge,
        )?;
        for (name, queue_stats) in &stats {
            ConstGauge::new(i64::from(queue_stats.paused))
                .encode(paused.encode_family(&[("queue", name.as_str())])?)?;
        }
        let mut totals = encoder.encode_descriptor(
            "tasks",
            "Tasks per queue by outcome since the queue first had a task: enqueued, completed (attempts that succeeded), failed (attempts that failed); replicated, so the same on every node",
            None,
            MetricType::Counter,
        )?;
        for (name, counts) in queue.totals() {
            for (outcome, value) in [
                ("enqueued", counts.enqueued),
                ("completed", counts.completed),
                ("failed", counts.failed),
            ] {
                let labels = [("queue", name.as_str()), ("outcome", outcome)];
                ConstCounter::new(value).encode(totals.encode_family(&labels)?)?;
            }
        }
        let reversions = encoder.encode_descriptor(
            "log_reversions",
            "Times a member's log went back to empty because its operator rebuilt it (--rebuild); replicated, so the same on every node",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(queue.meta().log_reversions).encode(reversions)?;
        let skewed = encoder.encode_descriptor(
            "clock_skewed_members",
            "Voters whose wall clock the leader last read more than 10 s off the others'",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(queue.meta().clock_skewed.len() as i64).encode(skewed)?;
        let mut caps = encoder.encode_descriptor(
            "queue_cap",
            "Each queue cap (qraft limit set queue:NAME max-length|max-bytes N) and what the queue holds against it: cap max_length with held tasks (unfinished), cap max_bytes with held bytes",
            None,
            MetricType::Gauge,
        )?;
        for cap in queue.caps() {
            let held = queue.held(&cap.queue);
            for (kind, max, value) in [
                ("max_length", cap.max_length, held.tasks),
                ("max_bytes", cap.max_bytes, held.bytes),
            ] {
                let Some(max) = max else { continue };
                for (what, value) in [("max", max), ("held", value)] {
                    let labels = [("queue", cap.queue.as_str()), ("cap", kind), ("value", what)];
                    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX))
                        .encode(caps.encode_family(&labels)?)?;
                }
            }
        }
        let store_caps = self.replica.settings().store_caps;
        let usage = queue.usage();
        let workers = queue.workers().count() as u64;
        let busy: u64 = queue.workers().map(|w| u64::from(w.active)).sum();
        let unreachable = queue.meta().unreachable.len() as u64;
        drop(queue);
        gauge(
            &mut encoder,
            "workers",
            "Registered workers, embedded and remote",
            workers,
        )?;
        gauge(
            &mut encoder,
            "workers_active",
            "Tasks running on all workers, as of their last heartbeats",
            busy,
        )?;
        for (name, help, value) in [
            (
                "stored_tasks",
                "Tasks the cluster holds, finished ones and dead letters included (this replica's view)",
                usage.tasks,
            ),
            (
                "stored_tasks_max",
                "This node's cap on stored tasks (--max-tasks); submits past it are refused",
                store_caps.max_tasks,
            ),
            (
                "stored_bytes",
                "Bytes of args, headers, results and errors the cluster holds (this replica's view)",
                usage.bytes,
            ),
            (
                "stored_bytes_max",
                "This node's cap on stored bytes (--max-stored-bytes); submits past it are refused",
                store_caps.max_stored_bytes,
            ),
        ] {
            gauge(&mut encoder, name, help, value)?;
        }
        gauge(
            &mut encoder,
            "raft_unreachable_members",
            "Members the leader has recorded as unreachable",
            unreachable,
        )
    }
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}
