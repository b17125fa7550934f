//! [`QueueState`]: every task and the indexes over them, changed only by [`QueueState::apply`].
//!
//! Apply is deterministic: it reads nothing but the command, the leader-stamped time and the
//! task bodies this replica wrote, and it iterates only ordered maps. The records are
//! authoritative (see `queue::record`); the indexes (ready queues, timers, counters) are derived
//! from them and rebuilt by [`QueueState::restore`]. Every change of a task goes through
//! `QueueState::update`, which keeps the indexes in step.
//!
//! - `entry`: the small entry memory keeps of every task.
//! - `bodies`: the rest of each task, in memory until written, then read back from storage.
//! - `submit`: accepting tasks.
//! - `keys`: idempotency keys, held for their whole window.
//! - `leasing`: lease, ack, fail, extend.
//! - `clock`: what happens by itself as time passes.
//! - `admin`: revoke, pause/resume, purge, dead letters.
//! - `read`: queries (stats, listings).
//! - `workers`: the worker registry.
//! - `timeline`: events, leader observations, and the per-queue totals.
//! - `limits`: rate limits, per-key concurrency limits and queue caps.
//! - `schedules`: periodic schedules and their firing.
//! - `flows`: workflows, moved on in the apply that ends each of their tasks.

mod admin;
mod bodies;
mod clock;
mod entry;
mod flows;
mod keys;
mod leasing;
mod limits;
mod packed;
mod read;
mod schedules;
mod submit;
mod timeline;
mod turns;
mod workers;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::cap::{Held, QueueCap};
use super::command::{Command, Outcome};
use super::dedup::HeldKey;
use super::event::Event;
use super::flow::{Flow, FlowId};
use super::limit::{Limit, LimitScope};
use super::record::{RecordId, RecordRef, Stored};
use super::schedule::Schedule;
use super::task::{self, Task, TaskId, TaskPayload, TaskState};
use super::worker::WorkerInfo;
use bodies::Bodies;
use entry::{Names, TaskEntry};
use flows::PartEnded;
use packed::PackedMap;

pub use bodies::TaskStore;
pub use read::{Coverage, QueueStats, TaskFilter};
pub use timeline::{ElectedLeader, QueueTotals, TotalsRecord};

/// The scalar part of the state, stored beside the task records.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMeta {
    /// Cluster time in ms: the greatest leader stamp applied so far, so it never runs backwards
    /// across a failover to a leader whose clock is behind.
    pub now_ms: u64,
    /// Sequence number the next accepted task gets.
    pub next_seq: u64,
    /// Queues that hand out nothing.
    #[serde(default)]
    pub paused: BTreeSet<String>,
    /// Where per-queue totals were kept before they had records of their own: read at restore
    /// and moved out, never written again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub totals: BTreeMap<String, QueueTotals>,
    /// The leader of the newest term an election was recorded for.
    #[serde(default)]
    pub leader: Option<ElectedLeader>,
    /// Members the leader recorded as unreachable.
    #[serde(default)]
    pub unreachable: BTreeSet<u64>,
    /// Sequence number of the newest event; 0 before the first.
    #[serde(default)]
    pub last_event_seq: u64,
    /// Ids of members removed from the cluster. A node id is never reused: a new node with an
    /// old id and an empty log could replay an old membership and elect a second leader.
    #[serde(default)]
    pub retired: BTreeSet<u64>,
    /// Ids of members a leader has seen hold part of the log: such a node may have counted
    /// toward a quorum, and must not rejoin with empty data as if it were new.
    #[serde(default)]
    pub active: BTreeSet<u64>,
    /// Members whose wall clock the leader last read far off the others'.
    #[serde(default)]
    pub clock_skewed: BTreeSet<u64>,
    /// Times a member's log went back to empty on its operator's `--rebuild`.
    #[serde(default)]
    pub log_reversions: u64,
    /// Sequence number of the newest finish; 0 before the first. Every replica numbers the same
    /// finishes the same way, so a stream of finished tasks resumes on any node without a gap.
    #[serde(default)]
    pub last_finish_seq: u64,
}

/// What the last applies changed, for the storage layer and for waiters.
#[derive(Debug, Default)]
pub struct Changes {
    /// Records to write, or to delete if the state no longer has them.
    pub records: BTreeSet<RecordId>,
    /// Tasks that reached a final state.
    pub finished: Vec<TaskId>,
    /// How long each attempt that ended ran, in ms of cluster time.
    pub run_times_ms: Vec<u64>,
}

#[cfg(test)]
impl Changes {
    fn of<T>(&self, pick: impl Fn(&RecordId) -> Option<T>) -> Vec<T> {
        self.records.iter().filter_map(pick).collect()
    }

    pub fn tasks(&self) -> Vec<TaskId> {
        self.of(|r| {
            if let RecordId::Task(id) = r {
                Some(*id)
            } else {
                None
            }
        })
    }

    pub fn workers(&self) -> Vec<String> {
        self.of(|r| {
            if let RecordId::Worker(id) = r {
                Some(id.clone())
            } else {
                None
            }
        })
    }

    pub fn events(&self) -> Vec<u64> {
        self.of(|r| {
            if let RecordId::Event(seq) = r {
                Some(*seq)
            } else {
                None
            }
        })
    }

    pub fn limits(&self) -> Vec<LimitScope> {
        self.of(|r| {
            if let RecordId::Limit(scope) = r {
                Some(scope.clone())
            } else {
                None
            }
        })
    }

    pub fn schedules(&self) -> Vec<String> {
        self.of(|r| {
            if let RecordId::Schedule(name) = r {
                Some(name.clone())
            } else {
                None
            }
        })
    }

    pub fn flows(&self) -> Vec<FlowId> {
        self.of(|r| {
            if let RecordId::Flow(id) = r {
                Some(*id)
            } else {
                None
            }
        })
    }

    pub fn keys(&self) -> Vec<String> {
        self.of(|r| {
            if let RecordId::Key(key) = r {
                Some(key.clone())
            } else {
                None
            }
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct QueueState {
    meta: QueueMeta,
    /// Every task's entry; its body is in `bodies`.
    tasks: PackedMap<TaskId, TaskEntry>,
    names: Names,
    bodies: Bodies,
    /// Runnable tasks per queue, highest priority first, then oldest first.
    ready: BTreeMap<String, PackedMap<ReadyKey, TaskId>>,
    /// When each task next changes by itself.
    timers: BTreeSet<(u64, TaskId)>,
    /// Finished tasks still held, by the sequence number of their finish.
    finish_order: BTreeMap<u64, TaskId>,
    /// Idempotency keys within their window, and when each window closes.
    keys: BTreeMap<String, HeldKey>,
    key_expiry: BTreeSet<(u64, String)>,
    /// Tasks per queue and state.
    counts: BTreeMap<String, [u64; 8]>,
    /// Waiting tasks (pending, scheduled, retrying) per queue and task name: which names a
    /// queue needs workers for.
    waiting: BTreeMap<String, BTreeMap<String, u64>>,
    /// Registered workers by id.
    workers: BTreeMap<String, WorkerInfo>,
    /// Records changed since the last [`QueueState::take_changes`].
    changed: BTreeSet<RecordId>,
    finished: Vec<TaskId>,
    /// The latest events, oldest first, with consecutive sequence numbers.
    events: VecDeque<Event>,
    run_times_ms: Vec<u64>,
    /// Rate limits by what they count.
    limits: BTreeMap<LimitScope, Limit>,
    /// Queue caps by queue, and what each queue with unfinished tasks holds.
    caps: BTreeMap<String, QueueCap>,
    held: BTreeMap<String, Held>,
    /// Tasks accepted, succeeded and failed per queue since the queue first had a task.
    totals: BTreeMap<String, QueueTotals>,
    /// Bytes of every task held, finished ones included (args, headers, result, error).
    stored_bytes: u64,
    /// Leased tasks per concurrency key.
    running_keys: BTreeMap<String, u32>,
    /// Leased tasks per worker, with their delivery numbers.
    leases: BTreeMap<String, BTreeMap<TaskId, u32>>,
    /// Schedules by name, and their next due times.
    schedules: BTreeMap<String, Schedule>,
    schedule_due: BTreeSet<(u64, String)>,
    /// Workflows by id; when finished ones expire; live idempotency keys of flows.
    flows: BTreeMap<FlowId, Flow>,
    flow_expiry: BTreeSet<(u64, FlowId)>,
    flow_keys: BTreeMap<String, FlowId>,
    /// Flow tasks that ended in the current command, for [`QueueState::advance_flows`].
    parts_ended: Vec<PartEnded>,
}

impl QueueState {
    /// Rebuilds the state and its indexes from records, keeping every task's body in memory.
    pub fn restore(meta: QueueMeta, records: impl IntoIterator<Item = Stored>) -> Self {
        Self::restore_with(meta, records, None)
    }

    /// Rebuilds the state and its indexes from the records of `store`, streamed (tasks may be
    /// many): bodies are read back from the store when needed, not kept.
    pub fn restore_over(
        meta: QueueMeta,
        records: impl IntoIterator<Item = Stored>,
        store: Arc<dyn TaskStore>,
    ) -> Self {
        Self::restore_with(meta, records, Some(store))
    }

    /// Events come in key order, oldest first; payloads after the tasks they belong to.
    fn restore_with(
        meta: QueueMeta,
        records: impl IntoIterator<Item = Stored>,
        store: Option<Arc<dyn TaskStore>>,
    ) -> Self {
        let keep_bodies = store.is_none();
        let mut state = QueueState {
            meta,
            bodies: Bodies::over(store),
            ..QueueState::default()
        };
        for record in records {
            match record {
                Stored::Task(task) => state.restore_task(task, keep_bodies),
                Stored::Payload(payload) => state.attach(payload),
                Stored::Key(held) => state.hold(held),
                Stored::Worker(worker) => {
                    state.workers.insert(worker.id.clone(), worker);
                }
                Stored::Event(event) => state.events.push_back(event),
                Stored::Limit(limit) => {
                    state.limits.insert(limit.scope.clone(), limit);
                }
                Stored::Cap(cap) => {
                    state.caps.insert(cap.queue.clone(), cap);
                }
                Stored::Totals(record) => {
                    state.totals.insert(record.queue, record.totals);
                }
                Stored::Schedule(schedule) => {
                    // Cron due times wait for the leader's plan, not for apply.
                    if let Some(due) = schedule.next_due_ms.filter(|_| !schedule.spec.when.is_cron()) {
                        state.schedule_due.insert((due, schedule.spec.name.clone()));
                    }
                    state.schedules.insert(schedule.spec.name.clone(), schedule);
                }
                Stored::Flow(flow) => {
                    state.index_flow(&flow);
                    state.flows.insert(flow.id, flow);
                }
            }
        }
        state.move_totals_out_of_meta();
        state
    }

    /// Every record, as a restore takes them: what a replica would read back from storage.
    pub fn stored(&self) -> impl Iterator<Item = Stored> + '_ {
        let workers = self.workers.values().cloned().map(Stored::Worker);
        let events = self.events.iter().cloned().map(Stored::Event);
        let limits = self.limits.values().cloned().map(Stored::Limit);
        let caps = self.caps.values().cloned().map(Stored::Cap);
        let totals = self.totals.iter().map(|(queue, totals)| {
            Stored::Totals(TotalsRecord {
                queue: queue.clone(),
                totals: *totals,
            })
        });
        let schedules = self.schedules.values().cloned().map(Stored::Schedule);
        let flows = self.flows.values().cloned().map(Stored::Flow);
        let keys = self.keys.values().cloned().map(Stored::Key);
        let tasks = self.tasks().flat_map(|task| {
            let mut task = task.into_owned();
            let payload = TaskPayload {
                id: task.id,
                args: std::mem::take(&mut task.args),
                headers: std::mem::take(&mut task.headers),
            };
            [Stored::Task(task), Stored::Payload(payload)]
        });
        workers
            .chain(events)
            .chain(limits)
            .chain(caps)
            .chain(totals)
            .chain(schedules)
            .chain(flows)
            .chain(keys)
            .chain(tasks)
    }

    /// The record `id` names, as it is now; `None` once it is gone. A changed task's body is in
    /// memory until [`QueueState::written`]; any other is read from the store (a failure to
    /// read is kept for [`QueueState::take_failure`], never taken for a deletion).
    pub fn get_record(&mut self, id: &RecordId) -> Option<RecordRef<'_>> {
        if let RecordId::Task(task) | RecordId::Payload(task) = id
            && !self.bodies.unwritten.contains_key(task)
            && let Some(body) = self.take_body(*task)
        {
            self.keep(body);
        }
        // A deleted task's body left memory with it.
        let body = |id: &TaskId| self.bodies.unwritten.get(id);
        match id {
            RecordId::Task(id) => body(id).map(|task| RecordRef::Task(task)),
            RecordId::Payload(id) => body(id).map(|task| RecordRef::Payload {
                id: &task.id,
                args: &task.args,
                headers: &task.headers,
            }),
            RecordId::Worker(id) => self.worker(id).map(RecordRef::Worker),
            RecordId::Event(seq) => self.event(*seq).map(RecordRef::Event),
            RecordId::Limit(scope) => self.limit(scope).map(RecordRef::Limit),
            RecordId::Cap(queue) => self.caps.get(queue).map(RecordRef::Cap),
            RecordId::Totals(queue) => self
                .totals
                .get_key_value(queue)
                .map(|(queue, totals)| RecordRef::Totals { queue, totals }),
            RecordId::Schedule(name) => self.schedule(name).map(RecordRef::Schedule),
            RecordId::Flow(id) => self.flow(id).map(RecordRef::Flow),
            RecordId::Key(key) => self.keys.get(key).map(RecordRef::Key),
        }
    }

    pub fn meta(&self) -> &QueueMeta {
        &self.meta
    }

    pub fn now_ms(&self) -> u64 {
        self.meta.now_ms
    }

    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// The earliest time at which some task (or worker) changes by itself: when a tick is worth
    /// proposing.
    pub fn next_due_ms(&self) -> Option<u64> {
        let task = self.timers.first().map(|(due, _)| *due);
        let worker = self.next_worker_expiry_ms();
        let limit = self.next_limit_free_ms();
        let schedule = self.next_schedule_due_ms();
        let flow = self.next_flow_expiry_ms();
        [task, worker, limit, schedule, flow].into_iter().flatten().min()
    }

    /// What changed since the last call; the caller persists each task's current record (or
    /// its absence) and wakes whoever waits for the finished ones.
    pub fn take_changes(&mut self) -> Changes {
        Changes {
            records: std::mem::take(&mut self.changed),
            finished: std::mem::take(&mut self.finished),
            run_times_ms: std::mem::take(&mut self.run_times_ms),
        }
    }

    /// Applies one proposal's worth of commands at the leader's stamp: time first (so that
    /// nothing is leased whose lease or eta says otherwise), then each command in order.
    pub fn apply_batch(
        &mut self,
        stamped_ms: u64,
        commands: impl IntoIterator<Item = Command>,
    ) -> Vec<Outcome> {
        self.advance_clock(stamped_ms);
        commands.into_iter().map(|c| self.apply(c)).collect()
    }

    /// Moves cluster time forward to a leader's stamp (never backwards), settles every task
    /// that became due and fires every schedule that did.
    pub fn advance_clock(&mut self, stamped_ms: u64) {
        self.meta.now_ms = self.meta.now_ms.max(stamped_ms);
        self.settle_due();
        self.expire_workers();
        self.fire_due_schedules();
        self.expire_flows();
        self.expire_keys();
        self.advance_flows();
    }

    /// Applies one command at the current cluster time.
    pub fn apply(&mut self, command: Command) -> Outcome {
        let outcome = self.apply_command(command);
        self.advance_flows();
        outcome
    }

    fn apply_command(&mut self, command: Command) -> Outcome {
        match command {
            Command::Submit(submit) => self.submit(submit),
            Command::Lease(request) => self.lease(request),
            Command::Ack { id, delivery, result } => self.ack(id, delivery, result),
            Command::Fail {
                id,
                delivery,
                error,
                retry,
                retry_in_ms,
            } => self.fail(id, delivery, error, retry.then_some(retry_in_ms)),
            Command::Extend {
                id,
                delivery,
                lease_ms,
            } => self.extend(id, delivery, lease_ms),
            Command::Release { id, delivery } => self.release(id, delivery),
            Command::Revoke { id } => self.revoke(id),
            Command::PauseQueue { queue } => self.set_paused(queue, true),
            Command::ResumeQueue { queue } => self.set_paused(queue, false),
            Command::PurgeQueue { queue } => self.purge_queue(&queue),
            Command::RetryDead { selector } => self.retry_dead(&selector),
            Command::PurgeDead { selector } => self.purge_dead(&selector),
            Command::Tick => Outcome::Done,
            Command::RegisterWorker(registration) => self.register_worker(registration),
            Command::WorkerHeartbeat { id, active } => self.worker_heartbeat(&id, active),
            Command::LeaveWorker { id } => self.leave_worker(&id),
            Command::Observe(observation) => self.observe(observation),
            Command::SetLimit { scope, rate } => self.set_limit(scope, rate),
            Command::RemoveLimit { scope } => self.remove_limit(scope),
            Command::AddSchedule { spec, seed } => self.add_schedule(*spec, seed),
            Command::RemoveSchedule { name } => self.remove_schedule(&name),
            Command::PauseSchedule { name } => self.set_schedule_paused(&name, true),
            Command::ResumeSchedule { name } => self.set_schedule_paused(&name, false),
            Command::FireSchedule { name, from, firing } => self.fire_planned(&name, from, firing),
            Command::SubmitFlow(submit) => self.submit_flow(*submit),
            Command::SetQueueCap { queue, cap, value } => self.set_cap(queue, cap, value),
        }
    }

    /// Stores a new task (its id must be unused) and indexes it.
    fn add(&mut self, task: Task) {
        self.queue_totals(&task.queue).enqueued += 1;
        self.changed.insert(RecordId::Task(task.id));
        self.changed.insert(RecordId::Payload(task.id));
        self.insert(Box::new(task), false, None);
    }

    /// Removes a task and its index entries.
    fn delete(&mut self, id: TaskId) {
        if let Some(task) = self.take_body(id) {
            self.delete_taken(task);
        }
    }

    fn delete_taken(&mut self, task: Box<Task>) {
        self.unindex(&task);
        if let Some(entry) = self.tasks.remove(&task.id) {
            entry.release(&mut self.names);
        }
        self.outlive_key(&task);
        self.changed.insert(RecordId::Task(task.id));
        self.changed.insert(RecordId::Payload(task.id));
        if let Some(flow) = task.flow.filter(|_| !task.state.is_final()) {
            self.parts_ended.push(PartEnded::deleted(&task, flow));
        }
    }

    /// Changes one task in place: unindexed, changed, indexed again.
    fn update(&mut self, id: TaskId, change: impl FnOnce(&mut Task)) {
        if let Some(task) = self.take_body(id) {
            self.update_taken(task, change);
        }
    }

    fn update_taken(&mut self, mut task: Box<Task>, change: impl FnOnce(&mut Task)) {
        let entry = self.unindex(&task);
        let before = task.state;
        change(&mut task);
        if task.state != before {
            self.count_transition(&task, before);
        }
        self.changed.insert(RecordId::Task(task.id));
        self.insert(task, before.is_final(), entry);
    }

    /// Indexes a task read back at restore. A record written before records counted their
    /// payload gets the count and is written again with the next apply, from memory until then.
    fn restore_task(&mut self, mut task: Task, keep_bodies: bool) {
        let upgraded = task.payload_bytes.is_none() && self.count_payload(&mut task);
        self.index(&task, None);
        self.hold_legacy_key(&task);
        if upgraded {
            self.changed.insert(RecordId::Task(task.id));
            self.changed.insert(RecordId::Payload(task.id));
        }
        if upgraded || keep_bodies {
            self.keep(Box::new(task));
        }
    }

    /// Counts `task`'s payload into its record, read from the payload record if the task's own
    /// does not hold it. `false` when it is not at hand: in memory, the payload record comes
    /// after the tasks and [`QueueState::attach`] counts it; or the read failed.
    fn count_payload(&mut self, task: &mut Task) -> bool {
        if task.args.is_empty() && task.headers.is_empty() {
            let Some(store) = &self.bodies.store else {
                return false;
            };
            match store.read(task.id) {
                Ok(Some(body)) => *task = body,
                Ok(None) => {}
                Err(e) => {
                    self.storage_failed(format!("reading task {} at start: {e}", task.id));
                    return false;
                }
            }
        }
        task.payload_bytes = Some(task::payload_bytes(&task.args, &task.headers));
        true
    }

    /// Joins a task restored in memory with its payload record, and counts the payload if the
    /// task's record, written before records counted it, does not.
    fn attach(&mut self, payload: TaskPayload) {
        let Some(mut task) = self.bodies.unwritten.remove(&payload.id) else {
            return;
        };
        task.args = payload.args;
        task.headers = payload.headers;
        if task.payload_bytes.is_none() {
            let entry = self.unindex(&task);
            task.payload_bytes = Some(task::payload_bytes(&task.args, &task.headers));
            self.index(&task, entry);
            self.changed.insert(RecordId::Task(task.id));
        }
        self.keep(task);
    }

    /// Indexes a task (with the names of `entry`, its entry before a change) and keeps its body.
    fn insert(&mut self, mut task: Box<Task>, was_final: bool, entry: Option<TaskEntry>) {
        if !task.state.is_final() {
            task.finish_seq = None;
        } else if !was_final {
            self.meta.last_finish_seq += 1;
            task.finish_seq = Some(self.meta.last_finish_seq);
            self.finished.push(task.id);
            if let Some(flow) = task.flow {
                self.parts_ended.push(PartEnded::finished(&task, flow));
            }
        }
        self.index(&task, entry);
        self.keep(task);
    }

    /// Makes the task's entry and every index entry for it. `before`: its entry before a
    /// change, still in place, which it overwrites keeping its names (a task's queue, name and
    /// concurrency key never change).
    fn index(&mut self, task: &Task, before: Option<TaskEntry>) {
        let entry = match before {
            Some(before) => before.changed_to(task),
            None => TaskEntry::of(task, &mut self.names),
        };
        if let Some(old) = self.tasks.insert(task.id, entry)
            && before.is_none()
        {
            old.release(&mut self.names);
        }
        if let Some(seq) = task.finish_seq.filter(|_| task.state.is_final()) {
            self.finish_order.insert(seq, task.id);
        }
        if task.state == TaskState::Pending {
            by_queue(&mut self.ready, &task.queue).insert(ReadyKey::of(task), task.id);
        }
        if let Some(due) = task.next_due_ms() {
            self.timers.insert((due, task.id));
        }
        by_queue(&mut self.counts, &task.queue)[task.state.index()] += 1;
        let bytes = u64::from(entry.bytes);
        self.stored_bytes += bytes;
        if !task.state.is_final() {
            let held = by_queue(&mut self.held, &task.queue);
            held.tasks += 1;
            held.bytes += bytes;
        }
        if task.state.is_waiting() {
            *by_queue(by_queue(&mut self.waiting, &task.queue), &task.name) += 1;
        }
        if let (Some(_), Some(concurrency)) = (&task.lease, &task.options.concurrency) {
            *by_queue(&mut self.running_keys, &concurrency.key) += 1;
        }
        if let Some(lease) = &task.lease {
            by_queue(&mut self.leases, &lease.worker).insert(task.id, lease.delivery);
        }
    }

    /// Removes every index entry for the task but its entry, which it returns: the caller
    /// indexes the task again over it, or removes it. Left in place because a change (every
    /// lease and answer) puts it straight back, and taking it out of a packed leaf and putting
    /// it in again would shift the leaf twice.
    fn unindex(&mut self, task: &Task) -> Option<TaskEntry> {
        let entry = self.tasks.get(&task.id).copied();
        let bytes = entry.map_or(0, |entry| u64::from(entry.bytes));
        if let Some(seq) = task.finish_seq {
            self.finish_order.remove(&seq);
        }
        if task.state == TaskState::Pending
            && let Some(queue) = self.ready.get_mut(&task.queue)
        {
            queue.remove(&ReadyKey::of(task));
            if queue.is_empty() {
                self.ready.remove(&task.queue);
            }
        }
        if let Some(due) = task.next_due_ms() {
            self.timers.remove(&(due, task.id));
        }
        self.stored_bytes = self.stored_bytes.saturating_sub(bytes);
        if !task.state.is_final()
            && let Some(held) = self.held.get_mut(&task.queue)
        {
            held.tasks = held.tasks.saturating_sub(1);
            held.bytes = held.bytes.saturating_sub(bytes);
            if held.tasks == 0 {
                self.held.remove(&task.queue);
            }
        }
        if let Some(counts) = self.counts.get_mut(&task.queue) {
            counts[task.state.index()] = counts[task.state.index()].saturating_sub(1);
            if counts.iter().all(|c| *c == 0) {
                self.counts.remove(&task.queue);
            }
        }
        if task.state.is_waiting()
            && let Some(names) = self.waiting.get_mut(&task.queue)
            && let Some(count) = names.get_mut(&task.name)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                names.remove(&task.name);
                if names.is_empty() {
                    self.waiting.remove(&task.queue);
                }
            }
        }
        if let (Some(_), Some(concurrency)) = (&task.lease, &task.options.concurrency)
            && let Some(running) = self.running_keys.get_mut(&concurrency.key)
        {
            *running = running.saturating_sub(1);
            if *running == 0 {
                self.running_keys.remove(&concurrency.key);
            }
        }
        if let Some(lease) = &task.lease
            && let Some(held) = self.leases.get_mut(&lease.worker)
        {
            held.remove(&task.id);
            if held.is_empty() {
                self.leases.remove(&lease.worker);
            }
        }
        entry
    }

    /// The entry of `id` with its names spelled out.
    fn spelled(&self, id: &TaskId) -> Option<entry::Spelled<'_>> {
        self.tasks.get(id).map(|entry| entry.spelled(&self.names))
    }

    /// Records, meta and every index: what two replicas must agree on, and what a restore must
    /// rebuild exactly.
    pub fn same_as(&self, other: &QueueState) -> bool {
        self.meta == other.meta
            && self.tasks.len() == other.tasks.len()
            && self.tasks.keys().all(|id| self.spelled(id) == other.spelled(id))
            && self.tasks().eq(other.tasks())
            && self.ready == other.ready
            && self.timers == other.timers
            && self.keys == other.keys
            && self.key_expiry == other.key_expiry
            && self.counts == other.counts
            && self.waiting == other.waiting
            && self.workers == other.workers
            && self.events == other.events
            && self.limits == other.limits
            && self.caps == other.caps
            && self.held == other.held
            && self.totals == other.totals
            && self.stored_bytes == other.stored_bytes
            && self.running_keys == other.running_keys
            && self.leases == other.leases
            && self.schedules == other.schedules
            && self.schedule_due == other.schedule_due
            && self.flows == other.flows
            && self.flow_expiry == other.flow_expiry
            && self.flow_keys == other.flow_keys
    }
}

/// A ready task's place in its queue: highest priority first, then in the order of submission.
/// One `u64` (the priority's complement above a 56-bit sequence number), because the index holds
/// an entry for every task waiting to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ReadyKey(u64);

impl ReadyKey {
    fn of(task: &Task) -> ReadyKey {
        let rank = u64::from(u8::MAX - task.priority) << 56;
        ReadyKey(rank | (task.seq & ((1 << 56) - 1)))
    }
}

/// The entry of `queue` (or another key) in an index, created if missing. Every change of a task
/// indexes it again: the queue's name is copied only for a queue the index does not have yet.
fn by_queue<'a, V: Default>(index: &'a mut BTreeMap<String, V>, queue: &str) -> &'a mut V {
    if !index.contains_key(queue) {
        index.insert(queue.to_owned(), V::default());
    }
    index.get_mut(queue).expect("inserted above when missing")
}

#[cfg(test)]
mod tests;
