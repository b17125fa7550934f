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
            let Some(task) = self.take_body(id) else {
                return;
            };
            let step = step(&task, now).filter(|_| task.next_due_ms().is_some_and(|due| due <= now));
            match step {
                Some(Step::Delete) => self.delete_taken(task),
                Some(step) => self.update_taken(task, |task| apply(step, task, now)),
                None => return self.keep(task),
            }
        }
    }
}

/// The one transition a due task makes now.
#[derive(Clone, Copy)]
enum Step {
    Expire,
    Release,
    RetryDue,
    LeaseExpired { dead: bool },
    DropRevokedLease,
    Delete,
    CloseDedupWindow,
}

/// Which transition is due, most urgent first; read-only, so nothing is copied to decide.
fn step(task: &Task, now: u64) -> Option<Step> {
    let lease_over = task.lease.as_ref().is_some_and(|l| l.deadline_ms <= now);
    if task.state.is_waiting() && task.expires_at_ms.is_some_and(|at| at <= now) {
        Some(Step::Expire)
    } else if task.state == TaskState::Scheduled && task.eta_ms.is_some_and(|at| at <= now) {
        Some(Step::Release)
    } else if task.state == TaskState::Retry && task.retry_at_ms.is_some_and(|at| at <= now) {
        Some(Step::RetryDue)
    } else if task.state == TaskState::Started && lease_over {
        Some(Step::LeaseExpired {
            dead: task.attempts >= task.options.delivery_limit,
        })
    } else if task.state == TaskState::Revoked && lease_over {
        Some(Step::DropRevokedLease)
    } else if task.state.is_final()
        && task.lease.is_none()
        && task
            .finished_at_ms
            .is_some_and(|at| at.saturating_add(task.kept_for_ms()) <= now)
    {
        Some(Step::Delete)
    } else if task.dedup_until_ms.is_some_and(|at| at <= now) {
        Some(Step::CloseDedupWindow)
    } else {
        None
    }
}

fn apply(step: Step, task: &mut Task, now: u64) {
    match step {
        Step::Expire => {
            task.state = TaskState::Expired;
            task.finished_at_ms = Some(now);
            task.retry_at_ms = None;
            task.error = Some("expired before it could run".into());
        }
        Step::Release => task.state = TaskState::Pending,
        Step::RetryDue => {
            task.state = TaskState::Pending;
            task.retry_at_ms = None;
        }
        Step::LeaseExpired { dead } => {
            task.lease = None;
            if dead {
                task.state = TaskState::Failure;
                task.finished_at_ms = Some(now);
                task.error = Some(format!(
                    "delivery limit reached: handed to a worker {} times without an answer",
                    task.attempts
                ));
            } else {
                task.state = TaskState::Pending;
            }
        }
        Step::DropRevokedLease => task.lease = None,
        Step::CloseDedupWindow => task.dedup_until_ms = None,
        // Handled by the caller: a deletion is not an in-place change.
        Step::Delete => {}
    }
}
