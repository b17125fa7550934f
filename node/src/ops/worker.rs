//! The lease protocol any worker speaks: register, heartbeat, lease (with a long poll), extend,
//! answer (ack, fail, release), leave. Every answer is held to the limits every worker's is
//! (`queue::answer`).

use std::collections::BTreeSet;
use std::time::Duration;

use super::TaskDefaults;
use super::{OpError, linearizable, propose_one};
use crate::queue::validate::{self, MAX_DURATION_MS, MAX_LEASE_WAIT_MS};
use crate::queue::worker::is_embedded_worker_id;
use crate::queue::{
    Command, LeaseRequest, LeasedTask, Outcome, TaskId, TaskState, WorkerKind, WorkerRegistration, answer,
};
use crate::raft::{ProposeError, Replica};

/// A worker asking for tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseInput {
    pub worker: String,
    pub queues: Vec<String>,
    /// Task names it runs; empty: any.
    pub names: Vec<String>,
    pub max: u32,
    /// The node's default lease when `None`.
    pub lease_ms: Option<u64>,
    /// How long to wait for work when there is none (long poll); zero answers at once.
    pub wait_ms: u64,
    /// Set after a lease whose answer never arrived: every task the worker holds (leased, its
    /// answer not yet confirmed). The tasks leased to it that it does not hold come back first.
    pub recover: Option<BTreeSet<TaskId>>,
}

/// A worker's answer for one delivery of a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Ack {
        result: Vec<u8>,
    },
    Fail {
        error: String,
        retry: bool,
        retry_in_ms: Option<u64>,
    },
    /// Handed back unrun (the worker is stopping): the attempt does not count.
    Release,
}

pub async fn register(replica: &Replica, mut registration: WorkerRegistration) -> Result<(), OpError> {
    registration.kind = WorkerKind::Remote;
    validate::must_be_valid_registration(&registration).map_err(OpError::Invalid)?;
    must_not_be_a_node_pool(&registration.id)?;
    propose_one(replica, Command::RegisterWorker(registration)).await?;
    Ok(())
}

pub async fn heartbeat(replica: &Replica, id: String, active: u32) -> Result<(), OpError> {
    validate::must_be_name("worker id", &id).map_err(OpError::Invalid)?;
    must_not_be_a_node_pool(&id)?;
    propose_one(replica, Command::WorkerHeartbeat { id, active }).await?;
    Ok(())
}

pub async fn leave(replica: &Replica, id: String) -> Result<(), OpError> {
    validate::must_be_name("worker id", &id).map_err(OpError::Invalid)?;
    must_not_be_a_node_pool(&id)?;
    propose_one(replica, Command::LeaveWorker { id }).await?;
    Ok(())
}

/// A node's pool hands back the leases under its id that it does not run: a remote worker
/// under that id would have its tasks taken from it.
fn must_not_be_a_node_pool(id: &str) -> Result<(), OpError> {
    if is_embedded_worker_id(id) {
        return Err(OpError::Invalid(format!(
            "worker id {id:?} is reserved for a node's own worker pool; give this worker \
             another id (the default is HOST:PID)"
        )));
    }
    Ok(())
}

fn lease_ms(defaults: &TaskDefaults, requested: Option<u64>) -> Result<u64, OpError> {
    let lease_ms = requested.unwrap_or(defaults.lease_ms);
    validate::must_be_lease_ms(lease_ms).map_err(OpError::Invalid)?;
    Ok(lease_ms)
}

/// Up to `max` tasks, waiting up to `wait_ms` for work when there is none.
pub async fn lease(
    replica: &Replica,
    defaults: &TaskDefaults,
    input: LeaseInput,
) -> Result<Vec<LeasedTask>, OpError> {
    let lease = LeaseRequest {
        worker: input.worker,
        queues: input.queues,
        names: input.names,
        max: input.max,
        lease_ms: lease_ms(defaults, input.lease_ms)?,
    };
    lease.must_be_valid().map_err(OpError::Invalid)?;
    must_not_be_a_node_pool(&lease.worker)?;
    if input.wait_ms > MAX_LEASE_WAIT_MS {
        return Err(OpError::Invalid(format!(
            "a lease waits at most {MAX_LEASE_WAIT_MS} ms for work, not {}",
            input.wait_ms
        )));
    }
    if let Some(held) = &input.recover {
        let lost = leased_but_not_held(replica, &lease, held).await?;
        if !lost.is_empty() {
            return Ok(lost);
        }
    }
    lease_with_wait(replica, lease, Duration::from_millis(input.wait_ms)).await
}

/// What a lease's `recover` and `held` ask for: `None` for a plain lease, else the task ids the
/// worker holds.
pub fn held_after_lost_answer(recover: bool, held: &[String]) -> Result<Option<BTreeSet<TaskId>>, OpError> {
    if !recover {
        return Ok(None);
    }
    let ids = held.iter().map(|id| id.parse().map_err(OpError::Invalid));
    ids.collect::<Result<_, _>>().map(Some)
}

/// The tasks a lease answer that never arrived handed to this worker: leased to it, not held.
/// Read once this replica has applied all the leader had committed (a read index), so it shows
/// every answer the worker has heard back about; one it has not heard back about is among
/// `held`. So no task the worker has finished is handed to it again.
async fn leased_but_not_held(
    replica: &Replica,
    lease: &LeaseRequest,
    held: &BTreeSet<TaskId>,
) -> Result<Vec<LeasedTask>, OpError> {
    linearizable(replica).await?;
    let lost = replica.shared().queue().leased_but_not_held(lease, held);
    if !lost.is_empty() {
        tracing::info!(worker = %lease.worker, tasks = lost.len(), "leased again after a lost lease answer");
    }
    Ok(lost)
}

/// Waits (up to `wait`) until this replica shows work for the lease, then proposes it; a lease
/// that another worker beat to the work waits for the next change. Proposing only when there
/// is work keeps an idle long poll from writing to the log. On the leader the waiting lease
/// rides in the entry of the next submit it could take instead, and gets that task as it is
/// stored.
async fn lease_with_wait(
    replica: &Replica,
    lease: LeaseRequest,
    wait: Duration,
) -> Result<Vec<LeasedTask>, OpError> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut applied = replica.shared().applied();
    loop {
        let runnable = wait.is_zero() || replica.shared().queue().has_ready(&lease.queues, &lease.names);
        if runnable {
            // A remote worker may lease through any node, each time another: its turn is drawn,
            // so no queue of its lease is always last.
            let turn = usize::from(rand::random::<u16>());
            let tasks = lease_in_turns(replica, &lease, turn).await?;
            if !tasks.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(tasks);
            }
        } else if replica.is_leader() {
            match ride_next_submit(replica, &lease, &mut applied, deadline).await? {
                Ridden::Tasks(tasks) => return Ok(tasks),
                Ridden::TimedOut => return Ok(Vec::new()),
                Ridden::Changed => continue,
            }
        }
        match tokio::time::timeout_at(deadline, applied.changed()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(Err(_)) => return Err(OpError::ShuttingDown),
            Ok(Ok(())) => {}
        }
    }
}

/// How long past its deadline a long poll waits for a lease already riding in an entry.
const RIDER_PATIENCE: Duration = Duration::from_secs(1);

/// How a lease parked for the next submit ended.
enum Ridden {
    /// It rode in an entry and got these tasks.
    Tasks(Vec<LeasedTask>),
    /// Taken back at the deadline.
    TimedOut,
    /// Taken back because the replica changed (or it rode and got nothing): look again.
    Changed,
}

/// Parks `lease` (`raft::parked`) until it rides in an entry, the replica changes or the
/// deadline passes. A lease already riding when taken back waits for its answer, which comes
/// with that entry's commit. Should the caller go away while it rides, its tasks are leased
/// all the same: the worker gets them back with `recover`.
async fn ride_next_submit(
    replica: &Replica,
    lease: &LeaseRequest,
    applied: &mut tokio::sync::watch::Receiver<u64>,
    deadline: tokio::time::Instant,
) -> Result<Ridden, OpError> {
    let (reply, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let parked = replica.park_lease(lease.clone(), reply);
    let answer = tokio::select! {
        answer = answers.recv() => answer,
        changed = tokio::time::timeout_at(deadline, applied.changed()) => {
            if replica.unpark_lease(parked) {
                return match changed {
                    Err(_) => Ok(Ridden::TimedOut),
                    Ok(Err(_)) => Err(OpError::ShuttingDown),
                    Ok(Ok(())) => Ok(Ridden::Changed),
                };
            }
            // Riding: its entry answers with its commit, or fails, unless the leader stalls.
            match tokio::time::timeout_at(deadline + RIDER_PATIENCE, answers.recv()).await {
                Ok(answer) => answer,
                Err(_) => return Err(ProposeError::Unknown("the lease's entry did not commit in time".into()).into()),
            }
        }
    };
    match answer {
        Some((_, Ok(Outcome::Leased(tasks)))) if tasks.is_empty() => Ok(Ridden::Changed),
        // Certainly not applied (this node had just lost the lead): look again.
        Some((_, Err(e))) if e.not_applied() => Ok(Ridden::Changed),
        Some((_, Ok(Outcome::Leased(tasks)))) => Ok(Ridden::Tasks(tasks)),
        Some((_, Ok(other))) => Err(OpError::unexpected(&other)),
        Some((_, Err(e))) => Err(e.into()),
        None => Err(OpError::ShuttingDown),
    }
}

/// Proposes `lease` with its queues taking turns from the one at `turn`: one `Lease` per queue
/// with work, in one batch (`QueueState::lease_in_turns`). Every task they handed out.
pub async fn lease_in_turns(
    replica: &Replica,
    lease: &LeaseRequest,
    turn: usize,
) -> Result<Vec<LeasedTask>, OpError> {
    // One queue (the common case) needs no look at the state, and no read lock beside apply.
    let leases = match lease.takes_turns() {
        true => replica.shared().queue().lease_in_turns(lease, turn),
        false => vec![lease.clone()],
    };
    let outcomes = replica
        .propose(leases.into_iter().map(Command::Lease).collect())
        .await?;
    let mut tasks = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Leased(leased) => tasks.extend(leased),
            other => return Err(OpError::unexpected(&other)),
        }
    }
    Ok(tasks)
}

/// The command an answer stands for, held to the limits every worker's answer is.
pub fn answer_command(
    defaults: &TaskDefaults,
    id: TaskId,
    delivery: u32,
    answer: Answer,
) -> Result<Command, OpError> {
    let command = match answer {
        Answer::Ack { result } => Command::Ack { id, delivery, result },
        Answer::Fail {
            error,
            retry,
            retry_in_ms,
        } => {
            if let Some(ms) = retry_in_ms {
                validate::must_be_duration("retry_in_ms", ms, MAX_DURATION_MS).map_err(OpError::Invalid)?;
            }
            Command::Fail {
                id,
                delivery,
                error,
                retry,
                retry_in_ms,
            }
        }
        Answer::Release => Command::Release { id, delivery },
    };
    Ok(answer::within_limits(command, defaults.max_payload_bytes))
}

/// Answers one delivery; the task's state after it.
pub async fn answer(
    replica: &Replica,
    defaults: &TaskDefaults,
    id: TaskId,
    delivery: u32,
    answer: Answer,
) -> Result<TaskState, OpError> {
    let command = answer_command(defaults, id, delivery, answer)?;
    match propose_one(replica, command).await? {
        Outcome::Updated { state, .. } => Ok(state),
        other => Err(OpError::unexpected(&other)),
    }
}

/// Extends a lease; the new deadline (cluster time, Unix ms).
pub async fn extend(
    replica: &Replica,
    defaults: &TaskDefaults,
    id: TaskId,
    delivery: u32,
    requested_ms: Option<u64>,
) -> Result<u64, OpError> {
    let command = Command::Extend {
        id,
        delivery,
        lease_ms: lease_ms(defaults, requested_ms)?,
    };
    match propose_one(replica, command).await? {
        Outcome::Extended { deadline_ms, .. } => Ok(deadline_ms),
        other => Err(OpError::unexpected(&other)),
    }
}
