//! Queues and dead letters: counts and rates per queue; pause, resume, purge; retry or purge
//! dead letters; the registered workers.

use super::rates::RateTracker;
use super::{OpError, linearizable, propose_one};
use crate::queue::validate::must_be_name;
use crate::queue::{Command, DeadSelector, Outcome, TaskId, TaskState, WorkerInfo};
use crate::raft::Replica;

/// One queue: tasks by state, rates over the last 10 s, totals, and who consumes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueView {
    pub name: String,
    pub ready: u64,
    pub scheduled: u64,
    pub started: u64,
    pub retry: u64,
    pub dead: u64,
    pub succeeded: u64,
    pub revoked: u64,
    pub expired: u64,
    pub paused: bool,
    pub enqueued_per_s: f64,
    pub completed_per_s: f64,
    pub failed_per_s: f64,
    pub enqueued_total: u64,
    pub completed_total: u64,
    pub failed_total: u64,
    /// Registered workers that consume the queue.
    pub consumers: u32,
    /// Waiting tasks that no consumer declares, by name.
    pub unhandled: Vec<(String, u64)>,
}

/// Every queue with tasks or a pause, by name.
pub async fn queues(
    replica: &Replica,
    rates: &RateTracker,
    linearizable_read: bool,
) -> Result<Vec<QueueView>, OpError> {
    if linearizable_read {
        linearizable(replica).await?;
    }
    let (stats, totals, coverage) = {
        let queue = replica.shared().queue();
        let stats = queue.stats();
        let coverage: Vec<_> = stats.keys().map(|name| queue.coverage(name)).collect();
        (stats, queue.totals().clone(), coverage)
    };
    let rates = rates.rates();
    Ok(stats
        .into_iter()
        .zip(coverage)
        .map(|((name, s), coverage)| {
            let rate = rates.get(&name).copied().unwrap_or_default();
            let total = totals.get(&name).copied().unwrap_or_default();
            QueueView {
                ready: s.count(TaskState::Pending),
                scheduled: s.count(TaskState::Scheduled),
                started: s.count(TaskState::Started),
                retry: s.count(TaskState::Retry),
                dead: s.count(TaskState::Failure),
                succeeded: s.count(TaskState::Success),
                revoked: s.count(TaskState::Revoked),
                expired: s.count(TaskState::Expired),
                paused: s.paused,
                enqueued_per_s: rate.enqueued,
                completed_per_s: rate.completed,
                failed_per_s: rate.failed,
                enqueued_total: total.enqueued,
                completed_total: total.completed,
                failed_total: total.failed,
                consumers: coverage.consumers,
                unhandled: coverage.unhandled,
                name,
            }
        })
        .collect())
}

fn must_be_queue(queue: &str) -> Result<(), OpError> {
    must_be_name("queue name", queue).map_err(OpError::Invalid)
}

fn count(outcome: Outcome) -> Result<u64, OpError> {
    match outcome {
        Outcome::Count(count) => Ok(count),
        other => Err(OpError::unexpected(&other)),
    }
}

/// Stops handing out the queue's tasks; submits are still accepted.
pub async fn pause(replica: &Replica, queue: String) -> Result<(), OpError> {
    must_be_queue(&queue)?;
    propose_one(replica, Command::PauseQueue { queue }).await?;
    Ok(())
}

pub async fn resume(replica: &Replica, queue: String) -> Result<(), OpError> {
    must_be_queue(&queue)?;
    propose_one(replica, Command::ResumeQueue { queue }).await?;
    Ok(())
}

/// Deletes the queue's waiting tasks; how many.
pub async fn purge(replica: &Replica, queue: String) -> Result<u64, OpError> {
    must_be_queue(&queue)?;
    count(propose_one(replica, Command::PurgeQueue { queue }).await?)
}

/// Which dead letters: exactly one of a task, a queue, or all.
pub fn dead_selector(id: Option<&str>, queue: Option<String>, all: bool) -> Result<DeadSelector, OpError> {
    match (id, queue, all) {
        (Some(id), None, false) => Ok(DeadSelector::Task(
            id.parse::<TaskId>().map_err(OpError::Invalid)?,
        )),
        (None, Some(queue), false) => {
            must_be_queue(&queue)?;
            Ok(DeadSelector::Queue(queue))
        }
        (None, None, true) => Ok(DeadSelector::All),
        _ => Err(OpError::Invalid(
            "name exactly one of: a task id, a queue, or all".into(),
        )),
    }
}

/// Puts dead letters back in their queue, attempts reset; how many.
pub async fn retry_dead(replica: &Replica, selector: DeadSelector) -> Result<u64, OpError> {
    count(propose_one(replica, Command::RetryDead { selector }).await?)
}

/// Deletes dead letters; how many.
pub async fn purge_dead(replica: &Replica, selector: DeadSelector) -> Result<u64, OpError> {
    count(propose_one(replica, Command::PurgeDead { selector }).await?)
}

/// The registered workers, and the cluster time they are seen against.
pub fn workers(replica: &Replica) -> (Vec<WorkerInfo>, u64) {
    let shared = replica.shared();
    let queue = shared.queue();
    (queue.workers().cloned().collect(), queue.now_ms())
}
