//! The network worker: everything that talks to the cluster runs here, on tokio tasks, never
//! on the render loop. Three tasks, each reporting to the UI as [`Msg`]s over one channel:
//!
//! - `poll`: every refresh, NodeStatus from every node concurrently, then queues, workers,
//!   tasks, schedules, limits and flows; one [`crate::model::Snapshot`] per round.
//! - `events`: the event stream, moving to another reachable node when its node fails and
//!   resuming after the last sequence number seen.
//! - `actions`: runs the operator's actions and reports each result.
//!
//! `convert` (with its submodules) is the one place protobuf becomes console types; `nodes`
//! decides whom to ask, following the membership as nodes are added and removed.

mod actions;
mod convert;
mod events;
mod nodes;
mod poll;

use std::sync::Arc;
use std::time::Duration;

use qraft_proto::{Client, ClientError, RetryPolicy};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::action::Action;
use crate::app::Msg;
use crate::filter::TaskFilter;

/// Longest wait for one node's answer. A healthy node answers in milliseconds; waiting longer
/// would only delay the whole refresh behind one dead node.
const CALL_TIMEOUT: Duration = Duration::from_millis(800);

/// Reads for the lists try a few nodes quickly: the next refresh is never far away.
const LIST_RETRY: RetryPolicy = RetryPolicy {
    attempts: 3,
    initial_backoff: Duration::from_millis(50),
    max_backoff: Duration::from_millis(200),
    deadline: Duration::from_secs(2),
};

/// The UI's handle on the network worker; dropping it stops every task.
#[derive(Debug)]
pub struct Fetcher {
    actions: mpsc::UnboundedSender<Action>,
    filter: watch::Sender<TaskFilter>,
    tasks: Vec<JoinHandle<()>>,
}

impl Fetcher {
    /// Starts the worker; it reports to `out` until the receiver is dropped.
    pub fn spawn(client: Client, refresh: Duration, out: mpsc::UnboundedSender<Msg>) -> Fetcher {
        let refresh_now = Arc::new(Notify::new());
        let (filter_tx, filter_rx) = watch::channel(TaskFilter::default());
        let (reachable_tx, reachable_rx) = watch::channel(None);
        let (action_tx, action_rx) = mpsc::unbounded_channel();
        let poller = poll::Poller {
            client: client.clone(),
            refresh,
            filter: filter_rx,
            refresh_now: refresh_now.clone(),
            reachable: reachable_tx,
            out: out.clone(),
        };
        let tasks = vec![
            tokio::spawn(poll::run(poller)),
            tokio::spawn(events::run(client.clone(), reachable_rx, out.clone())),
            tokio::spawn(actions::run(client, action_rx, refresh_now, out)),
        ];
        Fetcher {
            actions: action_tx,
            filter: filter_tx,
            tasks,
        }
    }

    pub fn run(&self, action: Action) {
        if self.actions.send(action).is_err() {
            tracing::error!("the action runner has stopped; action dropped");
        }
    }

    /// Lists tasks with `filter` from now on, starting with a refresh at once.
    pub fn set_filter(&self, filter: TaskFilter) {
        self.filter.send_replace(filter);
    }
}

impl Drop for Fetcher {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// An error as one line for a table cell or the status line: for an unreachable node, the
/// last failure rather than the client's whole retry story.
fn describe(error: &ClientError) -> String {
    match error {
        ClientError::Unavailable { last, .. } => last.clone(),
        other => other.to_string(),
    }
}
