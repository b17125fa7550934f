//! Queries over the state: per-queue statistics and filtered task listings.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::QueueState;
use crate::queue::task::{Task, TaskId, TaskState};
use crate::queue::worker::WorkerInfo;

/// One queue's tasks by state, and whether it is paused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    counts: [u64; 8],
    pub paused: bool,
}

impl QueueStats {
    pub fn count(&self, state: TaskState) -> u64 {
        self.counts[state.index()]
    }
}

/// Who serves a queue: see [`QueueState::coverage`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Registered workers that consume the queue.
    pub consumers: u32,
    /// Waiting tasks by name that no consumer declares, by name.
    pub unhandled: Vec<(String, u64)>,
}

/// Which tasks a listing returns; unset fields match everything.
#[derive(Clone, Debug, Default)]
pub struct TaskFilter {
    pub queue: Option<String>,
    pub state: Option<TaskState>,
    pub name: Option<String>,
    pub limit: usize,
}

impl QueueState {
    /// Every queue with tasks or a pause, by name.
    pub fn stats(&self) -> BTreeMap<String, QueueStats> {
        let mut stats: BTreeMap<String, QueueStats> = self
            .counts
            .iter()
            .map(|(queue, counts)| {
                let stats = QueueStats {
                    counts: *counts,
                    paused: false,
                };
                (queue.clone(), stats)
            })
            .collect();
        for queue in &self.meta.paused {
            stats.entry(queue.clone()).or_default().paused = true;
        }
        stats
    }

    /// Who serves `queue`: how many registered workers consume it, and its waiting tasks
    /// (pending, scheduled, retrying) by name that none of them declares, so that a task nobody
    /// can run is reported instead of waiting in silence.
    pub fn coverage(&self, queue: &str) -> Coverage {
        let consumers: Vec<&WorkerInfo> = self
            .workers
            .values()
            .filter(|w| w.queues.iter().any(|q| q == queue))
            .collect();
        let unhandled = self
            .waiting
            .get(queue)
            .into_iter()
            .flatten()
            .filter(|(name, _)| !consumers.iter().any(|w| w.consumes(queue, name)))
            .map(|(name, count)| (name.clone(), *count))
            .collect();
        Coverage {
            consumers: u32::try_from(consumers.len()).unwrap_or(u32::MAX),
            unhandled,
        }
    }

    /// Finished tasks still held whose finish came after `after`, in the order they finished,
    /// at most `limit`.
    pub fn finished_after(&self, after: u64, limit: usize) -> Vec<Cow<'_, Task>> {
        self.finish_order
            .range(after.saturating_add(1)..)
            .filter_map(|(_, id)| self.task(id))
            .take(limit)
            .collect()
    }

    /// The sequence number of the newest finish (0 before the first).
    pub fn last_finish_seq(&self) -> u64 {
        self.meta.last_finish_seq
    }

    /// Tasks matching `filter`, newest first, at most `filter.limit`.
    pub fn list(&self, filter: &TaskFilter) -> Vec<Cow<'_, Task>> {
        // Names no task uses match nothing; looked up once, not per task.
        let queue = filter.queue.as_deref().map(|q| self.names.find(q));
        let name = filter.name.as_deref().map(|n| self.names.find(n));
        if queue == Some(None) || name == Some(None) {
            return Vec::new();
        }
        self.tasks
            .iter()
            .rev()
            .filter(|(_, e)| queue.flatten().is_none_or(|q| e.queue == q))
            .filter(|(_, e)| name.flatten().is_none_or(|n| e.name == n))
            .filter(|(_, e)| filter.state.is_none_or(|s| e.state == s))
            .filter_map(|(id, _)| self.task(id))
            .take(filter.limit)
            .collect()
    }

    /// Whether a lease for these queues and task names would get anything now: what a worker
    /// checks on its own replica before asking the leader.
    pub fn has_ready(&self, queues: &[String], names: &[String]) -> bool {
        queues
            .iter()
            .any(|queue| self.runnable(queue, names).next().is_some())
    }

    /// The task of `queue` a lease for `names` would take first, with its name.
    pub fn first_runnable(&self, queue: &str, names: &[String]) -> Option<(TaskId, &str)> {
        let (_, id) = self.runnable(queue, names).next()?;
        let entry = self.tasks.get(id)?;
        Some((*id, self.names.get(entry.name)))
    }

    /// Ids of the runnable tasks of `queue` in the order workers would get them.
    pub fn ready_order(&self, queue: &str) -> Vec<crate::queue::TaskId> {
        self.ready
            .get(queue)
            .map(|index| index.values().copied().collect())
            .unwrap_or_default()
    }
}
