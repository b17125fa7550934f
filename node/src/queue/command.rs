//! Commands change the queue; outcomes answer them. Both are stored in the Raft log, so both are
//! part of the on-disk format: add variants and `#[serde(default)]` fields, never change meaning.

use serde::{Deserialize, Serialize};

use super::cap::CapKind;
use super::event::Observation;
use super::flow::{FlowId, SubmitFlow};
use super::lease::{LeaseRequest, LeasedTask};
use super::limit::{LimitScope, Rate};
use super::schedule::{Firing, PlannedFrom, Schedule, ScheduleSpec};
use super::submit::SubmitTask;
use super::task::{TaskId, TaskState};
use super::worker::WorkerRegistration;

/// A change of queue state, as proposed by a node and applied on every replica.
// Submit, the largest variant, is also by far the most common: boxing it would cost an
// allocation per task to save memory on the rare small commands.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Submit(SubmitTask),
    /// Hand up to `max` runnable tasks to `worker`.
    Lease(LeaseRequest),
    /// The attempt with this delivery number succeeded.
    Ack {
        id: TaskId,
        delivery: u32,
        #[serde(with = "serde_bytes")]
        result: Vec<u8>,
    },
    /// The attempt with this delivery number failed; retried if the policy allows and `retry`,
    /// after `retry_in_ms` when set, else after the policy's backoff.
    Fail {
        id: TaskId,
        delivery: u32,
        error: String,
        retry: bool,
        #[serde(default)]
        retry_in_ms: Option<u64>,
    },
    /// The worker gives the task back unrun (it is shutting down): the task is ready again at
    /// once, without waiting for the lease to expire. Counts as a delivery, not as a failure.
    Release {
        id: TaskId,
        delivery: u32,
    },
    /// The attempt is still running: push its lease deadline out.
    Extend {
        id: TaskId,
        delivery: u32,
        lease_ms: u64,
    },
    Revoke {
        id: TaskId,
    },
    PauseQueue {
        queue: String,
    },
    ResumeQueue {
        queue: String,
    },
    /// Deletes every waiting (pending, scheduled, retrying) task of the queue.
    PurgeQueue {
        queue: String,
    },
    /// Puts dead letters back in their queue with their attempts reset: one task, or all of
    /// one queue's, or all.
    RetryDead {
        selector: DeadSelector,
    },
    /// Deletes dead letters.
    PurgeDead {
        selector: DeadSelector,
    },
    /// Lets time pass: expires leases and tasks, releases due retries and etas, purges results.
    Tick,
    /// A worker joins (or re-joins, updating what it said before).
    RegisterWorker(WorkerRegistration),
    /// A worker is alive with this many tasks running.
    WorkerHeartbeat {
        id: String,
        active: u32,
    },
    /// A worker leaves for good.
    LeaveWorker {
        id: String,
    },
    /// Something the leader observed of the cluster, for the timeline.
    Observe(Observation),
    /// Sets (or changes) a cluster-wide rate limit.
    SetLimit {
        scope: LimitScope,
        rate: Rate,
    },
    /// Removes a rate limit, and a queue's caps; `Count` of what there was.
    RemoveLimit {
        scope: LimitScope,
    },
    /// Adds a schedule or replaces the one of the same name. `seed`: random bits from the
    /// proposer, from which the ids of the schedule's runs are derived.
    AddSchedule {
        spec: Box<ScheduleSpec>,
        seed: u128,
    },
    /// Removes a schedule; `Count(1)` if there was one.
    RemoveSchedule {
        name: String,
    },
    PauseSchedule {
        name: String,
    },
    ResumeSchedule {
        name: String,
    },
    /// Starts a workflow: stores it and enqueues its first tasks.
    SubmitFlow(Box<SubmitFlow>),
    /// The leader's plan for a cron schedule (see `schedule.rs`): the runs of the due times that
    /// came and the next due time, taken only if the schedule still stands at `from`.
    FireSchedule {
        name: String,
        from: PlannedFrom,
        firing: Firing,
    },
    /// Sets one cap of a queue (`value` 0 removes it).
    SetQueueCap {
        queue: String,
        cap: CapKind,
        value: u64,
    },
}

/// Which dead letters a command applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeadSelector {
    Task(TaskId),
    Queue(String),
    All,
}

/// The answer to one command. Business failures are values, never errors of the apply: a
/// rejected command is still a committed, applied log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The task exists with this state; `duplicate` when an earlier submit (same id or same
    /// idempotency key) had stored it already.
    Submitted {
        id: TaskId,
        state: TaskState,
        duplicate: bool,
    },
    Leased(Vec<LeasedTask>),
    /// The task's state after an ack, fail or revoke.
    Updated {
        id: TaskId,
        state: TaskState,
    },
    Extended {
        id: TaskId,
        deadline_ms: u64,
    },
    /// How many tasks a purge or retry touched.
    Count(u64),
    /// The flow exists; `duplicate` when an earlier submit (same id or idempotency key) stored it.
    FlowSubmitted {
        id: FlowId,
        duplicate: bool,
    },
    /// A schedule after the change; `replaced` when an add replaced one of the same name.
    Schedule {
        schedule: Box<Schedule>,
        replaced: bool,
    },
    Done,
    Rejected(Rejection),
}

/// Why a command changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("no task {0}")]
    NotFound(TaskId),
    /// The lease this delivery number stood for has expired and the task was handed on (or
    /// finished): the caller's attempt no longer counts.
    #[error("stale lease: task {id} delivery {delivery} is no longer leased to the caller ({current})")]
    StaleLease {
        id: TaskId,
        delivery: u32,
        current: String,
    },
    /// The task was revoked while running; the worker should stop it.
    #[error("task {0} was revoked")]
    Revoked(TaskId),
    #[error("task {id} is {state}, not dead")]
    NotDead { id: TaskId, state: TaskState },
    #[error("no schedule named {0:?}")]
    NoSchedule(String),
    /// An idempotency key, within its window, named a task with another name, queue or args.
    #[error(
        "idempotency key {key:?} was used for a different task (another name, queue or args) within its window, by task {task}; use a new key for a new task"
    )]
    KeyReused { key: String, task: TaskId },
    /// A worker call from a worker the cluster does not know (never registered, or timed out).
    #[error("worker {0:?} is not registered; register first")]
    NotRegistered(String),
    /// The queue holds as much as one of its caps allows; nothing was stored.
    #[error(
        "queue {queue:?} is full: it is at its {cap} of {max}; let workers drain it, or raise the cap with `qraft limit set queue:{queue} {cap} N`"
    )]
    QueueFull { queue: String, cap: CapKind, max: u64 },
}
