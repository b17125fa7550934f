//! What happens by itself as cluster time passes: etas and retry backoffs run out, leases and
//! tasks expire, finished tasks are purged after their TTL, idempotency windows close.

use super::QueueState;
use crate::queue::task::{Task, TaskId, TaskState};

/// Most transitions one task can make in one settle (expire, then its TTL, ...): a bound, so
/// that a bug in `next_due_ms` cannot spin apply forever.
const MAX_STEPS: usize = 8;

impl QueueState {
    /// Settles every task whose timer is due at the current cluster time.
    pub(super) fn settle_due(&mut self) {
        let now = self.meta.now_ms;
        while let Some(&(due, id)) = self.timers.first() {
            if due > now {
                break;
            }
            self.settle(id);
            if self.timers.first() == Some(&(due, id)) {
                // No step moved the timer; drop it rather than loop. Deterministic on every replica.
                self.timers.remove(&(due, id));
            }
        }
    }

    fn settle(&mut self, id: TaskId) {
        let now = self.meta.now_ms;
        for _ in 0..MAX_STEPS {
            let Some(task) = self.tasks.get(&id) else {
                return;
            };
            if task.next_due_ms().is_none_or(|due| due > now) {
                return;
            }
            match step(task, now) {
                Step::Delete => self.replace(id, None),
                Step::Change(next) => self.replace(id, Some(*next)),
                Step::Nothing => return,
            }
        }
    }
}

enum Step {
    Delete,
    Change(Box<Task>),
    Nothing,
}

/// The one transition a due task makes now, most urgent first.
fn step(task: &Task, now: u64) -> Step {
    let mut next = task.clone();
    if task.state.is_waiting() && task.expires_at_ms.is_some_and(|at| at <= now) {
        next.state = TaskState::Expired;
        next.finished_at_ms = Some(now);
        next.retry_at_ms = None;
        next.error = Some("expired before it could run".into());
    } else if task.state == TaskState::Scheduled && task.eta_ms.is_some_and(|at| at <= now) {
        next.state = TaskState::Pending;
    } else if task.state == TaskState::Retry && task.retry_at_ms.is_some_and(|at| at <= now) {
        next.state = TaskState::Pending;
        next.retry_at_ms = None;
    } else if task.state == TaskState::Started && task.lease.as_ref().is_some_and(|l| l.deadline_ms <= now) {
        next.lease = None;
        if task.attempts >= task.options.delivery_limit {
            next.state = TaskState::Failure;
            next.finished_at_ms = Some(now);
            next.error = Some(format!(
                "delivery limit reached: handed to a worker {} times without an answer",
                task.attempts
            ));
        } else {
            next.state = TaskState::Pending;
        }
    } else if task.state == TaskState::Revoked && task.lease.as_ref().is_some_and(|l| l.deadline_ms <= now) {
        next.lease = None;
    } else if task.state.is_final()
        && task.state != TaskState::Failure
        && task.lease.is_none()
        && task
            .finished_at_ms
            .is_some_and(|at| at.saturating_add(task.options.result_ttl_ms) <= now)
    {
        return Step::Delete;
    } else if task.dedup_until_ms.is_some_and(|at| at <= now) {
        next.dedup_until_ms = None;
    } else {
        return Step::Nothing;
    }
    Step::Change(Box::new(next))
}
