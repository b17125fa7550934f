//! Tasks: submit one or a batch, read, wait for, revoke and list.

use std::borrow::Cow;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::TaskDefaults;
use super::{OpError, TaskInput, linearizable, propose_one};
use crate::auth::Caller;
use crate::clock::wall_ms;
use crate::queue::validate::MAX_BATCH;
use crate::queue::{Command, Outcome, Rejection, SubmitTask, Task, TaskFilter, TaskId, TaskState};
use crate::raft::Replica;

/// How long a wait lasts when the client names no limit, and the most it may name.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// The header marking who submitted a task, when a producer token did: the one that may revoke it.
pub const SUBMITTED_BY: &str = "qraft-submitted-by";

/// A submit's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    pub id: TaskId,
    pub state: TaskState,
    /// The idempotency key named a task submitted before: this is that task.
    pub duplicate: bool,
}

fn prepared(
    input: TaskInput,
    defaults: &TaskDefaults,
    caller: &Caller,
    now_ms: u64,
) -> Result<SubmitTask, OpError> {
    let mut submit = input.prepare(defaults, now_ms)?;
    if let Some(producer) = caller.producer_name() {
        submit
            .headers
            .insert(SUBMITTED_BY.to_owned(), producer.to_owned());
    }
    Ok(submit)
}

fn submitted(outcome: Outcome) -> Result<Submitted, OpError> {
    match outcome {
        Outcome::Submitted { id, state, duplicate } => Ok(Submitted { id, state, duplicate }),
        Outcome::Rejected(rejection) => Err(OpError::Rejected(rejection)),
        other => Err(OpError::unexpected(&other)),
    }
}

/// Submits one task; answered once it is durable on a majority.
pub async fn submit(
    replica: &Replica,
    defaults: &TaskDefaults,
    caller: &Caller,
    input: TaskInput,
) -> Result<Submitted, OpError> {
    let started = std::time::Instant::now();
    let submit = prepared(input, defaults, caller, wall_ms())?;
    if let Some(refusal) = replica.shared().queue().refuses_at_once(&submit) {
        return Err(OpError::Rejected(refusal));
    }
    let answer = submitted(propose_one(replica, Command::Submit(submit)).await?);
    replica.timings().api_submit.observe_since(started);
    answer
}

/// Submits up to [`MAX_BATCH`] tasks in one log entry. Nothing is proposed unless every task is
/// valid; a task refused in apply (a key reused for another task) fails the call, while the
/// others are stored, and a resend with their keys finds them.
pub async fn submit_batch(
    replica: &Replica,
    defaults: &TaskDefaults,
    caller: &Caller,
    inputs: Vec<TaskInput>,
) -> Result<Vec<Submitted>, OpError> {
    if inputs.is_empty() || inputs.len() > MAX_BATCH {
        return Err(OpError::Invalid(format!(
            "a batch holds 1..={MAX_BATCH} tasks, not {}",
            inputs.len()
        )));
    }
    let started = std::time::Instant::now();
    let now = wall_ms();
    let commands = inputs
        .into_iter()
        .enumerate()
        .map(|(i, input)| {
            prepared(input, defaults, caller, now)
                .map(Command::Submit)
                .map_err(|e| in_batch(i, e, ""))
        })
        .collect::<Result<Vec<_>, OpError>>()?;
    let outcomes = replica.propose(commands).await?;
    replica.timings().api_submit.observe_since(started);
    outcomes
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| submitted(outcome).map_err(|e| in_batch(i, e, " (the others were stored)")))
        .collect()
}

/// Names the task of a batch an error is about, keeping the error's kind.
fn in_batch(i: usize, error: OpError, after: &str) -> OpError {
    let say = |message: String| format!("task {i} of the batch: {message}{after}");
    match error {
        OpError::Invalid(message) => OpError::Invalid(say(message)),
        OpError::TooLarge(message) => OpError::TooLarge(say(message)),
        OpError::Rejected(Rejection::Invalid(message)) => OpError::Invalid(say(message)),
        other => other,
    }
}

/// A task as this replica holds it, with the index it has applied; with `linearizable`, after
/// the leader confirmed it still leads.
pub async fn get(replica: &Replica, id: &TaskId, linearizable_read: bool) -> Result<(Task, u64), OpError> {
    if linearizable_read {
        linearizable(replica).await?;
    }
    let shared = replica.shared();
    let applied = *shared.applied().borrow();
    let task = shared
        .queue()
        .task(id)
        .map(Cow::into_owned)
        .ok_or_else(|| not_found(id))?;
    Ok((task, applied))
}

fn not_found(id: &TaskId) -> OpError {
    OpError::NotFound(format!("no task {id}"))
}

/// The task once it is final, or as it is when `limit` runs out (`false`). Served by the
/// leader: a wait right after a submit must find the task even if this replica has not applied
/// it yet. Subscribes to finished tasks before looking, so a finish in between is not missed.
pub async fn wait(replica: &Replica, id: &TaskId, limit: Duration) -> Result<(Task, bool), OpError> {
    linearizable(replica).await?;
    let mut finished = replica.shared().finished();
    let deadline = tokio::time::Instant::now() + limit.min(MAX_WAIT);
    loop {
        let task = replica
            .shared()
            .queue()
            .task(id)
            .map(Cow::into_owned)
            .ok_or_else(|| not_found(id))?;
        if task.state.is_final() {
            return Ok((task, true));
        }
        loop {
            match tokio::time::timeout_at(deadline, finished.recv()).await {
                Err(_) => return Ok((task, false)),
                Ok(Ok(done)) if done != *id => continue,
                // Ours finished, or we lagged and may have missed it: look again.
                Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => break,
                Ok(Err(RecvError::Closed)) => return Err(OpError::ShuttingDown),
            }
        }
    }
}

/// Revokes a task; a producer may revoke only the tasks it submitted.
pub async fn revoke(replica: &Replica, caller: &Caller, id: TaskId) -> Result<TaskState, OpError> {
    if let Some(producer) = caller.producer_name() {
        // Read the mark where it is current.
        let (task, _) = get(replica, &id, true).await?;
        if task.headers.get(SUBMITTED_BY).map(String::as_str) != Some(producer) {
            tracing::warn!(producer, task = %id, "refused: revoke of another's task");
            return Err(OpError::Forbidden(format!(
                "token {producer:?} may revoke only the tasks it submitted"
            )));
        }
    }
    match propose_one(replica, Command::Revoke { id }).await? {
        Outcome::Updated { state, .. } => Ok(state),
        other => Err(OpError::unexpected(&other)),
    }
}

/// The tasks matching `filter`, newest first, from this replica; with `linearizable`, after the
/// leader confirmed it still leads.
pub async fn list(
    replica: &Replica,
    linearizable_read: bool,
    filter: &TaskFilter,
) -> Result<Vec<Task>, OpError> {
    if linearizable_read {
        linearizable(replica).await?;
    }
    let shared = replica.shared();
    let queue = shared.queue();
    Ok(queue.list(filter).into_iter().map(Cow::into_owned).collect())
}
