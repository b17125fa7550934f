//! Text and JSON renderings shared by the client commands.

use std::time::{Duration, UNIX_EPOCH};

use qraft_proto::pb;
use serde_json::{Value, json};

/// The upper-case state name (`PENDING`, ...).
pub fn state_name(state: i32) -> &'static str {
    match pb::TaskState::try_from(state) {
        Ok(pb::TaskState::Pending) => "PENDING",
        Ok(pb::TaskState::Scheduled) => "SCHEDULED",
        Ok(pb::TaskState::Started) => "STARTED",
        Ok(pb::TaskState::Retry) => "RETRY",
        Ok(pb::TaskState::Success) => "SUCCESS",
        Ok(pb::TaskState::Failure) => "FAILURE",
        Ok(pb::TaskState::Revoked) => "REVOKED",
        Ok(pb::TaskState::Expired) => "EXPIRED",
        Ok(pb::TaskState::Unspecified) | Err(_) => "UNKNOWN",
    }
}

/// On stderr, so that `--json` output stays one value: a list the node cut short of `asked`.
pub fn warn_if_truncated(truncated: bool, shown: usize, asked: u32, what: &str) {
    if truncated {
        eprintln!(
            "qraft: showing the newest {shown} {what} of up to {asked}: the rest did not fit in one \
             {} MiB reply; ask for fewer with --limit, or filter",
            qraft_proto::limits::MAX_MESSAGE >> 20
        );
    }
}

/// RFC 3339 with milliseconds, or null for "unset" (0).
pub fn time(ms: u64) -> Value {
    if ms == 0 {
        return Value::Null;
    }
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    Value::String(humantime::format_rfc3339_millis(at).to_string())
}

/// A payload as JSON when it is JSON, as a string when it is text, else as a byte count.
pub fn payload(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return value;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_string()),
        Err(_) => json!({ "binary_bytes": bytes.len() }),
    }
}

fn non_empty(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        Value::String(text.to_string())
    }
}

/// The JSON task object every command prints.
pub fn task_json(task: &pb::Task) -> Value {
    json!({
        "id": task.id,
        "name": task.name,
        "queue": task.queue,
        "state": state_name(task.state),
        "priority": task.priority,
        "attempts": task.attempts,
        "worker": non_empty(&task.worker),
        "args": payload(&task.args),
        "result": payload(&task.result),
        "error": non_empty(&task.error),
        "eta": time(task.eta_ms),
        "expires": time(task.expires_at_ms),
        "created_at": time(task.created_at_ms),
        "started_at": time(task.started_at_ms),
        "finished_at": time(task.finished_at_ms),
        "retries": task.retries,
        "max_retries": task.max_retries,
    })
}

/// Prints JSON on one line (scripts read it with `jq`).
pub fn print_json(value: &Value) {
    println!("{value}");
}

/// At most `width` characters, with an ellipsis when cut.
pub fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(width.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}
