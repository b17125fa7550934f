//! Input limits, checked by the API before anything is proposed and again in apply, so that no
//! client input can put a command into the log that a replica could not apply.

use super::command::SubmitTask;

/// Longest task or queue name, in bytes.
pub const MAX_NAME_LEN: usize = 200;
/// Highest priority; 0 is the lowest.
pub const MAX_PRIORITY: u8 = 9;
/// Default limit on a task's argument payload.
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;
/// Most headers on one task, and longest header key and value.
pub const MAX_HEADERS: usize = 64;
pub const MAX_HEADER_LEN: usize = 4096;
/// The queue used when a submit names none.
pub const DEFAULT_QUEUE: &str = "default";

/// Checks a task or queue name: 1..=200 bytes of ASCII letters, digits and `._-:/`.
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
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/')))
    {
        return Err(format!(
            "{what} {name:?} contains {bad:?}; use letters, digits and . _ - : / only"
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(must_be_name("queue", "mail.send").is_ok());
        assert!(must_be_name("queue", "a/b:c-d_e").is_ok());
        assert!(must_be_name("queue", "").is_err());
        assert!(must_be_name("queue", "has space").is_err());
        assert!(must_be_name("queue", "ünicode").is_err());
        assert!(must_be_name("queue", &"x".repeat(MAX_NAME_LEN)).is_ok());
        assert!(must_be_name("queue", &"x".repeat(MAX_NAME_LEN + 1)).is_err());
    }
}
