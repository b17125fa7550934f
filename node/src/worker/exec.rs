//! `exec` handlers: a task name mapped, in the node config, to a program. The task's args go to
//! the program's stdin, its stdout is the result, a non-zero exit is a failure whose error is the
//! tail of stderr. The program runs in its own process group, killed whole when the attempt is
//! dropped (time limit, revoke, shutdown). Only declared programs ever run: the task chooses
//! nothing but its input. The program gets a cleared environment: the node's own variables
//! (its tokens' files, cloud credentials...) reach it only if [`PASSED_ENV`] names them, plus the
//! task's `QRAFT_TASK_*` variables. Its stderr is read to the end but only the tail is kept, so a
//! program that floods it cannot fill the node's memory.

use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::handler::{Handler, HandlerFuture, TaskContext, TaskError};
use crate::queue::validate::MAX_PAYLOAD_LIMIT;

/// Most stdout read: the highest result limit a node can have. The pool refuses results over
/// the node's own limit (`--max-payload-bytes`) whatever handler made them.
const MAX_OUTPUT: u64 = MAX_PAYLOAD_LIMIT as u64;
/// How much of stderr's end is kept as the error.
const STDERR_TAIL: usize = 4096;
/// The node's environment variables a program sees (when the node has them): what programs
/// need to find their tools, files and locale, and nothing that could be a secret.
pub const PASSED_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
];

#[derive(Clone, Debug)]
pub struct ExecHandler {
    /// Program and its fixed arguments, as declared in the config.
    argv: Vec<String>,
}

impl ExecHandler {
    pub fn new(argv: Vec<String>) -> ExecHandler {
        ExecHandler { argv }
    }
}

/// Kills the program's whole process group unless it already exited: dropping the attempt's
/// future (timeout, revoke) must not leave the program running.
struct GroupGuard {
    pgid: Option<i32>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Handler for ExecHandler {
    fn run(&self, task: TaskContext) -> HandlerFuture {
        let argv = self.argv.clone();
        Box::pin(async move {
            let (program, fixed) = argv
                .split_first()
                .ok_or_else(|| TaskError::permanent("exec handler has no program"))?;
            let mut command = Command::new(program);
            command.env_clear();
            for name in PASSED_ENV {
                if let Some(value) = std::env::var_os(name) {
                    command.env(name, value);
                }
            }
            command
                .args(fixed)
                .env("QRAFT_TASK_ID", &task.id)
                .env("QRAFT_TASK_NAME", &task.name)
                .env("QRAFT_TASK_QUEUE", &task.queue)
                .env("QRAFT_ATTEMPT", task.attempt.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .process_group(0)
                .kill_on_drop(true);
            let mut child = command
                .spawn()
                .map_err(|e| TaskError::retryable(format!("cannot start {program}: {e}")))?;
            let mut guard = GroupGuard {
                pgid: child.id().and_then(|pid| i32::try_from(pid).ok()),
            };
            let mut stdin = child.stdin.take();
            let mut stdout = child
                .stdout
                .take()
                .ok_or_else(|| TaskError::retryable("no stdout pipe"))?;
            let mut stderr = child
                .stderr
                .take()
                .ok_or_else(|| TaskError::retryable("no stderr pipe"))?;
            let args = task.args;
            let feed = async move {
                if let Some(stdin) = stdin.as_mut() {
                    // A program that ignores its input closes the pipe early: not an error.
                    let _ = stdin.write_all(&args).await;
                    let _ = stdin.shutdown().await;
                }
                drop(stdin);
            };
            let read_out = async {
                let mut out = Vec::new();
                (&mut stdout)
                    .take(MAX_OUTPUT + 1)
                    .read_to_end(&mut out)
                    .await
                    .map(|_| out)
            };
            let read_err = read_tail(&mut stderr, STDERR_TAIL);
            let ((), out, err) = tokio::join!(feed, read_out, read_err);
            let status = child
                .wait()
                .await
                .map_err(|e| TaskError::retryable(format!("lost {program}: {e}")))?;
            guard.pgid = None;
            let out = out.map_err(|e| TaskError::retryable(format!("reading stdout: {e}")))?;
            let err = err.unwrap_or_default();
            if status.success() {
                if out.len() as u64 > MAX_OUTPUT {
                    return Err(TaskError::permanent(format!("output is over {MAX_OUTPUT} bytes")));
                }
                return Ok(out);
            }
            let tail = String::from_utf8_lossy(&err).trim().to_string();
            let exit = match status.code() {
                Some(code) => format!("exit code {code}"),
                None => "killed by a signal".to_string(),
            };
            Err(TaskError::retryable(if tail.is_empty() {
                format!("{program}: {exit}")
            } else {
                format!("{program}: {exit}: {tail}")
            }))
        })
    }
}

/// Reads `from` to its end and returns its last `keep` bytes: the pipe is drained (a program
/// blocked on a full stderr would never exit) while memory stays bounded.
async fn read_tail(from: &mut (impl tokio::io::AsyncRead + Unpin), keep: usize) -> std::io::Result<Vec<u8>> {
    let mut tail = Vec::with_capacity(2 * keep);
    let mut chunk = vec![0u8; 8192];
    loop {
        let read = from.read(&mut chunk).await?;
        if read == 0 {
            let start = tail.len().saturating_sub(keep);
            return Ok(tail.split_off(start));
        }
        tail.extend_from_slice(&chunk[..read]);
        if tail.len() > 2 * keep {
            tail.drain(..tail.len() - keep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(args: &str) -> TaskContext {
        TaskContext {
            id: "01TEST".into(),
            name: "shell".into(),
            queue: "q".into(),
            args: args.as_bytes().to_vec(),
            attempt: 2,
        }
    }

    fn sh(script: &str) -> ExecHandler {
        ExecHandler::new(vec!["sh".into(), "-c".into(), script.into()])
    }

    #[tokio::test]
    async fn stdin_in_stdout_out() {
        let result = sh("tr a-z A-Z").run(context("hello")).await;
        assert_eq!(result, Ok(b"HELLO".to_vec()));
        let env = sh("printf '%s %s' \"$QRAFT_TASK_ID\" \"$QRAFT_ATTEMPT\"")
            .run(context(""))
            .await;
        assert_eq!(env, Ok(b"01TEST 2".to_vec()));
    }

    #[tokio::test]
    async fn non_zero_exit_is_a_failure_with_the_stderr_tail() {
        let error = sh("echo starting >&2; echo 'disk full' >&2; exit 3")
            .run(context(""))
            .await
            .expect_err("fails");
        assert!(
            error.message.contains("exit code 3") && error.message.ends_with("disk full"),
            "{}",
            error.message
        );
        assert!(!error.permanent);
    }

    #[tokio::test]
    async fn a_program_sees_only_the_passed_environment() {
        // cargo gives every test process these; a program the node starts must not see them.
        assert!(std::env::var_os("CARGO_PKG_NAME").is_some(), "set by cargo test");
        assert!(std::env::var_os("PATH").is_some());
        let seen = sh("echo \"pkg=$CARGO_PKG_NAME path=${PATH:+set} task=$QRAFT_TASK_NAME\"")
            .run(context(""))
            .await
            .expect("runs");
        assert_eq!(String::from_utf8_lossy(&seen).trim(), "pkg= path=set task=shell");
    }

    #[tokio::test]
    async fn a_flood_on_stderr_keeps_only_its_tail() {
        let error = sh("head -c 20000000 /dev/zero | tr '\\0' x >&2; echo ' the cause' >&2; exit 1")
            .run(context(""))
            .await
            .expect_err("fails");
        assert!(error.message.ends_with("the cause"), "{:.80}", error.message);
        assert!(
            error.message.len() <= STDERR_TAIL + 64,
            "{} bytes kept",
            error.message.len()
        );
    }

    #[tokio::test]
    async fn a_missing_program_is_reported() {
        let error = ExecHandler::new(vec!["/nonexistent/program".into()])
            .run(context(""))
            .await
            .expect_err("fails");
        assert!(error.message.contains("cannot start"), "{}", error.message);
    }

    /// Running, as opposed to gone or a zombie waiting to be reaped.
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| stat.rsplit(')').next().map(|rest| rest.trim_start().to_string()))
            .is_some_and(|rest| !rest.starts_with('Z') && !rest.starts_with('X'))
    }

    async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while !condition() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            // Polling interval; the condition decides.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn dropping_the_attempt_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pidfile = dir.path().join("grandchild");
        // The program starts a grandchild and records its pid.
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let attempt = tokio::spawn(sh(&script).run(context("")));
        eventually("the grandchild to start", || {
            pidfile.exists() && std::fs::read_to_string(&pidfile).is_ok_and(|p| p.ends_with('\n'))
        })
        .await;
        let pid = std::fs::read_to_string(&pidfile).expect("pid").trim().to_string();
        assert!(alive(&pid));
        attempt.abort();
        eventually("the grandchild to be killed with its group", || !alive(&pid)).await;
    }
}
