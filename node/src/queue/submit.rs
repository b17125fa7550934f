//! A new task as proposed: checked, given its id and defaults by the node that took the submit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::task::{FlowRef, TaskId, TaskOptions, payload_bytes};

/// A new task as the proposing node built it: already validated, id already assigned; times
/// the client gave relative (countdown, expiry) stay relative until apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitTask {
    pub id: TaskId,
    pub name: String,
    pub queue: String,
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    pub headers: BTreeMap<String, String>,
    pub priority: u8,
    pub options: TaskOptions,
    /// Not runnable before this time.
    pub eta_ms: Option<u64>,
    /// Not runnable before this long after it is accepted: resolved against cluster time in
    /// apply, so the proposer's clock does not matter. At most one of this and `eta_ms`.
    #[serde(default)]
    pub countdown_ms: Option<u64>,
    /// Runnable only for this long after it is accepted (relative, so that the proposer's clock
    /// skew does not matter); unset means no expiry.
    pub expires_in_ms: Option<u64>,
    /// A second submit with the same key inside `dedup_window_ms` returns the first task.
    pub idempotency_key: Option<String>,
    pub dedup_window_ms: u64,
    /// Set for the tasks a flow enqueues.
    #[serde(default)]
    pub flow: Option<FlowRef>,
}

impl SubmitTask {
    /// Bytes the task will hold when stored: its args and headers (see `Task::stored_bytes`).
    pub fn stored_bytes(&self) -> u64 {
        payload_bytes(&self.args, &self.headers)
    }

    /// For tests: a task named `name` for `queue`, empty args, priority
    /// 0, ready at once, default retries, a minute's result TTL.
    #[cfg(test)]
    pub fn sample(name: &str, queue: &str) -> SubmitTask {
        SubmitTask {
            id: TaskId::generate(),
            name: name.into(),
            queue: queue.into(),
            args: Vec::new(),
            headers: BTreeMap::new(),
            priority: 0,
            options: TaskOptions {
                retry: super::task::RetryPolicy::default(),
                timeout_ms: None,
                result_ttl_ms: 60_000,
                delivery_limit: 20,
                dead_letter_ttl_ms: 60_000,
                concurrency: None,
            },
            eta_ms: None,
            countdown_ms: None,
            expires_in_ms: None,
            idempotency_key: None,
            dedup_window_ms: 0,
            flow: None,
        }
    }
}
