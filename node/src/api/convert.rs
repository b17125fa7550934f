//! Conversions between queue types and `qraft.v1` messages.

use qraft_proto::pb;

use crate::queue::{Task, TaskState};

pub fn state_to_pb(state: TaskState) -> pb::TaskState {
    match state {
        TaskState::Pending => pb::TaskState::Pending,
        TaskState::Scheduled => pb::TaskState::Scheduled,
        TaskState::Started => pb::TaskState::Started,
        TaskState::Retry => pb::TaskState::Retry,
        TaskState::Success => pb::TaskState::Success,
        TaskState::Failure => pb::TaskState::Failure,
        TaskState::Revoked => pb::TaskState::Revoked,
        TaskState::Expired => pb::TaskState::Expired,
    }
}

pub fn task_to_pb(task: &Task) -> pb::Task {
    pb::Task {
        id: task.id.to_string(),
        name: task.name.clone(),
        queue: task.queue.clone(),
        state: state_to_pb(task.state).into(),
        priority: u32::from(task.priority),
        attempts: task.attempts,
        worker: task.worker.clone().unwrap_or_default(),
        args: task.args.clone(),
        headers: task.headers.clone().into_iter().collect(),
        result: task.result.clone().unwrap_or_default(),
        error: task.error.clone().unwrap_or_default(),
        created_at_ms: task.created_at_ms,
        eta_ms: task.eta_ms.unwrap_or_default(),
        expires_at_ms: task.expires_at_ms.unwrap_or_default(),
        started_at_ms: task.started_at_ms.unwrap_or_default(),
        finished_at_ms: task.finished_at_ms.unwrap_or_default(),
    }
}
