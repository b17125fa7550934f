//! One refresh round every `--refresh` (and at once after an action or a filter change):
//! NodeStatus from every node concurrently, then the lists (queues, workers, tasks, schedules,
//! limits, flows) concurrently, then one snapshot to the UI.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use qraft_proto::{Client, ClientError};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::MissedTickBehavior;

use super::nodes::NodeBook;
use super::{CALL_TIMEOUT, LIST_RETRY, convert, describe};
use crate::app::Msg;
use crate::filter::TaskFilter;
use crate::model::{NodeEntry, Snapshot};

pub(super) struct Poller {
    pub client: Client,
    pub refresh: Duration,
    pub filter: watch::Receiver<TaskFilter>,
    /// Rung by the action runner, so an action's effect shows without waiting for the tick.
    pub refresh_now: Arc<Notify>,
    /// Addresses that answered the last round (`None` before the first), for the event
    /// stream to pick a live node.
    pub reachable: watch::Sender<Option<Vec<String>>>,
    pub out: mpsc::UnboundedSender<Msg>,
}

pub(super) async fn run(mut poller: Poller) {
    let status_client = poller.client.clone().with_timeout(CALL_TIMEOUT);
    let list_client = poller
        .client
        .clone()
        .with_timeout(CALL_TIMEOUT)
        .with_retry(LIST_RETRY);
    let mut book = NodeBook::new(poller.client.addrs());
    let mut last = Snapshot::default();
    let mut last_at = tokio::time::Instant::now();
    let mut last_filter = None;
    let mut interval = tokio::time::interval(poller.refresh);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick is immediate, and the first round starts at once below anyway.
    interval.tick().await;
    loop {
        let filter = poller.filter.borrow_and_update().clone();
        // Tasks listed under another filter would be wrong, not just old.
        if last_filter.as_ref() != Some(&filter) {
            last.tasks.clear();
        }
        let since_last = last_at.elapsed();
        last_at = tokio::time::Instant::now();
        let previous = std::mem::take(&mut last);
        let snapshot = refresh(
            &status_client,
            &list_client,
            &mut book,
            &filter,
            previous,
            since_last,
        )
        .await;
        last_filter = Some(filter);
        poller.reachable.send_replace(Some(reachable(&snapshot.nodes)));
        if poller
            .out
            .send(Msg::Snapshot(Box::new(snapshot.clone())))
            .is_err()
        {
            return;
        }
        last = snapshot;
        tokio::select! {
            _ = interval.tick() => {}
            () = poller.refresh_now.notified() => interval.reset(),
            changed = poller.filter.changed() => {
                if changed.is_err() {
                    return;
                }
                interval.reset();
            }
        }
    }
}

fn reachable(nodes: &[NodeEntry]) -> Vec<String> {
    nodes
        .iter()
        .filter(|node| node.status.is_ok())
        .map(|node| node.addr.clone())
        .collect()
}

/// The answer to a list read, or `None` with a problem line: the caller then keeps the list's
/// previous value.
fn keep_last<T>(what: &str, answer: Result<T, ClientError>, problems: &mut Vec<String>) -> Option<T> {
    answer
        .map_err(|error| problems.push(format!("{what}: {}", describe(&error))))
        .ok()
}

/// One round, built on the previous one: a list that cannot be read keeps its previous value
/// and adds a problem line; cluster time then moves on by the local time since.
async fn refresh(
    status_client: &Client,
    list_client: &Client,
    book: &mut NodeBook,
    filter: &TaskFilter,
    last: Snapshot,
    since_last: std::time::Duration,
) -> Snapshot {
    let answers = futures::future::join_all(book.addrs().iter().map(|addr| async move {
        let answer = status_client
            .node_status(addr)
            .await
            .map(convert::node_view)
            .map_err(|error| describe(&error));
        (addr.clone(), answer)
    }))
    .await;
    let nodes = book.record(answers);

    let (queues, workers, tasks, schedules, limits, flows) = tokio::join!(
        list_client.list_queues(false),
        list_client.list_workers(),
        list_client.list_tasks(convert::list_tasks_request(filter)),
        list_client.list_schedules(false),
        list_client.list_limits(false),
        list_client.list_flows(convert::FLOWS_LISTED, false),
    );
    let mut snapshot = Snapshot {
        nodes,
        problems: Vec::new(),
        ..last
    };
    let problems = &mut snapshot.problems;
    // Cluster time from the first list that answered with one: they were asked together, so
    // any of them will do, and ages stay right while the workers list is failing.
    let mut cluster_now: Option<u64> = None;
    let mut told = |now_ms: u64| {
        if cluster_now.is_none() && now_ms != 0 {
            cluster_now = Some(now_ms);
        }
    };
    if let Some(queues) = keep_last("queues", queues, problems) {
        snapshot.queues = queues.into_iter().map(convert::queue).collect();
    }
    if let Some(response) = keep_last("workers", workers, problems) {
        let (workers, now_ms) = convert::workers(response);
        snapshot.workers = workers;
        told(now_ms);
    }
    if let Some(listed) = keep_last("tasks", tasks, problems) {
        snapshot.tasks = listed.tasks.into_iter().map(convert::task).collect();
    }
    if let Some(response) = keep_last("schedules", schedules, problems) {
        let (schedules, now_ms) = convert::schedules(response);
        snapshot.schedules = schedules;
        told(now_ms);
    }
    if let Some(response) = keep_last("limits", limits, problems) {
        let (limits, now_ms) = convert::limits(response);
        snapshot.limits = limits;
        told(now_ms);
    }
    if let Some(listed) = keep_last("flows", flows, problems) {
        snapshot.flows = listed.flows.into_iter().map(convert::flow).collect();
    }
    match cluster_now {
        Some(now_ms) => snapshot.cluster_now_ms = now_ms,
        None => {
            let elapsed = u64::try_from(since_last.as_millis()).unwrap_or(u64::MAX);
            snapshot.cluster_now_ms = snapshot.cluster_now_ms.saturating_add(elapsed);
        }
    }
    if snapshot.cluster_now_ms == 0 {
        // No node told the cluster time yet: this machine's clock is the best guess for ages.
        snapshot.cluster_now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    }
    snapshot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_read_is_a_problem_line_and_no_new_value() {
        let mut problems = Vec::new();
        let failed: Result<Vec<u8>, ClientError> = Err(ClientError::Protocol("bad answer".into()));
        assert_eq!(keep_last("flows", failed, &mut problems), None);
        assert_eq!(keep_last("limits", Ok(vec![1]), &mut problems), Some(vec![1]));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("flows: "), "{problems:?}");
        assert!(problems[0].contains("bad answer"), "{problems:?}");
    }
}
