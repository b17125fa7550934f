//! Matches submitted tasks with their finishes, streamed by the leader (`WatchFinished`), and
//! records each task's submit-to-finish time. A finish may arrive before its submit's answer
//! does; it is kept until the answer names the task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use qraft_proto::{Client, pb};
use tokio::sync::Notify;

use super::report::{Report, micros, new_histogram};

pub struct Tracker {
    inner: Mutex<Inner>,
    changed: Notify,
}

struct Inner {
    /// Submitted, not finished yet: when the submit was sent.
    waiting: HashMap<String, Instant>,
    /// Finished before its submit's answer arrived: when the finish was seen, and whether it
    /// succeeded.
    early: HashMap<String, (Instant, bool)>,
    latencies: Histogram<u64>,
    finished: u64,
    /// Finished in a state other than SUCCESS.
    unsuccessful: u64,
    last_finish: Option<Instant>,
    stream_error: Option<String>,
}

/// What the tracker saw, once every expected task finished.
pub struct Finishes {
    pub latencies: Histogram<u64>,
    pub last_finish: Instant,
    pub unsuccessful: u64,
}

impl Tracker {
    /// Opens the finish stream on the leader of `client`'s cluster for `queue`.
    pub async fn start(client: &Client, queue: &str) -> anyhow::Result<Arc<Tracker>> {
        let leader = client
            .cluster_status()
            .await
            .into_iter()
            .filter_map(|(_, status)| status.ok())
            .map(|status| status.leader_addr)
            .find(|addr| !addr.is_empty())
            .context("no node of the cluster knows a leader")?;
        let mut stream = client
            .watch_finished(&leader, queue)
            .await
            .with_context(|| format!("watching finished tasks on {leader}"))?;
        let tracker = Arc::new(Tracker {
            inner: Mutex::new(Inner {
                waiting: HashMap::new(),
                early: HashMap::new(),
                latencies: new_histogram(),
                finished: 0,
                unsuccessful: 0,
                last_finish: None,
                stream_error: None,
            }),
            changed: Notify::new(),
        });
        let reader = tracker.clone();
        tokio::spawn(async move {
            loop {
                match stream.message().await {
                    Ok(Some(batch)) => reader.finished(batch.tasks),
                    Ok(None) => return reader.broken("the leader ended the finish stream".into()),
                    Err(status) => return reader.broken(format!("finish stream: {}", status.message())),
                }
            }
        });
        Ok(tracker)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The submit sent at `sent` was answered with these task ids.
    pub fn submitted(&self, ids: impl IntoIterator<Item = String>, sent: Instant) {
        let mut inner = self.lock();
        for id in ids {
            match inner.early.remove(&id) {
                Some((finished, success)) => inner.record(finished.saturating_duration_since(sent), success),
                None => {
                    inner.waiting.insert(id, sent);
                }
            }
        }
        drop(inner);
        self.changed.notify_waiters();
    }

    fn finished(&self, tasks: Vec<pb::FinishedTask>) {
        let now = Instant::now();
        let mut inner = self.lock();
        for task in tasks {
            let success = task.state == pb::TaskState::Success as i32;
            match inner.waiting.remove(&task.id) {
                Some(sent) => inner.record(now.saturating_duration_since(sent), success),
                None => {
                    inner.early.insert(task.id, (now, success));
                }
            }
        }
        inner.last_finish = Some(now);
        drop(inner);
        self.changed.notify_waiters();
    }

    fn broken(&self, error: String) {
        self.lock().stream_error = Some(error);
        self.changed.notify_waiters();
    }

    /// Tasks finished so far (of those whose submit was answered).
    pub fn finished_count(&self) -> u64 {
        self.lock().finished
    }

    /// Waits until `expected` tasks have finished, for at most `timeout`.
    pub async fn wait_for(&self, expected: u64, timeout: Duration) -> anyhow::Result<Finishes> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            {
                let mut inner = self.lock();
                if let Some(error) = &inner.stream_error {
                    bail!("{error}; {} of {expected} tasks seen finished", inner.finished);
                }
                if inner.finished >= expected {
                    return Ok(Finishes {
                        latencies: std::mem::replace(&mut inner.latencies, new_histogram()),
                        last_finish: inner.last_finish.unwrap_or_else(Instant::now),
                        unsuccessful: inner.unsuccessful,
                    });
                }
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                let inner = self.lock();
                bail!(
                    "only {} of {expected} tasks finished within {} s ({} still waiting)",
                    inner.finished,
                    timeout.as_secs(),
                    inner.waiting.len()
                );
            }
        }
    }
}

impl Finishes {
    /// Puts the figures into `report`: elapsed from `started` to the last finish, the
    /// submit-to-finish latencies, and tasks that did not succeed as errors.
    pub fn fill(self, report: &mut Report, started: Instant) {
        report.elapsed = self.last_finish.saturating_duration_since(started);
        report.latencies = self.latencies;
        if self.unsuccessful > 0 {
            report.errors += self.unsuccessful;
            report.last_error = Some(format!("{} tasks did not succeed", self.unsuccessful));
        }
    }
}

impl Inner {
    fn record(&mut self, latency: Duration, success: bool) {
        self.finished += 1;
        self.unsuccessful += u64::from(!success);
        let _ = self.latencies.record(micros(latency));
    }
}
