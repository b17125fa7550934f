//! Operator commands: revoke, pause and resume a queue, purge it, and handle dead letters.

use super::QueueState;
use super::entry::{Names, TaskEntry};
use crate::queue::command::{DeadSelector, Outcome, Rejection};
use crate::queue::event::{EventKind, QueueAction};
use crate::queue::task::{TaskId, TaskState};

impl QueueState {
    /// A waiting task never runs; a started one is marked revoked and keeps its lease, so its
    /// worker learns of it on its next extend (and any ack is refused). Revoking a finished task
    /// changes nothing.
    pub(super) fn revoke(&mut self, id: TaskId) -> Outcome {
        let Some(state) = self.task_state(&id) else {
            return Outcome::Rejected(Rejection::NotFound(id));
        };
        if state.is_final() {
            return Outcome::Updated { id, state };
        }
        let now = self.meta.now_ms;
        self.update(id, |task| {
            task.state = TaskState::Revoked;
            task.retry_at_ms = None;
            task.finished_at_ms = Some(now);
        });
        Outcome::Updated {
            id,
            state: TaskState::Revoked,
        }
    }

    pub(super) fn set_paused(&mut self, queue: String, paused: bool) -> Outcome {
        let changed = if paused {
            self.meta.paused.insert(queue.clone())
        } else {
            self.meta.paused.remove(&queue)
        };
        if changed {
            let action = if paused {
                QueueAction::Paused
            } else {
                QueueAction::Resumed
            };
            self.record(EventKind::Queue {
                queue,
                action,
                count: 0,
            });
        }
        Outcome::Done
    }

    /// Deletes the queue's waiting tasks (pending, scheduled, retrying); running and finished
    /// ones stay.
    pub(super) fn purge_queue(&mut self, queue: &str) -> Outcome {
        let doomed =
            self.ids_where(|entry, names| entry.state.is_waiting() && names.get(entry.queue) == queue);
        for id in &doomed {
            self.delete(*id);
        }
        self.record(EventKind::Queue {
            queue: queue.to_owned(),
            action: QueueAction::Purged,
            count: doomed.len() as u64,
        });
        Outcome::Count(doomed.len() as u64)
    }

    fn dead_letters(&self, selector: &DeadSelector) -> Result<Vec<TaskId>, Rejection> {
        match selector {
            DeadSelector::Task(id) => {
                let state = self.task_state(id).ok_or(Rejection::NotFound(*id))?;
                if state != TaskState::Failure {
                    return Err(Rejection::NotDead { id: *id, state });
                }
                Ok(vec![*id])
            }
            DeadSelector::Queue(queue) => Ok(self.ids_where(|entry, names| {
                entry.state == TaskState::Failure && names.get(entry.queue) == queue
            })),
            DeadSelector::All => Ok(self.ids_where(|entry, _| entry.state == TaskState::Failure)),
        }
    }

    /// Back to the queue with attempts reset, as if just submitted (keeping its place by age).
    /// Delivery numbers go on from where they were: see [`crate::queue::Task::deliveries`].
    pub(super) fn retry_dead(&mut self, selector: &DeadSelector) -> Outcome {
        let ids = match self.dead_letters(selector) {
            Ok(ids) => ids,
            Err(rejection) => return Outcome::Rejected(rejection),
        };
        for id in &ids {
            self.update(*id, |task| {
                task.state = TaskState::Pending;
                task.attempts = 0;
                task.retries = 0;
                task.lease = None;
                task.error = None;
                task.finished_at_ms = None;
                task.started_at_ms = None;
                task.retry_at_ms = None;
                // An expiry that already passed would expire it again at once.
                task.expires_at_ms = None;
            });
        }
        self.record_dead_action(selector, QueueAction::DeadRetried, ids.len());
        Outcome::Count(ids.len() as u64)
    }

    pub(super) fn purge_dead(&mut self, selector: &DeadSelector) -> Outcome {
        let ids = match self.dead_letters(selector) {
            Ok(ids) => ids,
            Err(rejection) => return Outcome::Rejected(rejection),
        };
        self.record_dead_action(selector, QueueAction::DeadPurged, ids.len());
        for id in &ids {
            self.delete(*id);
        }
        Outcome::Count(ids.len() as u64)
    }

    /// An event for a dead-letter action, named by the queue it concerned (a single task's
    /// queue, looked up while the task is still there).
    fn record_dead_action(&mut self, selector: &DeadSelector, action: QueueAction, count: usize) {
        let queue = match selector {
            DeadSelector::Queue(queue) => queue.clone(),
            DeadSelector::Task(id) => self
                .tasks
                .get(id)
                .map(|entry| self.names.get(entry.queue).to_owned())
                .unwrap_or_default(),
            DeadSelector::All => String::new(),
        };
        self.record(EventKind::Queue {
            queue,
            action,
            count: count as u64,
        });
    }

    /// Ids of the tasks whose entries match, oldest id first.
    fn ids_where(&self, matches: impl Fn(&TaskEntry, &Names) -> bool) -> Vec<TaskId> {
        self.tasks
            .iter()
            .filter(|(_, entry)| matches(entry, &self.names))
            .map(|(id, _)| *id)
            .collect()
    }
}
