//! The history of a run, one JSON object per line: every operation the harness invoked and how
//! it ended, every execution a worker performed, every fault, and what the cluster held at the
//! end. The checker reads nothing else, so a history file can be checked again later.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Milliseconds since the run started.
pub type Millis = u64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// A producer sends a submit of the task identified by `key` (also its idempotency key).
    Invoke {
        t: Millis,
        process: u64,
        key: String,
        /// The node the client tried first.
        node: String,
        /// What the task asks of time; absent for a task to run at once.
        #[serde(default, skip_serializing_if = "Timing::is_now")]
        timing: Timing,
    },
    /// The submit was acknowledged: the task is durable on a majority.
    Ok {
        t: Millis,
        process: u64,
        key: String,
        task_id: String,
    },
    /// The submit certainly was not applied.
    Fail {
        t: Millis,
        process: u64,
        key: String,
        error: String,
    },
    /// The submit may or may not have been applied.
    Unknown {
        t: Millis,
        process: u64,
        key: String,
        error: String,
    },
    /// A worker ran the task (it may still fail to acknowledge it).
    Executed {
        t: Millis,
        task_id: String,
        /// `n2` for a node's own pool, `remote-1` for the harness's workers.
        worker: String,
        attempt: u32,
    },
    /// A harness worker's ack and whether the cluster accepted it.
    Acked {
        t: Millis,
        task_id: String,
        worker: String,
        delivery: u32,
        accepted: bool,
    },
    /// A fault began. `leader_loss` when it takes the leader away (kill, pause or isolation of
    /// the leader, or a partition that leaves it in a minority): failover is timed from here.
    Fault {
        t: Millis,
        nemesis: String,
        detail: String,
        leader_loss: bool,
    },
    /// Every fault is undone: processes resumed or restarted, network healed.
    Heal { t: Millis },
    /// The harness saw the task EXPIRED for the first time (it polls the queue nobody serves).
    SeenExpired { t: Millis, task_id: String },
    /// A node reported itself leader of `term` (sampled from its status).
    Leader { t: Millis, node: u64, term: u64 },
    /// A task as the cluster held it after the final drain.
    Final {
        task_id: String,
        key: String,
        state: String,
        attempts: u32,
    },
    /// After healing, whether the cluster became healthy (a leader, every node caught up) and
    /// every acknowledged task finished, within the deadline.
    Drained {
        t: Millis,
        healthy: bool,
        detail: String,
    },
    /// After the drain, whether every node's replica held the same state (`detail`: the first
    /// difference, or why they could not be compared).
    Converged { t: Millis, same: bool, detail: String },
    /// A node's log showed a panic.
    Panic { node: u64, line: String },
    /// Something a nemesis saw go wrong that the history shows nowhere else.
    Problem { t: Millis, detail: String },
    /// A flow producer sends a workflow (`kind` chord or chain) under idempotency key `key`.
    FlowInvoke { t: Millis, key: String, kind: String },
    /// The flow submit was acknowledged: the flow is durable on a majority.
    FlowOk { t: Millis, key: String, flow_id: String },
    /// The flow submit failed: certainly not applied, or (`unknown`) perhaps applied.
    FlowError {
        t: Millis,
        key: String,
        error: String,
        unknown: bool,
    },
    /// A flow as the cluster held it after the final drain.
    FlowFinal {
        flow_id: String,
        key: String,
        kind: String,
        state: String,
        /// Its members or steps in order, then a chord's callback.
        parts: Vec<FinalPart>,
        /// The flow's result as text (a chord's: the JSON array of every member's outcome).
        result: String,
    },
    /// A task of the flows queue (a flow's part or a scheduled run) after the final drain.
    FinalStep {
        task_id: String,
        owner: StepOwner,
        state: String,
        attempts: u32,
    },
    /// The harness added its schedule (before the first fault).
    ScheduleAdded { t: Millis, name: String },
    /// The harness's schedule after the final drain. Its due times are `created_at_ms` plus
    /// whole intervals (a resent add keeps them); `stopped_at_ms` is the Unix time the harness
    /// paused it, before the drain. Every due time from the first to the stop must have fired.
    Schedule {
        name: String,
        interval_ms: u64,
        created_at_ms: u64,
        stopped_at_ms: u64,
        runs: u64,
        missed: u64,
    },
}

/// What a submitted task asks of time, which decides where it goes and how it must end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Timing {
    /// Runs as soon as a worker is free.
    #[default]
    Now,
    /// Must not run before `countdown_ms` after it was sent.
    Countdown { countdown_ms: u64 },
    /// Sent to the queue nobody serves: must end EXPIRED, and not before `expires_in_ms` after
    /// it was sent.
    Expiring { expires_in_ms: u64 },
    /// Sent to the rate-limited queue: must keep running however the clocks jump.
    Limited,
}

impl Timing {
    pub fn is_now(&self) -> bool {
        *self == Timing::Now
    }

    /// The final state that proves the task was not lost.
    pub fn final_state(&self) -> &'static str {
        match self {
            Timing::Expiring { .. } => "EXPIRED",
            _ => "SUCCESS",
        }
    }
}

/// One part of a flow at the end: its task, if it was enqueued, and that task's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalPart {
    pub task_id: Option<String>,
    pub state: String,
}

/// What made a task of the flows queue, from its headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum StepOwner {
    /// Part `part` ("0", "1", ... or "callback") of a flow.
    Flow { flow_id: String, part: String },
    /// The run of the schedule's due time `due_ms`.
    Schedule { due_ms: u64 },
    /// Neither: nothing the harness submitted.
    Unknown,
}

/// Appends entries to a JSONL file as they happen (for reading later) and keeps them in memory
/// (for the run's own checks); clones share both.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Written>>,
    started: tokio::time::Instant,
    /// The same moment as Unix ms, to place times other processes wrote (execution logs).
    started_unix_ms: u64,
}

struct Written {
    out: std::io::BufWriter<std::fs::File>,
    entries: Vec<Entry>,
}

impl Recorder {
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        let file = std::fs::File::create(path)?;
        Ok(Recorder {
            inner: Arc::new(Mutex::new(Written {
                out: std::io::BufWriter::new(file),
                entries: Vec::new(),
            })),
            started: tokio::time::Instant::now(),
            started_unix_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        })
    }

    /// Milliseconds since the recorder was created: the `t` of new entries.
    pub fn now(&self) -> Millis {
        self.started.elapsed().as_millis() as Millis
    }

    /// A Unix time in ms as the `t` of an entry.
    pub fn since_start(&self, unix_ms: u64) -> Millis {
        unix_ms.saturating_sub(self.started_unix_ms)
    }

    fn written(&self) -> std::sync::MutexGuard<'_, Written> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record(&self, entry: &Entry) {
        let mut written = self.written();
        // A history that cannot be written makes the file worthless: say so loudly, and carry
        // on so the run is still checked from memory and the cluster torn down.
        if let Err(e) = serde_json::to_writer(&mut written.out, entry)
            .map_err(std::io::Error::from)
            .and_then(|()| written.out.write_all(b"\n"))
        {
            tracing::error!(error = %e, "cannot write the history");
        }
        written.entries.push(entry.clone());
    }

    /// Runs `look` over the entries so far, without copying them.
    pub fn inspect<R>(&self, look: impl FnOnce(&[Entry]) -> R) -> R {
        look(&self.written().entries)
    }

    pub fn flush(&self) -> std::io::Result<()> {
        self.written().out.flush()
    }
}

/// Reads a history file back.
pub fn read(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let file = std::fs::File::open(path)?;
    let mut entries = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), number + 1))?;
        entries.push(entry);
    }
    Ok(entries)
}
