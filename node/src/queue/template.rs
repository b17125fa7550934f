//! A task template: everything about a task but its id and times, from which schedules and
//! flows make the tasks they enqueue.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::submit::SubmitTask;
use super::task::{FlowRef, TaskId, TaskOptions};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTemplate {
    pub name: String,
    pub queue: String,
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    pub headers: BTreeMap<String, String>,
    pub priority: u8,
    pub options: TaskOptions,
    pub expires_in_ms: Option<u64>,
}

impl TaskTemplate {
    /// The submit of one task made from the template: `headers` added to its own, `args` instead
    /// of its own when given.
    pub fn submit<'a>(
        &self,
        id: TaskId,
        headers: impl IntoIterator<Item = (&'a str, String)>,
        args: Option<Vec<u8>>,
        flow: Option<FlowRef>,
    ) -> SubmitTask {
        let mut all = self.headers.clone();
        all.extend(headers.into_iter().map(|(k, v)| (k.to_string(), v)));
        SubmitTask {
            id,
            name: self.name.clone(),
            queue: self.queue.clone(),
            args: args.unwrap_or_else(|| self.args.clone()),
            headers: all,
            priority: self.priority,
            options: self.options.clone(),
            eta_ms: None,
            countdown_ms: None,
            expires_in_ms: self.expires_in_ms,
            idempotency_key: None,
            dedup_window_ms: 0,
            flow,
        }
    }
}
