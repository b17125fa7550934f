//! Commands change the queue; outcomes answer them. Both are stored in the Raft log, so both are
//! part of the on-disk format: add variants and `#[serde(default)]` fields, never change meaning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::task::{TaskId, TaskState};

/// A change of queue state, as proposed by a node and applied on every replica.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Submit(SubmitTask),
}

/// A new task as the proposing node built it: already validated, id already assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitTask {
    pub id: TaskId,
    pub name: String,
    pub queue: String,
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    pub headers: BTreeMap<String, String>,
    pub priority: u8,
}

/// The answer to one command. Business failures are values, never errors of the apply: a
/// rejected command is still a committed, applied log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The task exists with this state: newly stored, or found already stored under the same id.
    Submitted {
        id: TaskId,
        state: TaskState,
    },
    Rejected(Rejection),
}

/// Why a command changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    #[error("invalid task: {0}")]
    Invalid(String),
}
