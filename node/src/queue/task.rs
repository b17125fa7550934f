//! The task record: what is stored for every task, and its life-cycle states.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A task's identity: a ULID, so ids sort by creation time. Assigned by the node that receives
/// the submit, before it is proposed, so applying a submit never needs randomness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskId(pub ulid::Ulid);

impl TaskId {
    /// A fresh id from this node's clock and randomness (never called during apply).
    pub fn generate() -> Self {
        TaskId(ulid::Ulid::new())
    }

    /// The 16 bytes that key the task's record in storage; big-endian, so keys sort like ids.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_bytes()
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        TaskId(ulid::Ulid::from_bytes(bytes))
    }

    /// A number derived from the id alone, for deterministic jitter.
    pub fn seed(self) -> u64 {
        let value = self.0.0;
        (value as u64) ^ ((value >> 64) as u64)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TaskId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ulid::Ulid::from_string(s)
            .map(TaskId)
            .map_err(|e| format!("{s:?} is not a task id (expected a 26-character ULID): {e}"))
    }
}

/// Celery's state names. `Success`, `Failure`, `Revoked` and `Expired` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TaskState {
    /// Ready: waiting in its queue for a worker.
    Pending,
    /// Not runnable before its eta.
    Scheduled,
    /// Leased to a worker.
    Started,
    /// A failed attempt waiting for its backoff.
    Retry,
    Success,
    /// Failed for good; the task is in its queue's dead letters.
    Failure,
    Revoked,
    Expired,
}

impl TaskState {
    pub const ALL: [TaskState; 8] = [
        TaskState::Pending,
        TaskState::Scheduled,
        TaskState::Started,
        TaskState::Retry,
        TaskState::Success,
        TaskState::Failure,
        TaskState::Revoked,
        TaskState::Expired,
    ];

    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Success | TaskState::Failure | TaskState::Revoked | TaskState::Expired
        )
    }

    /// Waiting to run: what a queue purge removes and what expiry applies to.
    pub fn is_waiting(self) -> bool {
        matches!(self, TaskState::Pending | TaskState::Scheduled | TaskState::Retry)
    }

    /// Position in [`TaskState::ALL`], for per-state counters.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The upper-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Pending => "PENDING",
            TaskState::Scheduled => "SCHEDULED",
            TaskState::Started => "STARTED",
            TaskState::Retry => "RETRY",
            TaskState::Success => "SUCCESS",
            TaskState::Failure => "FAILURE",
            TaskState::Revoked => "REVOKED",
            TaskState::Expired => "EXPIRED",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TaskState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskState::ALL
            .into_iter()
            .find(|state| state.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = TaskState::ALL.iter().map(|s| s.name()).collect();
                format!("unknown state {s:?}; use one of {}", names.join(", "))
            })
    }
}

/// How a failed attempt is retried: exponential backoff with optional jitter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Failed attempts that are retried; the next failure is final.
    pub max_retries: u32,
    /// Delay before the first retry.
    pub initial_delay_ms: u64,
    /// Each further retry waits this many times longer, as given (for display)...
    pub factor: f64,
    /// ...up to this.
    pub max_delay_ms: u64,
    /// Spread retries over [delay/2, delay], deterministically from the task id and attempt, so
    /// that tasks failing together do not retry together.
    pub jitter: bool,
    /// The factor in thousandths, fixed when the task is accepted: apply computes delays with
    /// integers only, because floating point may round differently from one build to another.
    /// Unset in records written before it existed, which derive it from `factor`.
    #[serde(default)]
    pub factor_permille: Option<u32>,
}

impl RetryPolicy {
    /// Thousandths of the growth factor, what [`crate::queue::retry::backoff_ms`] uses.
    pub fn factor_permille(&self) -> u64 {
        u64::from(self.factor_permille.unwrap_or_else(|| permille(self.factor)))
    }
}

/// A growth factor (validated to 1..=100) in thousandths; done once, where a task is accepted.
pub fn permille(factor: f64) -> u32 {
    let thousandths = (factor * 1000.0).round();
    if thousandths.is_finite() && thousandths >= 1000.0 {
        (thousandths as u32).min(100_000)
    } else {
        1000
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 0,
            initial_delay_ms: 1_000,
            factor: 2.0,
            max_delay_ms: 600_000,
            jitter: true,
            factor_permille: Some(2_000),
        }
    }
}

impl Eq for RetryPolicy {}

/// Per-task settings chosen at submit time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskOptions {
    pub retry: RetryPolicy,
    /// Hard limit of one attempt; the lease is sized from it.
    pub timeout_ms: Option<u64>,
    /// How long a finished task (and its result) is kept.
    pub result_ttl_ms: u64,
    /// Deliveries after which a task whose lease keeps expiring goes to the dead letters.
    pub delivery_limit: u32,
    /// How long the task is kept once it is a dead letter (failed for good). Tasks stored
    /// before this existed keep the default.
    #[serde(default = "default_dead_letter_ttl_ms")]
    pub dead_letter_ttl_ms: u64,
    /// At most this many tasks with the same key run at once, cluster-wide.
    #[serde(default)]
    pub concurrency: Option<ConcurrencyLimit>,
}

/// The part of a task that never changes after submit, as its own record (`a` + id): written
/// once when the task is accepted and deleted with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPayload {
    pub id: TaskId,
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    pub headers: BTreeMap<String, String>,
}

/// Bytes of a task's args and headers: what a queue's `max-bytes` cap counts.
pub fn payload_bytes(args: &[u8], headers: &BTreeMap<String, String>) -> u64 {
    let headers: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    (args.len() + headers) as u64
}

/// How long a dead letter is kept when the node's settings say nothing else: a week.
pub const DEFAULT_DEAD_LETTER_TTL_MS: u64 = 7 * 24 * 3600 * 1000;

fn default_dead_letter_ttl_ms() -> u64 {
    DEFAULT_DEAD_LETTER_TTL_MS
}

/// A worker's claim on a started task. `delivery` is the fencing token: it grows with every
/// lease, so a worker whose lease expired and went to someone else can no longer ack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub worker: String,
    pub delivery: u32,
    pub deadline_ms: u64,
}

/// Everything the cluster keeps about one task. New fields must be `#[serde(default)]` and go
/// after the others, before `args`: records written by an older release, by name or by position,
/// are read by a newer one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub name: String,
    pub queue: String,
    /// Bytes of the args and headers, in the task's own record so that a restart counts what
    /// each queue holds without reading a single payload. Unset in records written before.
    #[serde(default)]
    pub payload_bytes: Option<u64>,
    pub priority: u8,
    pub state: TaskState,
    /// Position in the order of submission across the whole cluster: FIFO within a priority.
    pub seq: u64,
    /// Cluster time (ms since the Unix epoch) of the apply that accepted the task.
    pub created_at_ms: u64,
    pub options: TaskOptions,
    /// Times the task was handed to a worker (since it was submitted, or last retried from the
    /// dead letters); what the delivery limit counts.
    #[serde(default)]
    pub attempts: u32,
    /// Leases ever handed out, across dead-letter retries: the last delivery number. Never reset,
    /// so a worker of an earlier round can never present a token that is current again.
    #[serde(default)]
    pub deliveries: u32,
    /// Failed attempts that were retried.
    #[serde(default)]
    pub retries: u32,
    /// The worker of the current or last attempt.
    #[serde(default)]
    pub worker: Option<String>,
    #[serde(default)]
    pub lease: Option<Lease>,
    #[serde(default, with = "serde_bytes")]
    pub result: Option<Vec<u8>>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub eta_ms: Option<u64>,
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
    /// When a task in `Retry` becomes runnable again.
    #[serde(default)]
    pub retry_at_ms: Option<u64>,
    #[serde(default)]
    pub started_at_ms: Option<u64>,
    #[serde(default)]
    pub finished_at_ms: Option<u64>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Until when a submit with the same idempotency key returns this task.
    #[serde(default)]
    pub dedup_until_ms: Option<u64>,
    /// The flow this task is part of, if any.
    #[serde(default)]
    pub flow: Option<FlowRef>,
    /// Its place in the order tasks finished in, the same on every replica; set while final.
    #[serde(default)]
    pub finish_seq: Option<u64>,
    // New fields go above: a record written by position ends before them and leaves them
    // default, and args and headers, never written, must come last.
    /// Args and headers never change after submit: they are stored once, as the task's
    /// [`TaskPayload`] record, and left out of the task's own record, which every lease and
    /// answer rewrites. Read back here from either (records written before the split hold them).
    #[serde(with = "serde_bytes", default, skip_serializing)]
    pub args: Vec<u8>,
    #[serde(default, skip_serializing)]
    pub headers: BTreeMap<String, String>,
}

impl Task {
    /// The next cluster time at which this task changes by itself, if any.
    /// How long the task is kept once finished: a dead letter for its dead-letter TTL, any
    /// other for its result TTL.
    pub fn kept_for_ms(&self) -> u64 {
        if self.state == TaskState::Failure {
            self.options.dead_letter_ttl_ms
        } else {
            self.options.result_ttl_ms
        }
    }

    /// Bytes the task holds beyond its fixed fields: args, headers, result and error. What
    /// queue caps and the cluster's stored-bytes cap count.
    pub fn stored_bytes(&self) -> u64 {
        let result = self.result.as_ref().map_or(0, Vec::len);
        let error = self.error.as_ref().map_or(0, String::len);
        let payload = self
            .payload_bytes
            .unwrap_or_else(|| payload_bytes(&self.args, &self.headers));
        payload + (result + error) as u64
    }

    pub fn next_due_ms(&self) -> Option<u64> {
        let expiry = self.expires_at_ms.filter(|_| self.state.is_waiting());
        let own = match self.state {
            TaskState::Scheduled => self.eta_ms,
            TaskState::Retry => self.retry_at_ms,
            TaskState::Started => self.lease.as_ref().map(|l| l.deadline_ms),
            // A started task revoked keeps its lease until the worker learns or it runs out.
            TaskState::Revoked if self.lease.is_some() => self.lease.as_ref().map(|l| l.deadline_ms),
            TaskState::Success | TaskState::Revoked | TaskState::Expired | TaskState::Failure => self
                .finished_at_ms
                .map(|at| at.saturating_add(self.kept_for_ms())),
            TaskState::Pending => None,
        };
        [own, expiry, self.dedup_until_ms].into_iter().flatten().min()
    }
}

/// Which part of its flow a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Part {
    /// A chain's step or a group's or chord's member, by position.
    Member(u32),
    Callback,
}

impl Part {
    /// As written in the part header: the position, or "callback".
    pub fn label(self) -> String {
        match self {
            Part::Member(index) => index.to_string(),
            Part::Callback => "callback".to_string(),
        }
    }
}

/// A task's place in a flow, kept on the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRef {
    /// The flow's id (flows are named like tasks).
    pub flow: TaskId,
    pub part: Part,
}

/// At most `max` tasks with the same `key` run at once (say, per customer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcurrencyLimit {
    pub key: String,
    pub max: u32,
}
