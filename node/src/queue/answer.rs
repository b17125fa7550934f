//! The rules every worker's answer is held to, the node's own pool and remote workers alike:
//! an ack whose result is over the payload limit becomes a final failure that says so (the
//! attempt's outcome cannot be stored, and running it again would give the same result), and an
//! error text is cut to its last [`MAX_ERROR_LEN`] bytes, where the cause usually is.

use super::command::Command;
use super::validate::MAX_ERROR_LEN;

/// `command` (an ack or a fail; anything else passes unchanged) within the limits above.
pub fn within_limits(command: Command, max_result_bytes: usize) -> Command {
    match command {
        Command::Ack { id, delivery, result } if result.len() > max_result_bytes => Command::Fail {
            id,
            delivery,
            error: format!(
                "the result is {} bytes; the limit is {max_result_bytes}",
                result.len()
            ),
            retry: false,
            retry_in_ms: None,
        },
        Command::Fail {
            id,
            delivery,
            error,
            retry,
            retry_in_ms,
        } => Command::Fail {
            id,
            delivery,
            error: keep_tail(error),
            retry,
            retry_in_ms,
        },
        other => other,
    }
}

fn keep_tail(error: String) -> String {
    if error.len() <= MAX_ERROR_LEN {
        return error;
    }
    let mut cut = error.len() - MAX_ERROR_LEN;
    while !error.is_char_boundary(cut) {
        cut += 1;
    }
    format!("...{}", &error[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::TaskId;

    #[test]
    fn an_oversized_result_fails_the_task_for_good() {
        let id = TaskId::generate();
        let ack = |size: usize| Command::Ack {
            id,
            delivery: 3,
            result: vec![b'x'; size],
        };
        assert_eq!(within_limits(ack(10), 10), ack(10));
        match within_limits(ack(11), 10) {
            Command::Fail {
                id: failed,
                delivery: 3,
                error,
                retry: false,
                retry_in_ms: None,
            } => {
                assert_eq!(failed, id);
                assert_eq!(error, "the result is 11 bytes; the limit is 10");
            }
            other => panic!("expected a final failure, got {other:?}"),
        }
    }

    #[test]
    fn a_long_error_keeps_its_tail_on_a_char_boundary() {
        let id = TaskId::generate();
        let fail = |error: String| Command::Fail {
            id,
            delivery: 1,
            error,
            retry: true,
            retry_in_ms: Some(5),
        };
        let long = format!("{}é{}", "a".repeat(MAX_ERROR_LEN), "the cause");
        let Command::Fail {
            error,
            retry,
            retry_in_ms,
            ..
        } = within_limits(fail(long), 1)
        else {
            panic!("a fail stays a fail");
        };
        assert!(
            error.starts_with("...") && error.ends_with("the cause"),
            "{error:.40}"
        );
        assert!(error.len() <= MAX_ERROR_LEN + 3 + 1);
        assert!(retry && retry_in_ms == Some(5), "the retry request is kept");
        assert_eq!(within_limits(fail("short".into()), 1), fail("short".into()));
    }
}
