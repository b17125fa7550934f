//! The task queue as plain Rust: tasks, the commands that change them, and the deterministic
//! state they build. Nothing here knows about Raft, RocksDB or gRPC, so every rule can be tested
//! alone and two replicas that apply the same commands end in the same state.
//!
//! - [`task`]: the task record, its states, retry policy and lease, its place in a flow, its
//!   concurrency key: the bottom of the queue's types, importing none of the others.
//! - [`submit`]: a new task as proposed ([`SubmitTask`]).
//! - [`lease`]: a worker's lease request and the tasks it gets.
//! - [`command`]: what a client asks for ([`Command`]) and what it gets back ([`Outcome`]).
//! - [`state`]: [`QueueState`], which applies commands at a leader-stamped time.
//! - [`retry`]: backoff delays with deterministic jitter.
//! - [`dedup`]: idempotency keys, held for their whole window.
//! - [`validate`]: input limits checked before anything is proposed.
//! - [`answer`]: the limits every worker's ack and fail are held to.
//! - [`worker`]: the replicated registry of workers.
//! - [`event`]: the replicated event timeline and the leader's observations.
//! - [`limit`]: cluster-wide rate limits and per-key concurrency limits.
//! - [`schedule`]: periodic schedules: when they fire, and the task each run submits.
//! - [`template`]: a task without id or times, from which schedules and flows make tasks.
//! - [`record`]: the kinds of record the state keeps, registered once for storage and restart.
//! - [`flow`]: workflows (chain, group, chord) and how their parts are enqueued.

pub mod answer;
pub mod cap;
pub mod command;
pub mod dedup;
pub mod event;
pub mod flow;
pub mod lease;
pub mod limit;
pub mod record;
pub mod retry;
pub mod schedule;
pub mod state;
pub mod submit;
pub mod task;
pub mod template;
pub mod validate;
pub mod worker;

pub use command::{Command, DeadSelector, Outcome, Rejection};
pub use event::{Event, EventKind, MemberChange, Observation, QueueAction};
pub use lease::{LeaseRequest, LeasedTask};
pub use state::{Coverage, QueueMeta, QueueState, QueueStats, QueueTotals, TaskFilter};
pub use submit::SubmitTask;
pub use task::{Lease, RetryPolicy, Task, TaskId, TaskOptions, TaskState};
pub use worker::{WorkerInfo, WorkerKind, WorkerRegistration};
