//! [`QueueState`]: every task and the indexes over them, changed only by [`QueueState::apply`].
//!
//! Apply is deterministic: it reads nothing but the command and the leader-stamped time, and it
//! iterates only ordered maps. The records are authoritative; the indexes are rebuilt from them
//! by [`QueueState::restore`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::command::{Command, Outcome, Rejection, SubmitTask};
use super::task::{Task, TaskId, TaskState};
use super::validate;

/// The scalar part of the state, stored beside the task records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClock {
    /// Cluster time in ms: the greatest leader stamp applied so far, so it never runs backwards
    /// across a failover to a leader whose clock is behind.
    pub now_ms: u64,
    /// Sequence number the next accepted task gets.
    pub next_seq: u64,
}

/// Counts of one queue's tasks by state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub by_state: BTreeMap<TaskState, u64>,
}

#[derive(Clone, Debug, Default)]
pub struct QueueState {
    clock: StateClock,
    tasks: BTreeMap<TaskId, Task>,
    /// Runnable tasks per queue, highest priority first, then oldest first.
    ready: BTreeMap<String, BTreeMap<(Reverse<u8>, u64), TaskId>>,
    /// Tasks changed since the last [`QueueState::take_dirty`]: what the storage layer must write.
    dirty: BTreeSet<TaskId>,
}

impl QueueState {
    /// Rebuilds the state and its indexes from stored records.
    pub fn restore(clock: StateClock, tasks: impl IntoIterator<Item = Task>) -> Self {
        let mut state = QueueState {
            clock,
            ..QueueState::default()
        };
        for task in tasks {
            state.index(&task);
            state.tasks.insert(task.id, task);
        }
        state
    }

    pub fn clock(&self) -> StateClock {
        self.clock
    }

    pub fn task(&self, id: &TaskId) -> Option<&Task> {
        self.tasks.get(id)
    }

    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Ids of the runnable tasks of `queue` in the order workers would get them.
    pub fn ready_order(&self, queue: &str) -> Vec<TaskId> {
        self.ready
            .get(queue)
            .map(|index| index.values().copied().collect())
            .unwrap_or_default()
    }

    pub fn stats(&self) -> BTreeMap<String, QueueStats> {
        let mut stats: BTreeMap<String, QueueStats> = BTreeMap::new();
        for task in self.tasks.values() {
            *stats
                .entry(task.queue.clone())
                .or_default()
                .by_state
                .entry(task.state)
                .or_default() += 1;
        }
        stats
    }

    /// Ids changed since the last call; the caller persists each one's current record (or its
    /// absence).
    pub fn take_dirty(&mut self) -> BTreeSet<TaskId> {
        std::mem::take(&mut self.dirty)
    }

    /// Moves cluster time forward to a leader's stamp (never backwards).
    pub fn advance_clock(&mut self, stamped_ms: u64) {
        self.clock.now_ms = self.clock.now_ms.max(stamped_ms);
    }

    /// Applies one command at the current cluster time.
    pub fn apply(&mut self, command: Command) -> Outcome {
        match command {
            Command::Submit(submit) => self.submit(submit),
        }
    }

    fn submit(&mut self, submit: SubmitTask) -> Outcome {
        // The API validated this already; a command from an older or buggy proposer must still
        // not be able to store a task that breaks the limits.
        if let Err(reason) = validate::must_be_valid_submit(&submit, usize::MAX) {
            return Outcome::Rejected(Rejection::Invalid(reason));
        }
        if let Some(existing) = self.tasks.get(&submit.id) {
            return Outcome::Submitted {
                id: existing.id,
                state: existing.state,
            };
        }
        let task = Task {
            id: submit.id,
            name: submit.name,
            queue: submit.queue,
            args: submit.args,
            headers: submit.headers,
            priority: submit.priority,
            state: TaskState::Pending,
            seq: self.clock.next_seq,
            created_at_ms: self.clock.now_ms,
            attempts: 0,
            worker: None,
            result: None,
            error: None,
            eta_ms: None,
            expires_at_ms: None,
            started_at_ms: None,
            finished_at_ms: None,
        };
        self.clock.next_seq += 1;
        let outcome = Outcome::Submitted {
            id: task.id,
            state: task.state,
        };
        self.index(&task);
        self.dirty.insert(task.id);
        self.tasks.insert(task.id, task);
        outcome
    }

    fn index(&mut self, task: &Task) {
        if task.state == TaskState::Pending {
            self.ready
                .entry(task.queue.clone())
                .or_default()
                .insert((Reverse(task.priority), task.seq), task.id);
        }
    }

    /// Records and clock only: what two replicas must agree on.
    pub fn same_records(&self, other: &QueueState) -> bool {
        self.clock == other.clock && self.tasks == other.tasks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit(name: &str, queue: &str, priority: u8) -> Command {
        Command::Submit(SubmitTask {
            id: TaskId::generate(),
            name: name.into(),
            queue: queue.into(),
            args: b"{}".to_vec(),
            headers: BTreeMap::new(),
            priority,
        })
    }

    fn submitted_id(outcome: Outcome) -> TaskId {
        match outcome {
            Outcome::Submitted { id, .. } => id,
            other => panic!("expected a submitted task, got {other:?}"),
        }
    }

    #[test]
    fn submit_stores_a_pending_task_at_cluster_time() {
        let mut state = QueueState::default();
        state.advance_clock(1_000);
        let id = submitted_id(state.apply(submit("mail.send", "default", 0)));
        let task = state.task(&id).expect("stored");
        assert_eq!(task.state, TaskState::Pending);
        assert_eq!(task.created_at_ms, 1_000);
        assert_eq!(state.take_dirty().into_iter().collect::<Vec<_>>(), vec![id]);
        assert!(state.take_dirty().is_empty());
    }

    #[test]
    fn clock_never_runs_backwards() {
        let mut state = QueueState::default();
        state.advance_clock(5_000);
        state.advance_clock(4_000);
        assert_eq!(state.clock().now_ms, 5_000);
    }

    #[test]
    fn same_id_twice_returns_the_first_task() {
        let mut state = QueueState::default();
        let command = submit("a", "q", 1);
        let first = state.apply(command.clone());
        state.take_dirty();
        assert_eq!(state.apply(command), first);
        assert!(state.take_dirty().is_empty());
        assert_eq!(state.task_count(), 1);
    }

    #[test]
    fn invalid_submit_is_rejected_as_a_value() {
        let mut state = QueueState::default();
        let outcome = state.apply(submit("bad name", "q", 1));
        assert!(matches!(outcome, Outcome::Rejected(Rejection::Invalid(_))));
        assert_eq!(state.task_count(), 0);
    }

    #[test]
    fn ready_order_is_priority_then_fifo() {
        let mut state = QueueState::default();
        let low = submitted_id(state.apply(submit("t", "q", 1)));
        let high = submitted_id(state.apply(submit("t", "q", 9)));
        let low2 = submitted_id(state.apply(submit("t", "q", 1)));
        let other_queue = submitted_id(state.apply(submit("t", "other", 9)));
        assert_eq!(state.ready_order("q"), vec![high, low, low2]);
        assert_eq!(state.ready_order("other"), vec![other_queue]);
    }

    #[test]
    fn restore_rebuilds_indexes_from_records() {
        let mut state = QueueState::default();
        for priority in [3, 7, 3, 0] {
            state.apply(submit("t", "q", priority));
        }
        let restored = QueueState::restore(state.clock(), state.tasks().cloned());
        assert!(restored.same_records(&state));
        assert_eq!(restored.ready_order("q"), state.ready_order("q"));
        assert_eq!(restored.stats(), state.stats());
    }
}
