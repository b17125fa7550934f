//! One refresh round every `--refresh` (and at once after an action or a filter change):
//! NodeStatus from every node concurrently, then the lists, then one snapshot to the UI.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use qraft_proto::Client;
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
        if poller.out.send(Msg::Snapshot(snapshot.clone())).is_err() {
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

    let (queues, workers, tasks) = tokio::join!(
        list_client.list_queues(false),
        list_client.list_workers(),
        list_client.list_tasks(convert::list_tasks_request(filter)),
    );
    let mut snapshot = Snapshot {
        nodes,
        problems: Vec::new(),
        ..last
    };
    match queues {
        Ok(queues) => snapshot.queues = queues.into_iter().map(convert::queue).collect(),
        Err(error) => snapshot.problems.push(format!("queues: {}", describe(&error))),
    }
    match workers {
        Ok(response) => {
            let (workers, now_ms) = convert::workers(response);
            snapshot.workers = workers;
            snapshot.cluster_now_ms = now_ms;
        }
        Err(error) => {
            let elapsed = u64::try_from(since_last.as_millis()).unwrap_or(u64::MAX);
            snapshot.cluster_now_ms = snapshot.cluster_now_ms.saturating_add(elapsed);
            snapshot.problems.push(format!("workers: {}", describe(&error)));
        }
    }
    match tasks {
        Ok(tasks) => snapshot.tasks = tasks.into_iter().map(convert::task).collect(),
        Err(error) => snapshot.problems.push(format!("tasks: {}", describe(&error))),
    }
    if snapshot.cluster_now_ms == 0 {
        // No node told the cluster time yet: this machine's clock is the best guess for ages.
        snapshot.cluster_now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
    }
    snapshot
}
