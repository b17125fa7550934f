//! Built-in handlers, always available, for demos, benchmarks and tests: `builtin.noop` (does
//! nothing), `builtin.echo` (result = args), `builtin.sleep` (`{"ms":N}`), `builtin.fail`
//! (`{"times":N}`: fails the first N attempts, then succeeds), `builtin.cpu` (`{"ms":N}` of busy
//! work).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::handler::{Registry, TaskContext, TaskError};

pub fn register(registry: &mut Registry) {
    registry
        .register("builtin.noop", |_task: TaskContext| async move { Ok(Vec::new()) })
        .register("builtin.echo", |task: TaskContext| async move { Ok(task.args) })
        .register("builtin.sleep", |task: TaskContext| async move {
            let ms = number(&task.args, "ms")?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(format!("{{\"slept_ms\":{ms}}}").into_bytes())
        })
        .register("builtin.fail", |task: TaskContext| async move {
            let times = number(&task.args, "times")?;
            if u64::from(task.attempt) <= times {
                return Err(TaskError::retryable(format!(
                    "failing on purpose: attempt {} of the first {times}",
                    task.attempt
                )));
            }
            Ok(format!("{{\"succeeded_on_attempt\":{}}}", task.attempt).into_bytes())
        })
        .register("builtin.cpu", |task: TaskContext| async move {
            let ms = number(&task.args, "ms")?;
            // Busy work off the async threads, so a CPU task does not stall the node's I/O.
            let spins = tokio::task::spawn_blocking(move || {
                let until = Instant::now() + Duration::from_millis(ms);
                let mut spins: u64 = 0;
                while Instant::now() < until {
                    spins = std::hint::black_box(spins.wrapping_add(1));
                }
                spins
            })
            .await
            .map_err(|e| TaskError::retryable(format!("cpu work panicked: {e}")))?;
            Ok(format!("{{\"busy_ms\":{ms},\"spins\":{spins}}}").into_bytes())
        });
}

/// A non-negative integer field of a JSON object argument; absent means 0.
fn number(args: &[u8], field: &str) -> Result<u64, TaskError> {
    if args.is_empty() {
        return Ok(0);
    }
    let value: Value =
        serde_json::from_slice(args).map_err(|e| TaskError::permanent(format!("args are not JSON: {e}")))?;
    match value.get(field) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v.as_u64().ok_or_else(|| {
            TaskError::permanent(format!("\"{field}\" must be a non-negative integer, not {v}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(name: &str, args: &str, attempt: u32) -> TaskContext {
        TaskContext {
            id: "t".into(),
            name: name.into(),
            queue: "q".into(),
            args: args.as_bytes().to_vec(),
            attempt,
        }
    }

    async fn run(name: &str, args: &str, attempt: u32) -> Result<Vec<u8>, TaskError> {
        let registry = Registry::with_builtins();
        let handler = registry.get(name).expect("registered");
        handler.run(context(name, args, attempt)).await
    }

    #[tokio::test]
    async fn echo_returns_its_args() {
        assert_eq!(
            run("builtin.echo", r#"{"x":1}"#, 1).await,
            Ok(br#"{"x":1}"#.to_vec())
        );
    }

    #[tokio::test]
    async fn fail_fails_the_first_n_attempts() {
        assert!(run("builtin.fail", r#"{"times":2}"#, 1).await.is_err());
        assert!(run("builtin.fail", r#"{"times":2}"#, 2).await.is_err());
        assert!(run("builtin.fail", r#"{"times":2}"#, 3).await.is_ok());
    }

    #[tokio::test]
    async fn bad_args_fail_for_good() {
        let error = run("builtin.sleep", r#"{"ms":"soon"}"#, 1)
            .await
            .expect_err("bad args");
        assert!(error.permanent);
        assert!(
            run("builtin.cpu", "not json", 1)
                .await
                .expect_err("bad")
                .permanent
        );
    }

    #[tokio::test]
    async fn sleep_and_cpu_take_the_time_asked() {
        for name in ["builtin.sleep", "builtin.cpu"] {
            let started = tokio::time::Instant::now();
            run(name, r#"{"ms":30}"#, 1).await.expect("runs");
            assert!(
                started.elapsed() >= Duration::from_millis(30),
                "{name} returned early"
            );
        }
    }
}
