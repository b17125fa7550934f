//! The stream of finished tasks behind gRPC `Tasks.WatchFinished` and HTTP
//! `/v1/streams/finished`: every task that finishes, in the replicated order of finishes, from a
//! given finish number on. A stream that falls behind reads the finishes it missed from the
//! index instead of losing them, and a client may resume on any node after the last number it
//! saw.

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

use super::OpError;
use crate::queue::{Task, TaskId};
use crate::raft::Replica;

/// Finishes read from the index per look, and the most one batch holds.
const STEP: usize = 256;
/// Batches waiting for a slow client before the stream waits for it.
const BUFFER: usize = 16;

/// Finished tasks after finish number `after` (or, without one, from the next finish on), of
/// `queue` only if given, in batches; ends when the receiver is dropped or the node stops.
pub fn finished(
    replica: &Replica,
    queue: Option<String>,
    after: Option<u64>,
) -> mpsc::Receiver<Result<Vec<Task>, OpError>> {
    // Subscribed before the starting point is read: nothing finishes unseen in between.
    let notices = replica.shared().finished();
    let start = after.unwrap_or_else(|| replica.shared().queue().last_finish_seq());
    let (batches, receiver) = mpsc::channel(BUFFER);
    tokio::spawn(forward(replica.clone(), queue, start, notices, batches));
    receiver
}

/// Sends every finish after `last` from the index, then waits for the next notice and looks
/// again; a notice missed (lagged) only means looking again.
async fn forward(
    replica: Replica,
    queue: Option<String>,
    mut last: u64,
    mut notices: broadcast::Receiver<TaskId>,
    batches: mpsc::Sender<Result<Vec<Task>, OpError>>,
) {
    loop {
        let (batch, scanned) = {
            let shared = replica.shared();
            let state = shared.queue();
            let found = state.finished_after(last, STEP);
            let scanned = found.len();
            let mut batch = Vec::with_capacity(scanned);
            for task in found {
                last = last.max(task.finish_seq.unwrap_or(last));
                if queue.as_ref().is_none_or(|q| *q == task.queue) {
                    batch.push(task.clone());
                }
            }
            (batch, scanned)
        };
        if !batch.is_empty() && batches.send(Ok(batch)).await.is_err() {
            return;
        }
        if scanned == STEP {
            continue;
        }
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => {
                    let _ = batches.send(Err(OpError::ShuttingDown)).await;
                    return;
                }
            },
            () = batches.closed() => return,
        }
    }
}
