//! Conversions between queue types and `qraft.v1` messages, applying [`TaskDefaults`].

use qraft_proto::pb;
use tonic::Status;

use super::{TaskDefaults, status};
use crate::ops::TaskInput;
use crate::queue::{LeasedTask, SubmitTask, Task, TaskId, TaskState};

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

/// `None` for "unspecified" (match everything); an error for a number no state has.
pub fn state_from_pb(state: i32) -> Result<Option<TaskState>, Status> {
    Ok(match pb::TaskState::try_from(state) {
        Ok(pb::TaskState::Unspecified) => None,
        Ok(pb::TaskState::Pending) => Some(TaskState::Pending),
        Ok(pb::TaskState::Scheduled) => Some(TaskState::Scheduled),
        Ok(pb::TaskState::Started) => Some(TaskState::Started),
        Ok(pb::TaskState::Retry) => Some(TaskState::Retry),
        Ok(pb::TaskState::Success) => Some(TaskState::Success),
        Ok(pb::TaskState::Failure) => Some(TaskState::Failure),
        Ok(pb::TaskState::Revoked) => Some(TaskState::Revoked),
        Ok(pb::TaskState::Expired) => Some(TaskState::Expired),
        Err(_) => return Err(status::invalid(format!("unknown task state {state}"))),
    })
}

/// A task as protobuf, its payloads moved rather than copied (reads already hold a copy).
pub fn task_to_pb(task: Task) -> pb::Task {
    pb::Task {
        id: task.id.to_string(),
        state: state_to_pb(task.state).into(),
        priority: u32::from(task.priority),
        attempts: task.attempts,
        created_at_ms: task.created_at_ms,
        eta_ms: task.eta_ms.unwrap_or_default(),
        expires_at_ms: task.expires_at_ms.unwrap_or_default(),
        started_at_ms: task.started_at_ms.unwrap_or_default(),
        finished_at_ms: task.finished_at_ms.unwrap_or_default(),
        retries: task.retries,
        max_retries: task.options.retry.max_retries,
        retry_at_ms: task.retry_at_ms.unwrap_or_default(),
        timeout_ms: task.options.timeout_ms.unwrap_or_default(),
        delivery: task.lease.as_ref().map_or(0, |l| l.delivery),
        lease_deadline_ms: task.lease.as_ref().map_or(0, |l| l.deadline_ms),
        name: task.name,
        queue: task.queue,
        worker: task.worker.unwrap_or_default(),
        args: task.args,
        headers: task.headers.into_iter().collect(),
        result: task.result.unwrap_or_default(),
        error: task.error.unwrap_or_default(),
        idempotency_key: task.idempotency_key.unwrap_or_default(),
    }
}

pub fn leased_to_pb(task: LeasedTask) -> pb::LeasedTask {
    pb::LeasedTask {
        id: task.id.to_string(),
        delivery: task.delivery,
        deadline_ms: task.deadline_ms,
        name: task.name,
        queue: task.queue,
        args: task.args,
        headers: task.headers.into_iter().collect(),
        timeout_ms: task.timeout_ms.unwrap_or_default(),
        attempts: task.attempts,
    }
}

pub fn parse_id(id: &str) -> Result<TaskId, Status> {
    id.parse().map_err(status::invalid)
}

/// A client's task as proto3 sends it: a zero or empty field is "not given", except the
/// `optional` ones, whose presence says it.
pub fn task_input_from_pb(spec: pb::TaskSpec) -> TaskInput {
    let given = |ms: u64| (ms > 0).then_some(ms);
    let text = |s: String| (!s.is_empty()).then_some(s);
    TaskInput {
        name: spec.name,
        queue: text(spec.queue),
        args: spec.args,
        headers: spec.headers.into_iter().collect(),
        priority: Some(spec.priority),
        countdown_ms: given(spec.countdown_ms),
        eta_ms: given(spec.eta_ms),
        expires_in_ms: given(spec.expires_in_ms),
        max_retries: Some(spec.max_retries),
        retry_delay_ms: spec.retry_delay_ms,
        retry_factor: (spec.retry_factor != 0.0).then_some(spec.retry_factor),
        retry_max_delay_ms: spec.retry_max_delay_ms,
        retry_jitter: Some(!spec.retry_no_jitter),
        timeout_ms: given(spec.timeout_ms),
        idempotency_key: text(spec.idempotency_key),
        result_ttl_ms: spec.result_ttl_ms,
        delivery_limit: (spec.delivery_limit > 0).then_some(spec.delivery_limit),
        concurrency_key: text(spec.concurrency_key),
        concurrency_limit: (spec.concurrency_limit > 0).then_some(spec.concurrency_limit),
    }
}

/// Checks a client's task, fills in defaults and gives it an id, before anything is proposed.
/// `now_ms` (this node's clock) bounds an eta.
pub fn submit_from_pb(
    spec: pb::TaskSpec,
    defaults: &TaskDefaults,
    now_ms: u64,
) -> Result<SubmitTask, Status> {
    task_input_from_pb(spec)
        .prepare(defaults, now_ms)
        .map_err(status::from_op_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_zero_is_zero_and_an_absent_one_the_default() {
        let defaults = TaskDefaults::default();
        let spec = |delay: Option<u64>, ttl: Option<u64>| pb::TaskSpec {
            name: "t".into(),
            retry_delay_ms: delay,
            result_ttl_ms: ttl,
            ..Default::default()
        };
        let zero = submit_from_pb(spec(Some(0), Some(0)), &defaults, 0).expect("valid");
        assert_eq!(zero.options.retry.initial_delay_ms, 0, "retry at once");
        assert_eq!(zero.options.result_ttl_ms, 0, "deleted when finished");
        let absent = submit_from_pb(spec(None, None), &defaults, 0).expect("valid");
        assert_eq!(absent.options.retry.initial_delay_ms, 1_000);
        assert_eq!(absent.options.result_ttl_ms, defaults.result_ttl_ms);
    }
}
