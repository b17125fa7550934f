//! What the cluster holds after the drain, read once and written into the history as `Final`,
//! `FlowFinal`, `FinalStep` and `Schedule` entries: the checker compares them with what the
//! clients were told.

use std::time::Duration;

use qraft_proto::{Client, RetryPolicy, pb};

use crate::cluster::{Cluster, EXPIRING_QUEUE, FLOW_QUEUE, LIMITED_QUEUE, QUEUE};
use crate::history::{Entry, FinalPart, Recorder, StepOwner};
use crate::workload::flows::SCHEDULE;

/// Every task of a queue of the run, read on the leader; `run` keeps a run under this many.
pub const MAX_TASKS: u32 = 10_000;

/// The header names of flow parts and scheduled runs (qraft's `queue/flow.rs`, `schedule.rs`).
const FLOW_HEADER: &str = "qraft-flow";
const PART_HEADER: &str = "qraft-flow-part";
const DUE_HEADER: &str = "qraft-due-ms";

pub fn listing(queue: &str) -> pb::ListTasksRequest {
    pb::ListTasksRequest {
        queue: queue.into(),
        limit: MAX_TASKS,
        linearizable: true,
        ..Default::default()
    }
}

/// A final list cut short misses tasks the checker then calls lost: say why, in the run's log.
fn warn_if_truncated(truncated: bool, what: &str) {
    if truncated {
        tracing::error!("the final {what} do not fit in one list reply: the checker sees only the newest");
    }
}

pub fn state_name(state: i32) -> String {
    pb::TaskState::try_from(state).map_or("UNKNOWN".into(), |s| s.as_str_name().to_owned())
}

fn flow_state_name(state: i32) -> String {
    pb::FlowState::try_from(state).map_or("UNKNOWN".into(), |s| s.as_str_name().to_owned())
}

/// A client patient enough for the final reads: up to 10 s each.
fn patient(cluster: &Cluster) -> anyhow::Result<Client> {
    let retry = RetryPolicy {
        deadline: Duration::from_secs(10),
        ..RetryPolicy::default()
    };
    Ok(cluster.client()?.with_retry(retry))
}

/// Records the final state, read even when the drain failed (then what is missing shows as
/// lost). A read that fails leaves its entries out, so everything acknowledged counts as lost.
/// `schedule_stopped_at_ms`: when the harness paused its schedule (Unix ms).
pub async fn record(cluster: &Cluster, history: &Recorder, schedule_stopped_at_ms: u64) {
    let client = match patient(cluster) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the final state");
            return;
        }
    };
    for queue in [QUEUE, LIMITED_QUEUE, EXPIRING_QUEUE] {
        match client.list_tasks(listing(queue)).await {
            Ok(listed) => {
                warn_if_truncated(listed.truncated, "tasks");
                for task in listed.tasks {
                    history.record(&Entry::Final {
                        key: task.idempotency_key,
                        task_id: task.id,
                        state: state_name(task.state),
                        attempts: task.attempts,
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, queue, "cannot read the final tasks"),
        }
    }
    match client.list_tasks(listing(FLOW_QUEUE)).await {
        Ok(listed) => {
            warn_if_truncated(listed.truncated, "flow tasks");
            for task in listed.tasks {
                history.record(&Entry::FinalStep {
                    owner: owner(&task),
                    task_id: task.id,
                    state: state_name(task.state),
                    attempts: task.attempts,
                });
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the final flow tasks"),
    }
    match client.list_flows(MAX_TASKS, true).await {
        Ok(listed) => {
            warn_if_truncated(listed.truncated, "flows");
            for flow in listed.flows {
                history.record(&flow_final(flow));
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the final flows"),
    }
    match client.list_schedules(true).await {
        Ok(listed) => {
            for listed in listed.schedules {
                let Some(spec) = listed.spec.filter(|spec| spec.name == SCHEDULE) else {
                    continue;
                };
                history.record(&Entry::Schedule {
                    name: spec.name,
                    interval_ms: spec.every_ms,
                    created_at_ms: listed.created_at_ms,
                    stopped_at_ms: schedule_stopped_at_ms,
                    runs: listed.runs,
                    missed: listed.missed,
                });
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read the final schedules"),
    }
}

fn owner(task: &pb::Task) -> StepOwner {
    if let (Some(flow_id), Some(part)) = (task.headers.get(FLOW_HEADER), task.headers.get(PART_HEADER)) {
        return StepOwner::Flow {
            flow_id: flow_id.clone(),
            part: part.clone(),
        };
    }
    match task.headers.get(DUE_HEADER).map(|due| due.parse()) {
        Some(Ok(due_ms)) => StepOwner::Schedule { due_ms },
        _ => StepOwner::Unknown,
    }
}

fn flow_final(flow: pb::Flow) -> Entry {
    let part = |part: pb::FlowPart| FinalPart {
        task_id: (!part.task_id.is_empty()).then_some(part.task_id),
        state: state_name(part.state),
    };
    let kind = pb::FlowKind::try_from(flow.kind).map_or("unknown", |kind| match kind {
        pb::FlowKind::Chain => "chain",
        pb::FlowKind::Group => "group",
        pb::FlowKind::Chord => "chord",
        pb::FlowKind::Unspecified => "unknown",
    });
    Entry::FlowFinal {
        flow_id: flow.id,
        key: flow.idempotency_key,
        kind: kind.into(),
        state: flow_state_name(flow.state),
        parts: flow.parts.into_iter().chain(flow.callback).map(part).collect(),
        result: String::from_utf8_lossy(&flow.result).into_owned(),
    }
}
