//! A task as a client describes it, before the node fills in its defaults. Every setting is an
//! `Option`: `None` takes the node's default, and `Some(0)` means zero where zero is a value
//! (no retry delay, a result deleted at once). The gRPC edge maps proto3's zeros to `None`; the
//! HTTP edge maps a missing JSON field to `None`.

use std::collections::BTreeMap;

use super::OpError;
use super::TaskDefaults;
use crate::queue::task::ConcurrencyLimit;
use crate::queue::task::permille;
use crate::queue::template::TaskTemplate;
use crate::queue::validate::{self, DEFAULT_QUEUE, MAX_DURATION_MS};
use crate::queue::{RetryPolicy, SubmitTask, TaskId, TaskOptions};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskInput {
    pub name: String,
    pub queue: Option<String>,
    pub args: Vec<u8>,
    pub headers: BTreeMap<String, String>,
    pub priority: Option<u32>,
    /// Not runnable before this long after it is accepted; at most one of this and `eta_ms`.
    pub countdown_ms: Option<u64>,
    /// Not runnable before this Unix time (ms).
    pub eta_ms: Option<u64>,
    pub expires_in_ms: Option<u64>,
    pub max_retries: Option<u32>,
    pub retry_delay_ms: Option<u64>,
    pub retry_factor: Option<f64>,
    pub retry_max_delay_ms: Option<u64>,
    pub retry_jitter: Option<bool>,
    pub timeout_ms: Option<u64>,
    pub idempotency_key: Option<String>,
    pub result_ttl_ms: Option<u64>,
    pub delivery_limit: Option<u32>,
    pub concurrency_key: Option<String>,
    pub concurrency_limit: Option<u32>,
}

/// The earliest eta accepted, before the node's clock: an eta further back is almost surely a
/// time in seconds given as milliseconds, which would run the task at once.
const MAX_ETA_PAST_MS: u64 = 3_600_000;

impl TaskInput {
    /// Checks the task, fills in defaults and gives it an id, before anything is proposed.
    /// `now_ms` (this node's wall clock) bounds an eta; a countdown stays relative, resolved
    /// against cluster time in apply.
    pub fn prepare(self, defaults: &TaskDefaults, now_ms: u64) -> Result<SubmitTask, OpError> {
        let invalid = |message: String| OpError::Invalid(message);
        let priority = self.priority.unwrap_or(0);
        let priority = u8::try_from(priority)
            .ok()
            .filter(|p| *p <= validate::MAX_PRIORITY)
            .ok_or_else(|| invalid(format!("priority {priority} is out of range 0..=9")))?;
        let (eta_ms, countdown_ms) = match (self.countdown_ms, self.eta_ms) {
            (Some(_), Some(_)) => return Err(invalid("give a countdown or an eta, not both".into())),
            (Some(countdown), None) if countdown > MAX_DURATION_MS => {
                return Err(invalid(format!("countdown of {countdown} ms is too far ahead")));
            }
            (Some(countdown), None) => (None, (countdown > 0).then_some(countdown)),
            (None, Some(eta)) => (Some(must_be_sane_eta(eta, now_ms)?), None),
            (None, None) => (None, None),
        };
        if self.args.len() > defaults.max_payload_bytes {
            return Err(OpError::TooLarge(format!(
                "args are {} bytes; the limit is {} bytes (the node's max_payload_bytes)",
                self.args.len(),
                defaults.max_payload_bytes
            )));
        }
        let retry_defaults = RetryPolicy::default();
        let factor = self.retry_factor.unwrap_or(retry_defaults.factor);
        let task = SubmitTask {
            id: TaskId::generate(),
            name: self.name,
            queue: self.queue.unwrap_or_else(|| DEFAULT_QUEUE.to_owned()),
            args: self.args,
            headers: self.headers,
            priority,
            options: TaskOptions {
                retry: RetryPolicy {
                    max_retries: self.max_retries.unwrap_or(0),
                    initial_delay_ms: self.retry_delay_ms.unwrap_or(retry_defaults.initial_delay_ms),
                    factor,
                    max_delay_ms: self.retry_max_delay_ms.unwrap_or(retry_defaults.max_delay_ms),
                    jitter: self.retry_jitter.unwrap_or(true),
                    factor_permille: Some(permille(factor)),
                },
                timeout_ms: self.timeout_ms.filter(|ms| *ms > 0),
                result_ttl_ms: self.result_ttl_ms.unwrap_or(defaults.result_ttl_ms),
                dead_letter_ttl_ms: defaults.dead_letter_ttl_ms,
                delivery_limit: self.delivery_limit.unwrap_or(defaults.delivery_limit),
                concurrency: self.concurrency_key.map(|key| ConcurrencyLimit {
                    key,
                    max: self.concurrency_limit.unwrap_or(1),
                }),
            },
            eta_ms,
            countdown_ms,
            expires_in_ms: self.expires_in_ms.filter(|ms| *ms > 0),
            idempotency_key: self.idempotency_key,
            dedup_window_ms: defaults.dedup_window_ms,
            flow: None,
        };
        validate::must_be_valid_submit(&task, defaults.max_payload_bytes).map_err(invalid)?;
        Ok(task)
    }
}

impl TaskInput {
    /// The task a flow step or a schedule makes, checked, with defaults filled in. `what` names
    /// it in errors. It takes no times or key: when it runs is decided for it, and each run is
    /// one task by construction.
    pub fn into_template(self, defaults: &TaskDefaults, what: &str) -> Result<TaskTemplate, OpError> {
        if self.countdown_ms.is_some() || self.eta_ms.is_some() || self.idempotency_key.is_some() {
            return Err(OpError::Invalid(format!(
                "{what} takes no countdown, eta or idempotency key: when it runs is decided for it, and it is one task by construction"
            )));
        }
        let submit = self.prepare(defaults, 0)?;
        Ok(TaskTemplate {
            name: submit.name,
            queue: submit.queue,
            args: submit.args,
            headers: submit.headers,
            priority: submit.priority,
            options: submit.options,
            expires_in_ms: submit.expires_in_ms,
        })
    }
}

/// An eta at most a year ahead and at most an hour behind the node's clock.
fn must_be_sane_eta(eta_ms: u64, now_ms: u64) -> Result<u64, OpError> {
    if eta_ms > now_ms.saturating_add(MAX_DURATION_MS) {
        return Err(OpError::Invalid("eta is more than a year ahead".into()));
    }
    if eta_ms.saturating_add(MAX_ETA_PAST_MS) < now_ms {
        let when = humantime::format_rfc3339_millis(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(eta_ms),
        );
        return Err(OpError::Invalid(format!(
            "eta {when} is more than an hour in the past: eta_ms is milliseconds since the Unix epoch (was it given in seconds?)"
        )));
    }
    Ok(eta_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn input() -> TaskInput {
        TaskInput {
            name: "mail.send".into(),
            ..TaskInput::default()
        }
    }

    #[test]
    fn missing_settings_take_the_defaults_and_zero_means_zero() {
        let defaults = TaskDefaults::default();
        let task = input().prepare(&defaults, NOW).expect("valid");
        assert_eq!(task.queue, DEFAULT_QUEUE);
        assert_eq!(
            task.options.retry.initial_delay_ms,
            RetryPolicy::default().initial_delay_ms
        );
        assert_eq!(task.options.result_ttl_ms, defaults.result_ttl_ms);
        let zero = TaskInput {
            retry_delay_ms: Some(0),
            result_ttl_ms: Some(0),
            ..input()
        }
        .prepare(&defaults, NOW)
        .expect("valid");
        assert_eq!(
            zero.options.retry.initial_delay_ms, 0,
            "no delay, not the default second"
        );
        assert_eq!(zero.options.result_ttl_ms, 0);
    }

    #[test]
    fn an_eta_in_seconds_is_refused_with_a_hint() {
        let refused = TaskInput {
            eta_ms: Some(NOW / 1000),
            ..input()
        }
        .prepare(&TaskDefaults::default(), NOW)
        .expect_err("1970");
        assert!(
            refused.to_string().contains("was it given in seconds?"),
            "{refused}"
        );
        let accepted = TaskInput {
            eta_ms: Some(NOW - 60_000),
            ..input()
        }
        .prepare(&TaskDefaults::default(), NOW);
        assert!(accepted.is_ok(), "a minute late is a clock apart, not a mistake");
    }

    #[test]
    fn args_over_the_limit_are_too_large_not_merely_invalid() {
        let defaults = TaskDefaults {
            max_payload_bytes: 10,
            ..TaskDefaults::default()
        };
        let refused = TaskInput {
            args: vec![b'x'; 11],
            ..input()
        }
        .prepare(&defaults, NOW);
        assert!(matches!(refused, Err(OpError::TooLarge(_))), "{refused:?}");
    }
}
