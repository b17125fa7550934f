//! Input limits, checked by the API before anything is proposed and again in apply, so that no
//! client input can put a command into the log that a replica could not apply.

use super::submit::SubmitTask;

/// Longest task, queue or worker name, and idempotency key, in bytes.
pub const MAX_NAME_LEN: usize = 200;
/// Highest priority; 0 is the lowest.
pub const MAX_PRIORITY: u8 = 9;
/// Default limit on a task's argument payload (and result).
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;
/// Highest payload limit a node may be configured with.
pub const MAX_PAYLOAD_LIMIT: usize = 16 * 1024 * 1024;
/// Most headers on one task, and longest header key and value.
pub const MAX_HEADERS: usize = 64;
pub const MAX_HEADER_LEN: usize = 4096;
/// Longest error message kept for a failed attempt.
pub const MAX_ERROR_LEN: usize = 64 * 1024;
/// Most tasks in one submit batch, and handed out by one lease.
pub const MAX_BATCH: usize = 1000;
/// Most retries a task may ask for, and the highest delivery limit.
pub const MAX_RETRIES: u32 = 1000;
pub const MAX_DELIVERY_LIMIT: u32 = 1000;
/// Longest time any delay, expiry, window or TTL may span.
pub const MAX_DURATION_MS: u64 = 366 * 24 * 3600 * 1000;
/// Longest hard time limit of one attempt.
pub const MAX_TIMEOUT_MS: u64 = 24 * 3600 * 1000;
/// Shortest and longest lease a worker may ask for.
pub const MIN_LEASE_MS: u64 = 100;
pub const MAX_LEASE_MS: u64 = 24 * 3600 * 1000;
/// Highest per-key concurrency limit a task may carry.
pub const MAX_KEY_CONCURRENCY: u32 = 100_000;
/// Most task names one worker may declare.
pub const MAX_DECLARED_NAMES: usize = 10_000;
/// Longest a lease request may wait for work (its long poll).
pub const MAX_LEASE_WAIT_MS: u64 = 60_000;
/// The queue used when a submit names none.
pub const DEFAULT_QUEUE: &str = "default";

/// Checks a task or queue name: 1..=200 bytes of ASCII letters, digits and `._-:/@`.
pub fn must_be_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "{what} is {} bytes long; the limit is {MAX_NAME_LEN}",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '@')))
    {
        return Err(format!(
            "{what} {name:?} contains {bad:?}; use letters, digits and . _ - : / @ only"
        ));
    }
    Ok(())
}

/// A concurrency key is free text (a customer id, say), but bounded and printable.
pub fn must_be_concurrency_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_NAME_LEN || key.chars().any(char::is_control) {
        return Err(format!(
            "concurrency key must be 1..={MAX_NAME_LEN} bytes without control characters"
        ));
    }
    Ok(())
}

pub fn must_be_duration(what: &str, ms: u64, max: u64) -> Result<(), String> {
    if ms > max {
        return Err(format!("{what} of {ms} ms is longer than the limit of {max} ms"));
    }
    Ok(())
}

pub fn must_be_delivery_limit(limit: u32) -> Result<(), String> {
    if !(1..=MAX_DELIVERY_LIMIT).contains(&limit) {
        return Err(format!(
            "delivery limit {limit} is out of range 1..={MAX_DELIVERY_LIMIT}"
        ));
    }
    Ok(())
}

/// Checks a whole submit against the limits.
pub fn must_be_valid_submit(task: &SubmitTask, max_payload: usize) -> Result<(), String> {
    must_be_name("task name", &task.name)?;
    must_be_name("queue name", &task.queue)?;
    if task.priority > MAX_PRIORITY {
        return Err(format!(
            "priority {} is out of range 0..={MAX_PRIORITY}",
            task.priority
        ));
    }
    if task.args.len() > max_payload {
        return Err(format!(
            "args are {} bytes; the limit is {max_payload} bytes",
            task.args.len()
        ));
    }
    if task.headers.len() > MAX_HEADERS {
        return Err(format!(
            "{} headers; the limit is {MAX_HEADERS}",
            task.headers.len()
        ));
    }
    if let Some((key, _)) = task
        .headers
        .iter()
        .find(|(k, v)| k.len() > MAX_HEADER_LEN || v.len() > MAX_HEADER_LEN || k.is_empty())
    {
        return Err(format!(
            "header {key:?} is empty or longer than {MAX_HEADER_LEN} bytes (key or value)"
        ));
    }
    let options = &task.options;
    let retry = &options.retry;
    if retry.max_retries > MAX_RETRIES {
        return Err(format!(
            "max retries {} is above the limit of {MAX_RETRIES}",
            retry.max_retries
        ));
    }
    if !(retry.factor.is_finite() && (1.0..=100.0).contains(&retry.factor)) {
        return Err(format!(
            "retry backoff factor {} is out of range 1..=100",
            retry.factor
        ));
    }
    must_be_duration("retry delay", retry.initial_delay_ms, MAX_DURATION_MS)?;
    must_be_duration("maximum retry delay", retry.max_delay_ms, MAX_DURATION_MS)?;
    if let Some(timeout) = options.timeout_ms {
        if timeout == 0 {
            return Err("timeout must be at least 1 ms".into());
        }
        must_be_duration("timeout", timeout, MAX_TIMEOUT_MS)?;
    }
    must_be_duration("result TTL", options.result_ttl_ms, MAX_DURATION_MS)?;
    must_be_delivery_limit(options.delivery_limit)?;
    if let Some(limit) = &options.concurrency {
        must_be_concurrency_key(&limit.key)?;
        if !(1..=MAX_KEY_CONCURRENCY).contains(&limit.max) {
            return Err(format!(
                "concurrency limit {} is out of range 1..={MAX_KEY_CONCURRENCY}",
                limit.max
            ));
        }
    }
    if let Some(expires) = task.expires_in_ms {
        must_be_duration("expiry", expires, MAX_DURATION_MS)?;
    }
    if let Some(countdown) = task.countdown_ms {
        must_be_duration("countdown", countdown, MAX_DURATION_MS)?;
        if task.eta_ms.is_some() {
            return Err("give a countdown or an eta, not both".into());
        }
    }
    if let Some(key) = &task.idempotency_key
        && (key.is_empty() || key.len() > MAX_NAME_LEN)
    {
        return Err(format!("idempotency key must be 1..={MAX_NAME_LEN} bytes"));
    }
    must_be_duration("idempotency window", task.dedup_window_ms, MAX_DURATION_MS)?;
    Ok(())
}

/// Checks a worker's registration.
pub fn must_be_valid_registration(registration: &super::worker::WorkerRegistration) -> Result<(), String> {
    must_be_name("worker id", &registration.id)?;
    if registration.node.is_empty() || registration.node.len() > MAX_NAME_LEN {
        return Err(format!("worker node must be 1..={MAX_NAME_LEN} bytes"));
    }
    if registration.queues.is_empty() || registration.queues.len() > 100 {
        return Err("a worker consumes 1..=100 queues".into());
    }
    for queue in &registration.queues {
        must_be_name("queue name", queue)?;
    }
    if registration.names.len() > MAX_DECLARED_NAMES {
        return Err(format!(
            "a worker declares at most {MAX_DECLARED_NAMES} task names, not {}",
            registration.names.len()
        ));
    }
    for name in &registration.names {
        must_be_name("task name", name)?;
    }
    if !(1..=10_000).contains(&registration.concurrency) {
        return Err(format!(
            "concurrency {} is out of range 1..=10000",
            registration.concurrency
        ));
    }
    Ok(())
}

pub fn must_be_lease_ms(lease_ms: u64) -> Result<(), String> {
    if !(MIN_LEASE_MS..=MAX_LEASE_MS).contains(&lease_ms) {
        return Err(format!(
            "lease of {lease_ms} ms is out of range {MIN_LEASE_MS}..={MAX_LEASE_MS} ms"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(must_be_name("queue", "mail.send").is_ok());
        assert!(must_be_name("queue", "a/b:c-d_e@f").is_ok());
        assert!(must_be_name("queue", "").is_err());
        assert!(must_be_name("queue", "has space").is_err());
        assert!(must_be_name("queue", "ünicode").is_err());
        assert!(must_be_name("queue", &"x".repeat(MAX_NAME_LEN)).is_ok());
        assert!(must_be_name("queue", &"x".repeat(MAX_NAME_LEN + 1)).is_err());
    }
}
