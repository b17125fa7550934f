//! [`LeaderFirst`]: a follower's pool leaves new work to the leader's own pool for a moment.
//!
//! Every pool sees a new task on its replica at about the same time. When all of them asked
//! for it, one lease got it and the others wrote empty leases to the log; and a follower's
//! lease and answer each take a hop more than the leader's, forwarded to it. So a follower's
//! pool leases a queue's next task only once it is [`LEADER_FIRST`] old in cluster time (its
//! id carries when it was submitted: a backlog), or has stayed next that long here (the
//! leader's pool busy, slow or stuck). Where the leader runs no pool, none that takes the task,
//! or one whose every slot holds a lease, a follower leases at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::queue::worker::embedded_worker_id;
use crate::queue::{QueueState, TaskId, WorkerInfo};

/// How long a follower's pool leaves a queue's next task to the leader's pool: a few of the
/// leader's commits, so a leader keeping up is never raced, and one falling behind is helped.
pub const LEADER_FIRST: Duration = Duration::from_millis(20);

/// The next task of each queue, and since when this pool has seen it next.
#[derive(Debug, Default)]
pub struct LeaderFirst {
    heads: BTreeMap<String, (TaskId, Instant)>,
}

/// What a pool with work in sight does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    Lease,
    /// Leave it to the leader's pool; look again after this long at the latest.
    Wait(Duration),
}

impl LeaderFirst {
    /// Whether a pool of node `me` serving `queues` and `names` leases now, with `leader` the
    /// leader it knows of.
    pub fn turn(
        &mut self,
        state: &QueueState,
        me: u64,
        leader: Option<u64>,
        queues: &[String],
        names: &[String],
        now: Instant,
    ) -> Turn {
        let leaders_pool = leader
            .filter(|leader| *leader != me)
            .and_then(|leader| state.worker(&embedded_worker_id(leader)));
        let full = |pool: &WorkerInfo| {
            state.leased_count(&pool.id) >= usize::try_from(pool.concurrency).unwrap_or(usize::MAX)
        };
        let Some(leaders_pool) = leaders_pool.filter(|pool| !full(pool)) else {
            self.heads.clear();
            return Turn::Lease;
        };
        let mut wait = LEADER_FIRST;
        for queue in queues {
            let Some((id, name)) = state.first_runnable(queue, names) else {
                self.heads.remove(queue);
                continue;
            };
            if !leaders_pool.consumes(queue, name) {
                return Turn::Lease;
            }
            let since = match self.heads.get(queue) {
                Some((head, since)) if *head == id => *since,
                _ => {
                    self.heads.insert(queue.clone(), (id, now));
                    now
                }
            };
            let waited = now.saturating_duration_since(since);
            let age = Duration::from_millis(state.now_ms().saturating_sub(id.0.timestamp_ms()));
            if waited >= LEADER_FIRST || age >= LEADER_FIRST {
                return Turn::Lease;
            }
            wait = wait.min(LEADER_FIRST - waited);
        }
        Turn::Wait(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{Command, LeaseRequest, SubmitTask, WorkerKind, WorkerRegistration};

    fn register(state: &mut QueueState, node: u64, queues: &[&str]) {
        state.apply(Command::RegisterWorker(WorkerRegistration {
            id: embedded_worker_id(node),
            node: format!("127.0.0.1:{}", 7070 + node),
            kind: WorkerKind::Embedded,
            queues: queues.iter().map(|q| q.to_string()).collect(),
            names: Vec::new(),
            concurrency: CONCURRENCY,
        }));
    }

    const CONCURRENCY: u32 = 2;

    fn submit(state: &mut QueueState, queue: &str) -> TaskId {
        let task = SubmitTask::sample("t", queue);
        let id = task.id;
        state.apply(Command::Submit(task));
        id
    }

    fn leased_by_leader(state: &mut QueueState, queue: &str) {
        leased_by_leader_up_to(state, queue, 1);
    }

    fn leased_by_leader_up_to(state: &mut QueueState, queue: &str, max: u32) {
        state.apply(Command::Lease(LeaseRequest {
            worker: embedded_worker_id(1),
            queues: vec![queue.into()],
            names: Vec::new(),
            max,
            lease_ms: 30_000,
        }));
    }

    fn state() -> QueueState {
        let mut state = QueueState::default();
        // Cluster time is now, as the ids of the tasks submitted are.
        state.advance_clock(TaskId::generate().0.timestamp_ms());
        register(&mut state, 1, &["q"]);
        state
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_follower_leaves_a_new_task_to_the_leaders_pool_until_it_has_waited_its_moment() {
        let mut state = state();
        submit(&mut state, "q");
        submit(&mut state, "q");
        let queues = vec!["q".to_string()];
        let mut first = LeaderFirst::default();
        let t0 = Instant::now();
        let mut turn =
            |state: &QueueState, at: Duration| first.turn(state, 2, Some(1), &queues, &[], t0 + at);

        assert_eq!(turn(&state, Duration::ZERO), Turn::Wait(LEADER_FIRST));
        assert_eq!(turn(&state, 5 * MS), Turn::Wait(LEADER_FIRST - 5 * MS));
        // The leader's pool took it: the next task is new, and waits its own moment.
        leased_by_leader(&mut state, "q");
        assert_eq!(turn(&state, 15 * MS), Turn::Wait(LEADER_FIRST));
        assert_eq!(turn(&state, 34 * MS), Turn::Wait(MS));
        // The leader's pool did not take this one in time: the follower helps.
        assert_eq!(turn(&state, 35 * MS), Turn::Lease);
    }

    #[test]
    fn a_follower_helps_at_once_with_a_backlog_older_than_its_moment() {
        let mut state = state();
        let id = submit(&mut state, "q");
        let queues = vec!["q".to_string()];
        let mut first = LeaderFirst::default();
        let now = Instant::now();
        state.advance_clock(id.0.timestamp_ms() + 19);
        assert_eq!(
            first.turn(&state, 2, Some(1), &queues, &[], now),
            Turn::Wait(LEADER_FIRST)
        );
        state.advance_clock(id.0.timestamp_ms() + 20);
        assert_eq!(first.turn(&state, 2, Some(1), &queues, &[], now), Turn::Lease);
    }

    #[test]
    fn a_follower_leases_at_once_when_no_leader_pool_would_take_the_task() {
        let mut state = state();
        submit(&mut state, "other");
        let other = vec!["other".to_string()];
        let mut first = LeaderFirst::default();
        let now = Instant::now();
        assert_eq!(
            first.turn(&state, 2, Some(1), &other, &[], now),
            Turn::Lease,
            "not its queue"
        );
        assert_eq!(
            first.turn(&state, 2, Some(3), &other, &[], now),
            Turn::Lease,
            "no pool on the leader"
        );
        assert_eq!(
            first.turn(&state, 2, None, &other, &[], now),
            Turn::Lease,
            "no leader known"
        );
        assert_eq!(
            first.turn(&state, 1, Some(1), &other, &[], now),
            Turn::Lease,
            "it leads"
        );
    }

    #[test]
    fn a_follower_leases_at_once_while_every_slot_of_the_leaders_pool_is_leased() {
        let mut state = state();
        for _ in 0..=CONCURRENCY {
            submit(&mut state, "q");
        }
        let queues = vec!["q".to_string()];
        let mut first = LeaderFirst::default();
        let now = Instant::now();
        leased_by_leader_up_to(&mut state, "q", CONCURRENCY - 1);
        assert_eq!(
            first.turn(&state, 2, Some(1), &queues, &[], now),
            Turn::Wait(LEADER_FIRST),
            "a slot is free"
        );
        leased_by_leader(&mut state, "q");
        assert_eq!(state.leased_count(&embedded_worker_id(1)), CONCURRENCY as usize);
        assert_eq!(
            first.turn(&state, 2, Some(1), &queues, &[], now),
            Turn::Lease,
            "every slot is leased"
        );
    }
}
