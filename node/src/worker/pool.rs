//! [`WorkerPool`]: the node's own worker. It leases through the leader like any remote worker
//! (its commands go through the same proposer), asks for exactly as many tasks as it has free
//! slots (nothing is prefetched behind a long task), serving its queues in turns, extends each
//! lease while the task runs, and answers with ack or fail. It asks only when its own replica
//! shows runnable work, so an idle pool writes nothing but its heartbeat (every 5 s: alive, and
//! how busy). On the leader, an idle pool with free slots parks its lease instead
//! (`raft::parked`): it rides in the entry of the next submit it could take, so that task is
//! leased in the commit that stores it. A follower's pool leaves new work to the leader's for a
//! moment ([`super::leader_first`]).
//!
//! On shutdown it stops leasing, lets running tasks finish within a grace period, then hands the
//! rest back (`Release`) so another node takes them at once instead of after the lease expires.
//!
//! It also hands back leases it holds but does not run ([`hand_back_orphans`]): those of its
//! previous run, when the node was killed and restarted (its worker id is the node's), and
//! those granted to a lease whose answer was lost in a failover. Either way the tasks run
//! again within seconds, not after their whole lease.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::answers::Answers;
use super::handler::{Registry, TaskContext, TaskError};
use super::leader_first::{LeaderFirst, Turn};
use crate::queue::{
    Command, LeaseRequest, LeasedTask, Outcome, Rejection, TaskId, TaskState, WorkerKind, WorkerRegistration,
};
use crate::raft::Replica;
use crate::raft::parked::{ParkedLease, ParkedReply};

/// How the pool runs, from the node config.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    pub queues: Vec<String>,
    /// Tasks run at once (the most, with autoscale).
    pub concurrency: usize,
    /// `(min, max)`: start at `min` slots, add one while tasks wait and every slot is busy,
    /// drop one per second once the pool has been idle for a while. `None`: fixed.
    pub autoscale: Option<(usize, usize)>,
    /// Lease length for tasks without a timeout; leases are extended every third of it.
    pub lease_ms: u64,
    /// How long running tasks may finish on shutdown before they are handed back.
    pub grace: Duration,
    /// Largest result stored; a larger one fails the attempt for good.
    pub max_result_bytes: usize,
}

/// A running pool; dropping it does not stop it, [`WorkerPool::shutdown`] does.
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    main: JoinHandle<()>,
}

/// One attempt in progress.
struct Running {
    delivery: u32,
    handle: JoinHandle<()>,
}

/// Longest a stopping pool waits for its leaving to commit.
const LEAVE_LIMIT: Duration = Duration::from_secs(2);
/// How often the pool tells the cluster it is alive (and how busy).
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Autoscale: idle this long before shrinking, then one slot less per this interval.
const IDLE_BEFORE_SHRINK: Duration = Duration::from_secs(2);
const SHRINK_STEP: Duration = Duration::from_secs(1);
/// How often the pool looks for leases it holds but does not run.
const ORPHAN_SWEEP: Duration = Duration::from_secs(1);
/// Most leases handed back in one proposal.
const MAX_HAND_BACK: usize = 1000;

/// The pool's slot count as autoscale moves it.
struct Slots {
    limit: usize,
    range: Option<(usize, usize)>,
    idle_since: Option<tokio::time::Instant>,
    last_shrink: tokio::time::Instant,
}

impl Slots {
    fn new(settings: &PoolSettings) -> Slots {
        Slots {
            limit: settings.autoscale.map_or(settings.concurrency, |(min, _)| min),
            range: settings.autoscale,
            idle_since: None,
            last_shrink: tokio::time::Instant::now(),
        }
    }

    fn can_grow(&self) -> bool {
        self.range.is_some_and(|(_, max)| self.limit < max)
    }

    /// Grows while work waits and every slot is busy; shrinks after a spell of idleness.
    fn adjust(&mut self, running: usize, backlog: bool) {
        let Some((min, max)) = self.range else {
            return;
        };
        let now = tokio::time::Instant::now();
        if backlog && running >= self.limit && self.limit < max {
            self.limit += 1;
            self.idle_since = None;
            tracing::info!(slots = self.limit, "autoscale: growing");
        } else if !backlog && running == 0 {
            let idle_since = *self.idle_since.get_or_insert(now);
            if self.limit > min
                && now.duration_since(idle_since) >= IDLE_BEFORE_SHRINK
                && now.duration_since(self.last_shrink) >= SHRINK_STEP
            {
                self.limit -= 1;
                self.last_shrink = now;
                tracing::info!(slots = self.limit, "autoscale: shrinking");
            }
        } else {
            self.idle_since = None;
        }
    }
}

impl WorkerPool {
    /// Starts the pool as worker `worker_id`, registered as running on `node` (its address).
    pub fn start(
        replica: Replica,
        registry: Registry,
        settings: PoolSettings,
        worker_id: String,
        node: String,
    ) -> WorkerPool {
        let (stop, stopped) = watch::channel(false);
        let active = Arc::new(AtomicU32::new(0));
        let registration = WorkerRegistration {
            id: worker_id.clone(),
            node,
            kind: WorkerKind::Embedded,
            queues: settings.queues.clone(),
            names: registry.names(),
            concurrency: u32::try_from(settings.concurrency).unwrap_or(u32::MAX),
        };
        let main = tokio::spawn(async move {
            // Registered before the first lease, so every answer is counted for this worker.
            if !register(&replica, &registration, &stopped).await {
                return;
            }
            let heartbeat = tokio::spawn(heartbeat(
                replica.clone(),
                registration,
                active.clone(),
                stopped.clone(),
            ));
            run(
                replica.clone(),
                Arc::new(registry),
                settings,
                worker_id.clone(),
                stopped,
                active,
            )
            .await;
            heartbeat.abort();
            // Best effort, and bounded: a leader whose followers stopped at the same moment
            // can commit nothing, and must still stop. A worker that did not say it left is
            // dropped from the registry when its heartbeats stop.
            let leave = replica.propose_one(Command::LeaveWorker { id: worker_id });
            match tokio::time::timeout(LEAVE_LIMIT, leave).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "could not announce leaving"),
                Err(_) => tracing::info!("leaving not committed within {LEAVE_LIMIT:?}; stopping anyway"),
            }
        });
        WorkerPool { stop, main }
    }

    /// Stops leasing, waits for running tasks up to the grace period, hands back the rest.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.main.await {
            tracing::error!(error = %e, "worker pool ended abnormally");
        }
    }
}

/// Registers the worker, retrying until a leader takes it; `false` if stopped first.
async fn register(
    replica: &Replica,
    registration: &WorkerRegistration,
    stopped: &watch::Receiver<bool>,
) -> bool {
    let mut pause = Duration::from_millis(100);
    while !*stopped.borrow() {
        match replica
            .propose_one(Command::RegisterWorker(registration.clone()))
            .await
        {
            Ok(_) => return true,
            Err(e) => {
                tracing::debug!(error = %e, "worker registration not accepted yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
    false
}

/// Heartbeats; registers again whenever the cluster does not know the worker (a registry
/// restored from an older snapshot, say).
async fn heartbeat(
    replica: Replica,
    registration: WorkerRegistration,
    active: Arc<AtomicU32>,
    stopped: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(HEARTBEAT);
    ticker.tick().await;
    while !*stopped.borrow() {
        ticker.tick().await;
        let command = Command::WorkerHeartbeat {
            id: registration.id.clone(),
            active: active.load(Ordering::Relaxed),
        };
        match replica.propose_one(command).await {
            Ok(Outcome::Rejected(_)) => {
                let _ = register(&replica, &registration, &stopped).await;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "heartbeat not delivered"),
        }
    }
}

async fn run(
    replica: Replica,
    registry: Arc<Registry>,
    settings: PoolSettings,
    worker_id: String,
    mut stopped: watch::Receiver<bool>,
    active: Arc<AtomicU32>,
) {
    let names = registry.names();
    let lease = LeaseRequest {
        worker: worker_id.clone(),
        queues: settings.queues.clone(),
        names: names.clone(),
        max: 1,
        lease_ms: settings.lease_ms,
    };
    if let Err(reason) = lease.must_be_valid() {
        tracing::error!(%reason, "the worker pool cannot lease with its settings; it does not start");
        return;
    }
    let answers = Answers::start(replica.clone(), settings.max_result_bytes);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<TaskId>();
    let mut running: BTreeMap<TaskId, Running> = BTreeMap::new();
    let mut applied = replica.shared().applied();
    let mut lease_failures = 0u32;
    // After a lease that came back empty (another worker was faster), wait until this replica
    // has applied past it before asking again: until then its view of "ready" is stale.
    let mut stale_view_until: u64 = 0;
    tracing::info!(worker = %worker_id, queues = ?settings.queues, concurrency = settings.concurrency, autoscale = ?settings.autoscale, "worker pool started");
    let mut slots = Slots::new(&settings);
    // Whose turn it is among the pool's queues: each lease starts from the next one.
    let mut queue_turn = 0usize;
    let mut leader_first = LeaderFirst::default();
    // On the leader, leases waiting to ride in the entries of the next submits they could take.
    let mut parked = Parked::default();
    let (parked_reply, mut parked_answers) = mpsc::unbounded_channel();
    let runner = Runner {
        replica: replica.clone(),
        answers: answers.clone(),
        registry: registry.clone(),
        lease_ms: settings.lease_ms,
        done: done_tx.clone(),
    };
    // Revokes of running tasks, watched once here rather than by every attempt.
    let mut finished = replica.shared().finished();
    let mut finished_closed = false;
    let mut sweep = tokio::time::interval(ORPHAN_SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut orphans = Vec::new();
    loop {
        // Looking for ready work costs a scan of the local queue: only when a slot could take it.
        let backlog = (running.len() < slots.limit || slots.can_grow())
            && *applied.borrow() > stale_view_until
            && replica.shared().queue().has_ready(&settings.queues, &names);
        slots.adjust(running.len(), backlog);
        let free = slots.limit.saturating_sub(running.len());
        let mut has_work = free > 0 && backlog;
        let mut look_again = None;
        // Parked leases ask for free slots only while this node leads and has nothing else in
        // sight: otherwise they are taken back. One already in an entry cannot be; its answer
        // comes in a moment, and no other lease goes out meanwhile.
        let leading = replica.is_leader();
        if has_work || !leading || parked.slots() > free {
            parked.unpark_all(&replica);
        }
        if !parked.is_empty() {
            has_work = false;
        }
        if !backlog && leading {
            parked.fill(&replica, &lease, free, &parked_reply);
        }
        // The leader's pool never waits, and need not lock the state (beside apply) to know it.
        if has_work && !leading {
            let choice = leader_first.turn(
                &replica.shared().queue(),
                replica.id(),
                replica.leader_id(),
                &settings.queues,
                &names,
                std::time::Instant::now(),
            );
            if let Turn::Wait(wait) = choice {
                has_work = false;
                look_again = Some(wait);
            }
        }
        if has_work {
            let request = LeaseRequest {
                max: LeaseRequest::max_for(free),
                ..lease.clone()
            };
            let started = std::time::Instant::now();
            queue_turn = queue_turn.wrapping_add(1);
            match crate::ops::worker::lease_in_turns(&replica, &request, queue_turn).await {
                Ok(tasks) => {
                    replica.timings().worker_lease.observe_since(started);
                    lease_failures = 0;
                    if tasks.is_empty() {
                        stale_view_until = *applied.borrow();
                    }
                    runner.start(tasks, &mut running);
                }
                Err(e) => {
                    lease_failures += 1;
                    tracing::debug!(error = %e, "lease failed");
                }
            }
        }
        // Backs off after failed leases so a cluster without a leader is not hammered.
        let idle = Duration::from_millis(if lease_failures > 0 {
            200 * u64::from(lease_failures.min(10))
        } else {
            1000
        });
        let idle = look_again.map_or(idle, |wait| wait.min(idle));
        active.store(
            u32::try_from(running.len()).unwrap_or(u32::MAX),
            Ordering::Relaxed,
        );
        tokio::select! {
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    break;
                }
            }
            Some(id) = done_rx.recv() => {
                running.remove(&id);
                // Short tasks end in bursts: free every slot that is free before leasing again.
                while let Ok(id) = done_rx.try_recv() {
                    running.remove(&id);
                }
            }
            done = finished.recv(), if !finished_closed => {
                finished_closed = matches!(done, Err(RecvError::Closed));
                stop_revoked(&replica, &mut running, done);
            }
            _ = sweep.tick() => {
                orphans = hand_back_orphans(&replica, &worker_id, &running, &orphans).await;
            }
            Some((id, answer)) = parked_answers.recv() => {
                parked.answered(id);
                match answer {
                    Ok(Outcome::Leased(tasks)) => runner.start(tasks, &mut running),
                    Ok(other) => tracing::warn!(outcome = ?other, "unexpected answer to a parked lease"),
                    // Its entry's outcome is unknown (leadership moved): should its tasks have
                    // been leased after all, the orphan sweep hands them back.
                    Err(e) => tracing::debug!(error = %e, "a parked lease's entry failed"),
                }
            }
            // New state applied: maybe new work (or our own answers landed).
            Ok(()) = applied.changed(), if lease_failures == 0 => {}
            _ = tokio::time::sleep(idle) => {}
        }
    }

    // Leases in an entry already: run what they bring like the rest, within the grace period.
    parked.unpark_all(&replica);
    while !parked.is_empty() {
        let Ok(Some((id, answer))) = tokio::time::timeout(LEAVE_LIMIT, parked_answers.recv()).await else {
            break;
        };
        parked.answered(id);
        if let Ok(Outcome::Leased(tasks)) = answer {
            runner.start(tasks, &mut running);
        }
    }
    tracing::info!(
        running = running.len(),
        grace_ms = settings.grace.as_millis(),
        "worker pool stopping"
    );
    let deadline = tokio::time::Instant::now() + settings.grace;
    while !running.is_empty() {
        match tokio::time::timeout_at(deadline, done_rx.recv()).await {
            Ok(Some(id)) => {
                running.remove(&id);
            }
            Ok(None) | Err(_) => break,
        }
    }
    for (id, task) in running {
        task.handle.abort();
        match replica
            .propose_one(Command::Release {
                id,
                delivery: task.delivery,
            })
            .await
        {
            Ok(_) => tracing::info!(task_id = %id, "handed back unfinished task"),
            Err(e) => {
                tracing::warn!(task_id = %id, error = %e, "could not hand back task; its lease will expire")
            }
        }
    }
}

/// Most leases a pool keeps parked: each rides a different entry, so tasks submitted while
/// one entry is being committed are leased with theirs too.
const PARKED_LEASES: usize = 4;

/// The leases this pool has parked on its node (see `raft::parked`), each with the slots it
/// asks for. Every lease that rides in an entry is answered, an abandoned entry's too, so one
/// that cannot be taken back is always waited out.
#[derive(Default)]
struct Parked {
    leases: Vec<(ParkedLease, usize)>,
}

impl Parked {
    fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    fn slots(&self) -> usize {
        self.leases.iter().map(|(_, slots)| slots).sum()
    }

    /// Parks leases for the free slots not asked for yet, shared between up to
    /// [`PARKED_LEASES`] of them.
    fn fill(&mut self, replica: &Replica, request: &LeaseRequest, free: usize, reply: &ParkedReply) {
        while self.leases.len() < PARKED_LEASES {
            let spare = free.saturating_sub(self.slots());
            if spare == 0 {
                return;
            }
            let slots = spare.div_ceil(PARKED_LEASES - self.leases.len());
            let lease = LeaseRequest {
                max: LeaseRequest::max_for(slots),
                ..request.clone()
            };
            self.leases
                .push((replica.park_lease(lease, reply.clone()), slots));
        }
    }

    /// Takes back every lease not in an entry yet.
    fn unpark_all(&mut self, replica: &Replica) {
        self.leases.retain(|(lease, _)| !replica.unpark_lease(*lease));
    }

    fn answered(&mut self, lease: ParkedLease) {
        self.leases.retain(|(parked, _)| *parked != lease);
    }
}

/// Starts attempts of leased tasks.
struct Runner {
    replica: Replica,
    answers: Answers,
    registry: Arc<Registry>,
    lease_ms: u64,
    done: mpsc::UnboundedSender<TaskId>,
}

impl Runner {
    fn start(&self, tasks: Vec<LeasedTask>, running: &mut BTreeMap<TaskId, Running>) {
        for task in tasks {
            let (id, delivery) = (task.id, task.delivery);
            let handle = tokio::spawn(attempt(
                self.replica.clone(),
                self.answers.clone(),
                self.registry.clone(),
                task,
                self.lease_ms,
                self.done.clone(),
            ));
            running.insert(id, Running { delivery, handle });
        }
    }
}

/// Hands back (`Release`) the tasks this replica shows leased to `worker` that the pool does not
/// run, and returns those it saw, for the next sweep. A lease is handed back only when two
/// sweeps in a row saw it: a task just answered still shows its lease here until this replica
/// applies the answer, a moment later. (Were one handed back anyway, the release would come
/// after the committed answer in the log, and be refused as stale.) No lease the pool sent is
/// in flight while this runs (it awaits them in the same loop); a parked lease may be riding
/// in an entry, and its answer comes with that entry's commit, long before the second look.
async fn hand_back_orphans(
    replica: &Replica,
    worker: &str,
    running: &BTreeMap<TaskId, Running>,
    seen_before: &[(TaskId, u32)],
) -> Vec<(TaskId, u32)> {
    let orphans: Vec<(TaskId, u32)> = {
        let shared = replica.shared();
        let queue = shared.queue();
        queue
            .leased_to(worker)
            .into_iter()
            .filter(|(id, _)| !running.contains_key(id) && queue.task_state(id) == Some(TaskState::Started))
            .collect()
    };
    let releases: Vec<Command> = orphans
        .iter()
        .filter(|orphan| seen_before.contains(orphan))
        .take(MAX_HAND_BACK)
        .map(|&(id, delivery)| Command::Release { id, delivery })
        .collect();
    if !releases.is_empty() {
        let count = releases.len();
        match replica.propose(releases).await {
            Ok(outcomes) => {
                let handed_back = outcomes
                    .iter()
                    .filter(|outcome| matches!(outcome, Outcome::Updated { .. }))
                    .count();
                tracing::info!(
                    handed_back,
                    refused = count - handed_back,
                    "handed back tasks leased to this worker that it does not run (an earlier run's, or a lease whose answer was lost)"
                );
            }
            // Seen again next sweep, and tried again.
            Err(e) => tracing::debug!(error = %e, count, "could not hand back orphaned leases"),
        }
    }
    orphans
}

/// Stops the attempts of running tasks that were just revoked. After a lagged feed every
/// running task is looked at.
fn stop_revoked(replica: &Replica, running: &mut BTreeMap<TaskId, Running>, done: Result<TaskId, RecvError>) {
    let candidates: Vec<TaskId> = match done {
        Ok(id) if running.contains_key(&id) => vec![id],
        Ok(_) | Err(RecvError::Closed) => return,
        Err(RecvError::Lagged(_)) => running.keys().copied().collect(),
    };
    let revoked: Vec<TaskId> = {
        let shared = replica.shared();
        let queue = shared.queue();
        candidates
            .into_iter()
            .filter(|id| queue.task_state(id) == Some(TaskState::Revoked))
            .collect()
    };
    for id in revoked {
        if let Some(attempt) = running.remove(&id) {
            // Dropping the attempt stops it (an exec handler's process group is killed).
            attempt.handle.abort();
            tracing::info!(task_id = %id, "task revoked while running; stopping it");
        }
    }
}

/// Runs one attempt to its answer, extending the lease meanwhile. Revoked or lost leases stop
/// the attempt without an answer.
async fn attempt(
    replica: Replica,
    answers: Answers,
    registry: Arc<Registry>,
    task: LeasedTask,
    lease_ms: u64,
    done: mpsc::UnboundedSender<TaskId>,
) {
    let id = task.id;
    let delivery = task.delivery;
    let outcome = match registry.get(&task.name) {
        None => Some(Err(TaskError::permanent(format!(
            "no handler for {:?} on this node",
            task.name
        )))),
        Some(handler) => {
            let context = TaskContext {
                id: id.to_string(),
                name: task.name.clone(),
                queue: task.queue.clone(),
                args: task.args,
                attempt: task.attempts,
            };
            let timeout = task.timeout_ms.map(Duration::from_millis);
            let work = async {
                match timeout {
                    Some(limit) => tokio::time::timeout(limit, handler.run(context))
                        .await
                        .unwrap_or_else(|_| {
                            Err(TaskError::retryable(format!(
                                "timed out after {} ms",
                                limit.as_millis()
                            )))
                        }),
                    None => handler.run(context).await,
                }
            };
            keep_leased(&replica, id, delivery, lease_ms, work).await
        }
    };
    if let Some(result) = outcome {
        let command = match result {
            Ok(result) => Command::Ack { id, delivery, result },
            Err(error) => Command::Fail {
                id,
                delivery,
                error: error.message,
                retry: !error.permanent,
                retry_in_ms: None,
            },
        };
        answers.send(command).await;
    }
    let _ = done.send(id);
}

/// Drives `work` while extending the lease every third of its length. `None` when the lease
/// was lost (revoked, or expired and given to another worker): the work is dropped. (A revoke
/// is usually noticed sooner, by the pool loop, as soon as this replica applies it.)
async fn keep_leased<F>(
    replica: &Replica,
    id: TaskId,
    delivery: u32,
    lease_ms: u64,
    work: F,
) -> Option<Result<Vec<u8>, TaskError>>
where
    F: std::future::Future<Output = Result<Vec<u8>, TaskError>>,
{
    let mut extend = tokio::time::interval(Duration::from_millis((lease_ms / 3).max(100)));
    extend.tick().await;
    tokio::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return Some(result),
            _ = extend.tick() => {
                let command = Command::Extend { id, delivery, lease_ms };
                match replica.propose_one(command).await {
                    Ok(Outcome::Rejected(Rejection::Revoked(_))) => {
                        tracing::info!(task_id = %id, "task revoked while running; stopping it");
                        return None;
                    }
                    Ok(Outcome::Rejected(rejection)) => {
                        tracing::warn!(task_id = %id, %rejection, "lease lost; dropping the attempt");
                        return None;
                    }
                    Ok(_) => {}
                    // The next extend may get through; the lease has two more thirds to go.
                    Err(e) => tracing::debug!(task_id = %id, error = %e, "extend failed"),
                }
            }
        }
    }
}
