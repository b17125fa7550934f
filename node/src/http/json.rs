//! The JSON shapes of the HTTP API, and their mapping to and from the queue's types. Inputs
//! refuse unknown fields (a typo is an error, not a silently ignored setting); a missing field
//! takes the default and `0` means zero. Times are RFC 3339 (UTC, milliseconds).

pub mod flow;
pub mod schedule;

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::ops::tasks::Submitted;
use crate::ops::{OpError, TaskInput};
use crate::queue::{Task, TaskState};

/// A task to submit: `POST /v1/tasks`, and each task of `POST /v1/tasks/batch`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskJson {
    /// The handler's name, e.g. `mail.send` (`task` is accepted too, as in flow files).
    #[serde(alias = "task")]
    pub name: String,
    pub queue: Option<String>,
    /// Any JSON value, handed to the handler as its JSON text.
    pub args: Option<serde_json::Value>,
    /// Bytes that are not JSON, base64-encoded; at most one of `args` and `args_base64`.
    pub args_base64: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub priority: Option<u32>,
    pub countdown_ms: Option<u64>,
    /// Not runnable before this time (RFC 3339, e.g. `2026-12-24T18:00:00Z`).
    pub eta: Option<String>,
    /// The same as milliseconds since the Unix epoch.
    pub eta_ms: Option<u64>,
    pub expires_in_ms: Option<u64>,
    /// The same as a duration, e.g. `1h`.
    pub expires: Option<String>,
    pub max_retries: Option<u32>,
    pub retry_delay_ms: Option<u64>,
    pub retry_factor: Option<f64>,
    pub retry_max_delay_ms: Option<u64>,
    pub retry_jitter: Option<bool>,
    pub timeout_ms: Option<u64>,
    /// The same as a duration, e.g. `30s`.
    pub timeout: Option<String>,
    pub idempotency_key: Option<String>,
    pub result_ttl_ms: Option<u64>,
    pub delivery_limit: Option<u32>,
    pub concurrency_key: Option<String>,
    /// Tasks with the `concurrency_key` running at once (default 1; `concurrency` too).
    #[serde(alias = "concurrency")]
    pub concurrency_limit: Option<u32>,
    /// A flow's chain steps only: run with the step's own args instead of the previous result.
    pub immutable: Option<bool>,
}

impl TaskJson {
    /// The task in the queue's terms; `header_key` is the request's `Idempotency-Key`.
    pub fn into_input(self, header_key: Option<&str>) -> Result<TaskInput, OpError> {
        let invalid = |message: String| OpError::Invalid(message);
        let args = match (self.args, self.args_base64) {
            (Some(_), Some(_)) => return Err(invalid("give args or args_base64, not both".into())),
            (Some(value), None) => serde_json::to_vec(&value).map_err(|e| invalid(e.to_string()))?,
            (None, Some(text)) => BASE64
                .decode(text.as_bytes())
                .map_err(|e| invalid(format!("args_base64 is not base64: {e}")))?,
            (None, None) => Vec::new(),
        };
        let eta_ms = match (self.eta, self.eta_ms) {
            (Some(_), Some(_)) => return Err(invalid("give eta or eta_ms, not both".into())),
            (Some(text), None) => Some(parse_time(&text)?),
            (None, ms) => ms,
        };
        if self.immutable.is_some() {
            return Err(invalid(
                "only a flow's chain steps can be immutable (they take no previous result)".into(),
            ));
        }
        let timeout_ms = either_ms("timeout", self.timeout_ms, self.timeout.as_deref())?;
        let expires_in_ms = either_ms("expires", self.expires_in_ms, self.expires.as_deref())?;
        let idempotency_key = match (self.idempotency_key, header_key) {
            (Some(body), Some(header)) if body != header => {
                return Err(invalid(format!(
                    "the Idempotency-Key header ({header:?}) and the body's idempotency_key ({body:?}) differ"
                )));
            }
            (body, header) => body.or_else(|| header.map(str::to_owned)),
        };
        Ok(TaskInput {
            name: self.name,
            queue: self.queue,
            args,
            headers: self.headers.unwrap_or_default(),
            priority: self.priority,
            countdown_ms: self.countdown_ms,
            eta_ms,
            expires_in_ms,
            max_retries: self.max_retries,
            retry_delay_ms: self.retry_delay_ms,
            retry_factor: self.retry_factor,
            retry_max_delay_ms: self.retry_max_delay_ms,
            retry_jitter: self.retry_jitter,
            timeout_ms,
            idempotency_key,
            result_ttl_ms: self.result_ttl_ms,
            delivery_limit: self.delivery_limit,
            concurrency_key: self.concurrency_key,
            concurrency_limit: self.concurrency_limit,
        })
    }
}

/// A duration given as `{what}_ms` or as `{what}` text (`30s`, `1h`), at most one of them.
fn either_ms(what: &str, ms: Option<u64>, text: Option<&str>) -> Result<Option<u64>, OpError> {
    match (ms, text) {
        (Some(_), Some(_)) => Err(OpError::Invalid(format!("give {what} or {what}_ms, not both"))),
        (None, Some(text)) => duration_ms(what, text).map(Some),
        (ms, None) => Ok(ms),
    }
}

/// A duration like `30s`, `5m` or `1h 30m`, in ms, as the node's settings take it.
pub fn duration_ms(what: &str, text: &str) -> Result<u64, OpError> {
    crate::config::parse_duration_ms(text).map_err(|e| OpError::Invalid(format!("{what}: {e}")))
}

/// `POST /v1/tasks/batch`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchJson {
    pub tasks: Vec<TaskJson>,
}

fn parse_time(text: &str) -> Result<u64, OpError> {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).map_err(|e| {
        OpError::Invalid(format!(
            "eta {text:?} is not an RFC 3339 time like 2026-12-24T18:00:00Z: {e}"
        ))
    })?;
    u64::try_from(parsed.timestamp_millis())
        .map_err(|_| OpError::Invalid(format!("eta {text:?} is before 1970")))
}

/// A Unix time in ms as RFC 3339.
pub fn time(ms: u64) -> String {
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string()
}

/// Bytes as JSON when they are JSON, else base64: `(json, base64)`, one of them set.
pub fn payload(bytes: &[u8]) -> (Option<serde_json::Value>, Option<String>) {
    if bytes.is_empty() {
        return (None, None);
    }
    match serde_json::from_slice(bytes) {
        Ok(value) => (Some(value), None),
        Err(_) => (None, Some(BASE64.encode(bytes))),
    }
}

/// A submit's answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmittedView {
    pub id: String,
    pub state: String,
    pub duplicate: bool,
}

impl From<Submitted> for SubmittedView {
    fn from(submitted: Submitted) -> Self {
        SubmittedView {
            id: submitted.id.to_string(),
            state: submitted.state.name().to_owned(),
            duplicate: submitted.duplicate,
        }
    }
}

/// `POST /v1/tasks/batch`'s answer, in the order of the request.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchView {
    pub results: Vec<SubmittedView>,
}

/// A task as the cluster holds it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: String,
    pub name: String,
    pub queue: String,
    /// PENDING, SCHEDULED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED or EXPIRED.
    pub state: String,
    /// Whether `state` is final (SUCCESS, FAILURE, REVOKED, EXPIRED).
    pub finished: bool,
    pub priority: u8,
    pub attempts: u32,
    pub retries: u32,
    pub max_retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_base64: Option<String>,
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_base64: Option<String>,
    pub error: Option<String>,
    pub worker: Option<String>,
    pub idempotency_key: Option<String>,
    pub timeout_ms: Option<u64>,
    pub created_at: String,
    pub eta: Option<String>,
    pub expires_at: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub retry_at: Option<String>,
}

impl From<&Task> for TaskView {
    fn from(task: &Task) -> Self {
        let (args, args_base64) = payload(&task.args);
        let (result, result_base64) = payload(task.result.as_deref().unwrap_or_default());
        TaskView {
            id: task.id.to_string(),
            name: task.name.clone(),
            queue: task.queue.clone(),
            state: task.state.name().to_owned(),
            finished: task.state.is_final(),
            priority: task.priority,
            attempts: task.attempts,
            retries: task.retries,
            max_retries: task.options.retry.max_retries,
            args,
            args_base64,
            headers: task.headers.clone().into_iter().collect(),
            result,
            result_base64,
            error: task.error.clone(),
            worker: task.worker.clone(),
            idempotency_key: task.idempotency_key.clone(),
            timeout_ms: task.options.timeout_ms,
            created_at: time(task.created_at_ms),
            eta: task.eta_ms.map(time),
            expires_at: task.expires_at_ms.map(time),
            started_at: task.started_at_ms.map(time),
            finished_at: task.finished_at_ms.map(time),
            retry_at: task.retry_at_ms.map(time),
        }
    }
}

/// `GET /v1/tasks`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskListView {
    pub tasks: Vec<TaskView>,
    /// More matched than `limit` (or than fit one reply).
    pub truncated: bool,
}

/// `POST /v1/tasks/{id}/revoke`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateView {
    pub state: String,
}

impl From<TaskState> for StateView {
    fn from(state: TaskState) -> Self {
        StateView {
            state: state.name().to_owned(),
        }
    }
}
