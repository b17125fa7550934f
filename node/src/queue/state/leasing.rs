//! Handing tasks to workers, and their answers: ack, fail, extend. Every answer must present the
//! delivery number of the lease it belongs to (the fencing token); an answer for an older
//! delivery is rejected, so a late worker never overwrites the current one's outcome.

use std::collections::BTreeSet;

use super::limits::Admission;
use super::{QueueState, ReadyKey};
use crate::queue::command::{Outcome, Rejection};
use crate::queue::lease::{LeaseRequest, LeasedTask, MAX_LEASE_REPLY_BYTES};
use crate::queue::retry::backoff_ms;
use crate::queue::task::{self, Lease, Task, TaskId, TaskState};

/// Extra time past a task's own timeout before its lease runs out: the worker needs it to notice
/// the timeout, kill the attempt and report the failure.
pub const LEASE_GRACE_MS: u64 = 5_000;
/// Most ready tasks looked at per queue for one lease, when names filter most of them out.
const SCAN_LIMIT: usize = 10_000;

impl QueueState {
    pub(super) fn lease(&mut self, request: LeaseRequest) -> Outcome {
        let max = request.max as usize;
        let mut candidates: Vec<(ReadyKey, TaskId)> = Vec::new();
        for queue in &request.queues {
            candidates.extend(
                self.runnable(queue, &request.names)
                    .take(max)
                    .map(|(key, id)| (*key, *id)),
            );
        }
        candidates.sort();
        candidates.dedup();
        let mut admission = Admission::default();
        let mut reply_bytes = 0u64;
        let admitted: Vec<TaskId> = candidates
            .into_iter()
            .filter_map(|(_, id)| self.tasks.get(&id).map(|entry| (id, entry)))
            .filter(|(_, entry)| admission.admit(self, entry))
            .take(max)
            .take_while(|(_, entry)| {
                let first = reply_bytes == 0;
                reply_bytes = reply_bytes.saturating_add(u64::from(entry.bytes));
                first || reply_bytes <= MAX_LEASE_REPLY_BYTES
            })
            .map(|(id, _)| id)
            .collect();
        let now = self.meta.now_ms;
        let worker = request.worker;
        let mut leased = Vec::new();
        for id in admitted {
            self.update(id, |task| {
                let lease_ms = task
                    .options
                    .timeout_ms
                    .map_or(request.lease_ms, |timeout| timeout.saturating_add(LEASE_GRACE_MS));
                // Records from before `deliveries` existed numbered deliveries by attempts.
                let delivery = task.deliveries.max(task.attempts) + 1;
                let deadline_ms = now.saturating_add(lease_ms);
                task.state = TaskState::Started;
                task.attempts += 1;
                task.deliveries = delivery;
                task.worker = Some(worker.clone());
                task.started_at_ms = Some(now);
                task.lease = Some(Lease {
                    worker: worker.clone(),
                    delivery,
                    deadline_ms,
                });
                leased.push(leased_task(task, delivery, deadline_ms));
            });
        }
        for task in &leased {
            self.record_start(&task.queue, &task.name);
        }
        Outcome::Leased(leased)
    }

    /// What lease answers lost on their way carried: the tasks leased to the request's worker
    /// (in id order), still running under that lease (not revoked meanwhile), of its queues and
    /// names, that are not in `held`, everything the worker says it holds. Handed out as a
    /// lease hands them, with the delivery and deadline they were leased with; at most the
    /// request's `max`, and bounded in bytes like a lease reply.
    pub fn leased_but_not_held(&self, request: &LeaseRequest, held: &BTreeSet<TaskId>) -> Vec<LeasedTask> {
        let mut reply_bytes = 0u64;
        self.leased_to(&request.worker)
            .into_iter()
            .filter(|(id, _)| !held.contains(id))
            .filter_map(|(id, delivery)| {
                let task = self.task(&id)?;
                let lease = task.lease.as_ref().filter(|lease| lease.delivery == delivery)?;
                let named = request.names.is_empty() || request.names.contains(&task.name);
                let runs = task.state == TaskState::Started && named && request.queues.contains(&task.queue);
                runs.then(|| leased_task(&task, delivery, lease.deadline_ms))
            })
            .take(request.max as usize)
            .take_while(|task| {
                let first = reply_bytes == 0;
                reply_bytes = reply_bytes.saturating_add(task::payload_bytes(&task.args, &task.headers));
                first || reply_bytes <= MAX_LEASE_REPLY_BYTES
            })
            .collect()
    }

    pub(super) fn ack(&mut self, id: TaskId, delivery: u32, result: Vec<u8>) -> Outcome {
        if let Err(rejection) = self.must_hold_lease(id, delivery) {
            return Outcome::Rejected(rejection);
        }
        let now = self.meta.now_ms;
        let mut holder = None;
        self.update(id, |task| {
            holder = task.lease.take();
            task.state = TaskState::Success;
            task.result = Some(result);
            task.error = None;
            task.finished_at_ms = Some(now);
        });
        self.answered(id, holder, true, TaskState::Success)
    }

    /// `retry`: `None` fails for good; `Some(None)` retries after the policy's backoff and
    /// `Some(Some(ms))` after `ms`, while the policy has retries left.
    pub(super) fn fail(
        &mut self,
        id: TaskId,
        delivery: u32,
        error: String,
        retry: Option<Option<u64>>,
    ) -> Outcome {
        if let Err(rejection) = self.must_hold_lease(id, delivery) {
            return Outcome::Rejected(rejection);
        }
        let now = self.meta.now_ms;
        let mut holder = None;
        let mut state = TaskState::Failure;
        self.update(id, |task| {
            holder = task.lease.take();
            task.error = Some(error);
            if let Some(retry_in_ms) = retry
                && task.retries < task.options.retry.max_retries
            {
                task.retries += 1;
                task.state = TaskState::Retry;
                let delay_ms =
                    retry_in_ms.unwrap_or_else(|| backoff_ms(&task.options.retry, task.id, task.retries));
                task.retry_at_ms = Some(now.saturating_add(delay_ms));
            } else {
                task.state = TaskState::Failure;
                task.finished_at_ms = Some(now);
            }
            state = task.state;
        });
        self.answered(id, holder, false, state)
    }

    pub(super) fn release(&mut self, id: TaskId, delivery: u32) -> Outcome {
        if let Err(rejection) = self.must_hold_lease(id, delivery) {
            return Outcome::Rejected(rejection);
        }
        self.update(id, |task| {
            task.state = TaskState::Pending;
            task.lease = None;
        });
        Outcome::Updated {
            id,
            state: TaskState::Pending,
        }
    }

    pub(super) fn extend(&mut self, id: TaskId, delivery: u32, lease_ms: u64) -> Outcome {
        if let Err(rejection) = self.must_hold_lease(id, delivery) {
            return Outcome::Rejected(rejection);
        }
        let mut deadline_ms = self.meta.now_ms.saturating_add(lease_ms);
        self.update(id, |task| {
            if let Some(lease) = &mut task.lease {
                lease.deadline_ms = lease.deadline_ms.max(deadline_ms);
                deadline_ms = lease.deadline_ms;
            }
        });
        Outcome::Extended { id, deadline_ms }
    }

    /// Counts an answer for the worker whose lease it ended, and says the task's new state.
    fn answered(&mut self, id: TaskId, lease: Option<Lease>, succeeded: bool, state: TaskState) -> Outcome {
        if let Some(lease) = lease {
            self.count_answer(lease.worker, succeeded);
        }
        Outcome::Updated { id, state }
    }

    /// The tasks of `queue` a worker that runs `names` (empty: any) would be handed, in order: none
    /// while the queue is paused or its rate limit is used up, none that a limit holds back, and
    /// only from the first [`SCAN_LIMIT`] ready ones, so that a queue full of tasks the worker
    /// cannot run is not scanned whole on every lease.
    pub(super) fn runnable<'a>(
        &'a self,
        queue: &str,
        names: &[String],
    ) -> impl Iterator<Item = (&'a ReadyKey, &'a TaskId)> + 'a {
        // The names by their numbers, looked up once: `None` runs any; a name no task has
        // matches nothing.
        let wanted: Option<Vec<_>> =
            (!names.is_empty()).then(|| names.iter().filter_map(|n| self.names.find(n)).collect());
        let ready = self
            .ready
            .get(queue)
            .filter(|_| !self.meta.paused.contains(queue) && self.queue_has_room(queue))
            .filter(|_| wanted.as_ref().is_none_or(|wanted| !wanted.is_empty()));
        ready
            .into_iter()
            .flat_map(|ready| ready.iter().take(SCAN_LIMIT))
            .filter(move |(_, id)| {
                self.tasks.get(*id).is_some_and(|entry| {
                    wanted.as_ref().is_none_or(|wanted| wanted.contains(&entry.name)) && self.may_start(entry)
                })
            })
    }

    /// The task is started and leased under exactly this delivery number.
    fn must_hold_lease(&mut self, id: TaskId, delivery: u32) -> Result<(), Rejection> {
        let entry = self.tasks.get(&id).ok_or(Rejection::NotFound(id))?;
        if !matches!(entry.state, TaskState::Started | TaskState::Revoked) {
            return Err(Rejection::StaleLease {
                id,
                delivery,
                current: format!("the task is {}", entry.state),
            });
        }
        let task = self.take_body(id).ok_or(Rejection::NotFound(id))?;
        let current = task.lease.as_ref().filter(|l| l.delivery == delivery);
        let verdict = match (task.state, current) {
            (TaskState::Started, Some(_)) => Ok(()),
            (TaskState::Revoked, Some(_)) => Err(Rejection::Revoked(id)),
            _ => Err(Rejection::StaleLease {
                id,
                delivery,
                current: match &task.lease {
                    Some(lease) => format!("now delivery {} to {}", lease.delivery, lease.worker),
                    None => format!("the task is {}", task.state),
                },
            }),
        };
        self.keep(task);
        verdict
    }
}

fn leased_task(task: &Task, delivery: u32, deadline_ms: u64) -> LeasedTask {
    LeasedTask {
        id: task.id,
        delivery,
        deadline_ms,
        name: task.name.clone(),
        queue: task.queue.clone(),
        args: task.args.clone(),
        headers: task.headers.clone(),
        timeout_ms: task.options.timeout_ms,
        attempts: task.attempts,
    }
}
