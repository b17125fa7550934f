//! The streams behind both edges, each in a replicated order so that a client resumes on any
//! node after the last number it saw:
//!
//! - [`finished`]: every task that finishes, by finish number (gRPC `Tasks.WatchFinished`, HTTP
//!   `/v1/streams/finished`). A stream that falls behind reads what it missed from the index.
//! - [`events`]: the event timeline, by event number (gRPC `Admin.WatchEvents`, HTTP
//!   `/v1/streams/events`).

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

use super::OpError;
use crate::queue::{Event, Task, TaskId};
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
                    batch.push(task.into_owned());
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

/// Events after `after` (0: the oldest kept), in batches, as they are applied.
pub fn events(replica: &Replica, after: u64) -> mpsc::Receiver<Result<Vec<Event>, OpError>> {
    let (batches, receiver) = mpsc::channel(BUFFER);
    tokio::spawn(forward_events(replica.clone(), after, batches));
    receiver
}

async fn forward_events(
    replica: Replica,
    mut after: u64,
    batches: mpsc::Sender<Result<Vec<Event>, OpError>>,
) {
    // Subscribed before the first read, so an event between the read and the wait still wakes us.
    let mut last_event = replica.shared().last_event();
    loop {
        let batch: Vec<Event> = replica
            .shared()
            .queue()
            .events_after(after)
            .take(STEP)
            .cloned()
            .collect();
        if let Some(last) = batch.last() {
            after = last.seq;
            if batches.send(Ok(batch)).await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            () = batches.closed() => return,
            changed = last_event.changed() => if changed.is_err() {
                let _ = batches.send(Err(OpError::ShuttingDown)).await;
                return;
            },
        }
    }
}
