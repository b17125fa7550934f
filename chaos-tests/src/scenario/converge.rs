//! After the drain, every replica must hold the same state. Each node's own replica is read (not
//! the leader's): its tasks, flows, schedules, limits and workers, once every node has applied
//! the same log index, and compared line by line. Apply must give the same state on every node
//! from the same log; a difference is a bug the other checks may never see.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use qraft_proto::{Client, pb};

use super::finals::MAX_TASKS;
use crate::cluster::{Cluster, FLOW_QUEUE, QUEUE};

/// How long the replicas may take to reach the same applied index with nothing moving it.
const PATIENCE: Duration = Duration::from_secs(15);

/// `Ok` when every node holds the same state; else the first difference found.
pub async fn check(cluster: &Cluster) -> Result<(), String> {
    let clients: Vec<Client> = (1..=cluster.size())
        .map(|id| {
            Client::with_credentials([cluster.addr(id)], cluster.credentials())
                .map(|client| client.with_timeout(Duration::from_secs(5)))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    loop {
        match compare_once(&clients).await {
            Compared::Same => return Ok(()),
            Compared::Differ(difference) => return Err(difference),
            Compared::Moving(why) if started.elapsed() > PATIENCE => {
                return Err(format!("the replicas never stood still to be compared: {why}"));
            }
            // The log moved (a tick, a reachability note) between the reads: read again.
            Compared::Moving(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

enum Compared {
    Same,
    Differ(String),
    Moving(String),
}

async fn compare_once(clients: &[Client]) -> Compared {
    let Some(before) = applied_everywhere(clients).await else {
        return Compared::Moving("the nodes have applied different indexes".into());
    };
    let mut states = Vec::with_capacity(clients.len());
    for client in clients {
        match replica_state(client).await {
            Ok(state) => states.push(state),
            Err(e) => return Compared::Moving(format!("a read failed: {e}")),
        }
    }
    if applied_everywhere(clients).await != Some(before) {
        return Compared::Moving(format!("the log moved past index {before} while reading"));
    }
    let first = &states[0];
    for (i, other) in states.iter().enumerate().skip(1) {
        if let Some(line) = first.symmetric_difference(other).next() {
            let on = if first.contains(line) { 1 } else { i + 1 };
            return Compared::Differ(format!(
                "at applied index {before}, node {on} holds what another does not: {line}"
            ));
        }
    }
    Compared::Same
}

/// The applied index, when every node reports the same one.
async fn applied_everywhere(clients: &[Client]) -> Option<u64> {
    let mut indexes = BTreeSet::new();
    for client in clients {
        let addr = client.addrs().first().cloned()?;
        indexes.insert(client.node_status(&addr).await.ok()?.applied_index);
    }
    (indexes.len() == 1).then(|| indexes.into_iter().next()).flatten()
}

/// One node's replica as comparable lines.
async fn replica_state(client: &Client) -> Result<BTreeSet<String>, String> {
    let mut lines = BTreeSet::new();
    for queue in [QUEUE, FLOW_QUEUE] {
        let request = pb::ListTasksRequest {
            queue: queue.into(),
            limit: MAX_TASKS,
            linearizable: false,
            ..Default::default()
        };
        let listed = client.list_tasks(request).await.map_err(|e| e.to_string())?;
        for t in listed.tasks {
            lines.insert(format!(
                "task {} {} state={} attempts={} retries={} delivery={} worker={} finished={} lease={} result={:?} error={:?}",
                t.queue,
                t.id,
                t.state,
                t.attempts,
                t.retries,
                t.delivery,
                t.worker,
                t.finished_at_ms,
                t.lease_deadline_ms,
                String::from_utf8_lossy(&t.result),
                t.error
            ));
        }
    }
    let flows = client
        .list_flows(MAX_TASKS, false)
        .await
        .map_err(|e| e.to_string())?;
    for f in flows.flows {
        let parts: Vec<String> = f
            .parts
            .iter()
            .chain(f.callback.as_ref())
            .map(|p| format!("{}:{}", p.task_id, p.state))
            .collect();
        lines.insert(format!(
            "flow {} state={} done={}/{} parts={} result={:?} error={:?}",
            f.id,
            f.state,
            f.done,
            f.total,
            parts.join(","),
            String::from_utf8_lossy(&f.result),
            f.error
        ));
    }
    let schedules = client.list_schedules(false).await.map_err(|e| e.to_string())?;
    for s in schedules.schedules {
        let name = s.spec.as_ref().map(|spec| spec.name.clone()).unwrap_or_default();
        lines.insert(format!(
            "schedule {name} paused={} next={} last={} runs={} missed={} last_task={}",
            s.paused, s.next_run_ms, s.last_run_ms, s.runs, s.missed, s.last_task_id
        ));
    }
    let limits = client.list_limits(false).await.map_err(|e| e.to_string())?;
    lines.insert(format!("limits {limits:?}"));
    let workers = client.list_workers().await.map_err(|e| e.to_string())?;
    for w in workers.workers {
        lines.insert(format!(
            "worker {} queues={:?} processed={} failed={} last_seen={}",
            w.id, w.queues, w.processed, w.failed, w.last_seen_ms
        ));
    }
    Ok(lines)
}
