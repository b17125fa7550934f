//! `Tasks.WatchFinished`: finished tasks in the replicated order of finishes, from
//! [`crate::ops::streams`], for result listeners and `qraft bench`. Each batch the stream hands
//! over goes out as one message, cut to what a client decodes.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use qraft_proto::limits::MAX_MESSAGE;
use qraft_proto::pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{convert, status};
use crate::ops::streams;
use crate::queue::Task;
use crate::raft::Replica;

pub type FinishedStream = Pin<Box<dyn Stream<Item = Result<pb::FinishedTasks, Status>> + Send>>;

/// Streams until the client goes away; `after_seq` resumes after a finish number.
pub fn finished_stream(
    replica: Replica,
    queue: Option<String>,
    after_seq: Option<u64>,
    with_results: bool,
) -> FinishedStream {
    let batches = ReceiverStream::new(streams::finished(&replica, queue, after_seq));
    Box::pin(batches.flat_map(move |batch| {
        let messages: Vec<Result<pb::FinishedTasks, Status>> = match batch {
            Ok(tasks) => messages(&tasks, with_results).into_iter().map(Ok).collect(),
            Err(e) => vec![Err(status::from_op_error(e))],
        };
        futures::stream::iter(messages)
    }))
}

/// The tasks as messages of at most half the message limit each (results can be large).
fn messages(tasks: &[Task], with_results: bool) -> Vec<pb::FinishedTasks> {
    let budget = MAX_MESSAGE / 2;
    let mut out = Vec::new();
    let mut current = pb::FinishedTasks::default();
    let mut used = 0;
    for task in tasks {
        let finished = describe(task, with_results);
        let size = prost::Message::encoded_len(&finished) + 8;
        if used + size > budget && !current.tasks.is_empty() {
            out.push(std::mem::take(&mut current));
            used = 0;
        }
        used += size;
        current.tasks.push(finished);
    }
    if !current.tasks.is_empty() {
        out.push(current);
    }
    out
}

fn describe(task: &Task, with_results: bool) -> pb::FinishedTask {
    pb::FinishedTask {
        id: task.id.to_string(),
        queue: task.queue.clone(),
        state: convert::state_to_pb(task.state).into(),
        finished_at_ms: task.finished_at_ms.unwrap_or_default(),
        seq: task.finish_seq.unwrap_or_default(),
        name: task.name.clone(),
        result: if with_results {
            task.result.clone().unwrap_or_default()
        } else {
            Vec::new()
        },
        error: if with_results {
            task.error.clone().unwrap_or_default()
        } else {
            String::new()
        },
    }
}
