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

/// Everything the cluster keeps about one task. New fields must be `#[serde(default)]`: records
/// written by an older release are read by a newer one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub name: String,
    pub queue: String,
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    pub headers: BTreeMap<String, String>,
    pub priority: u8,
    pub state: TaskState,
    /// Position in the order of submission across the whole cluster: FIFO within a priority.
    pub seq: u64,
    /// Cluster time (ms since the Unix epoch) of the apply that accepted the task.
    pub created_at_ms: u64,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub worker: Option<String>,
    #[serde(default, with = "serde_bytes")]
    pub result: Option<Vec<u8>>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub eta_ms: Option<u64>,
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
    #[serde(default)]
    pub started_at_ms: Option<u64>,
    #[serde(default)]
    pub finished_at_ms: Option<u64>,
}
