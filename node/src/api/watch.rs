//! `Tasks.WatchFinished`: a stream of tasks reaching a final state on this replica, for result
//! listeners and `qraft bench`. Finishes are sent in batches: everything that arrived while the
//! previous batch was being sent goes out as one message.

use std::pin::Pin;

use futures::Stream;
use qraft_proto::pb;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::convert;
use crate::queue::TaskId;
use crate::raft::Replica;

pub type FinishedStream = Pin<Box<dyn Stream<Item = Result<pb::FinishedTasks, Status>> + Send>>;

/// Most finishes in one message.
const MAX_PER_MESSAGE: usize = 4096;

/// Subscribes now (so nothing finishing after the call is answered is missed) and streams until
/// the client goes away.
pub fn finished_stream(replica: Replica, queue: Option<String>) -> FinishedStream {
    let finished = replica.shared().finished();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(forward(replica, queue, finished, tx));
    Box::pin(ReceiverStream::new(rx))
}

async fn forward(
    replica: Replica,
    queue: Option<String>,
    mut finished: broadcast::Receiver<TaskId>,
    tx: mpsc::Sender<Result<pb::FinishedTasks, Status>>,
) {
    loop {
        let first = tokio::select! {
            _ = tx.closed() => return,
            first = finished.recv() => first,
        };
        let mut ids = Vec::new();
        let mut next = first;
        loop {
            match next {
                Ok(id) => ids.push(id),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let message = format!("the watcher fell behind and missed {missed} finished tasks");
                    let _ = tx.send(Err(Status::data_loss(message))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let _ = tx
                        .send(Err(Status::unavailable("this node is shutting down")))
                        .await;
                    return;
                }
            }
            if ids.len() >= MAX_PER_MESSAGE {
                break;
            }
            next = match finished.try_recv() {
                Ok(id) => Ok(id),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    Err(broadcast::error::RecvError::Lagged(missed))
                }
                Err(broadcast::error::TryRecvError::Closed) => Err(broadcast::error::RecvError::Closed),
                Err(broadcast::error::TryRecvError::Empty) => break,
            };
        }
        let tasks = describe(&replica, &ids, queue.as_deref());
        if !tasks.is_empty() && tx.send(Ok(pb::FinishedTasks { tasks })).await.is_err() {
            return;
        }
    }
}

/// The finished tasks as the replica holds them now; tasks already deleted are left out.
fn describe(replica: &Replica, ids: &[TaskId], queue: Option<&str>) -> Vec<pb::FinishedTask> {
    let shared = replica.shared();
    let state = shared.queue();
    ids.iter()
        .filter_map(|id| state.task(id))
        .filter(|task| queue.is_none_or(|q| task.queue == q))
        .map(|task| pb::FinishedTask {
            id: task.id.to_string(),
            queue: task.queue.clone(),
            state: convert::state_to_pb(task.state).into(),
            finished_at_ms: task.finished_at_ms.unwrap_or_default(),
        })
        .collect()
}
