//! Events, observations and totals.

use super::*;
use crate::queue::event::{EVENT_CAPACITY, EventKind, QueueAction};

fn kinds(state: &QueueState) -> Vec<EventKind> {
    state.events_after(0).map(|e| e.kind.clone()).collect()
}

fn elected(node: u64, term: u64) -> Command {
    Command::Observe(Observation::LeaderElected {
        node,
        term,
        election_ms: 412,
    })
}

#[test]
fn elections_are_recorded_once_per_term_with_the_previous_leader() {
    let mut state = new_state();
    state.apply(elected(1, 3));
    state.apply(elected(1, 3));
    // A leader whose term ended before its observation applied.
    state.apply(elected(2, 2));
    state.apply(elected(3, 7));
    assert_eq!(
        kinds(&state),
        vec![
            EventKind::LeaderElected {
                node: 1,
                term: 3,
                election_ms: 412,
                previous: None
            },
            EventKind::LeaderElected {
                node: 3,
                term: 7,
                election_ms: 412,
                previous: Some(1)
            },
        ]
    );
    assert_eq!(
        state.events_after(0).map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(state.events_after(1).map(|e| e.seq).collect::<Vec<_>>(), vec![2]);
    assert_eq!(state.events_after(2).count(), 0);
}

#[test]
fn reachability_is_recorded_only_when_it_changes() {
    let mut state = new_state();
    let seen = |node, reachable| Command::Observe(Observation::Reachability { node, reachable });
    state.apply(seen(2, true));
    state.apply(seen(2, false));
    state.apply(seen(2, false));
    assert!(state.meta().unreachable.contains(&2));
    state.apply(seen(2, true));
    assert!(state.meta().unreachable.is_empty());
    assert_eq!(
        kinds(&state),
        vec![
            EventKind::NodeReachability {
                node: 2,
                reachable: false
            },
            EventKind::NodeReachability {
                node: 2,
                reachable: true
            },
        ]
    );
}

#[test]
fn a_clock_far_off_and_back_is_recorded_once_each_way() {
    let mut state = new_state();
    let skew = |node, skew_ms| Command::Observe(Observation::ClockSkew { node, skew_ms });
    state.apply(skew(3, 900));
    state.apply(skew(3, 180_000));
    state.apply(skew(3, 175_000));
    assert!(state.meta().clock_skewed.contains(&3));
    state.apply(skew(3, -20));
    assert!(state.meta().clock_skewed.is_empty());
    assert_eq!(
        kinds(&state),
        vec![
            EventKind::ClockSkew {
                node: 3,
                skew_ms: 180_000,
                in_step: false
            },
            EventKind::ClockSkew {
                node: 3,
                skew_ms: -20,
                in_step: true
            },
        ]
    );
}

#[test]
fn a_rebuilt_log_is_counted_and_on_the_timeline() {
    let mut state = new_state();
    state.apply(Command::Observe(Observation::LogReverted { node: 2 }));
    assert_eq!(state.meta().log_reversions, 1);
    assert_eq!(kinds(&state), vec![EventKind::LogReverted { node: 2 }]);
}

#[test]
fn failures_count_and_make_events_and_successes_only_count() {
    let mut state = new_state();
    let ok = submitted(state.apply(submit("t", "q", 0)));
    let flaky = submitted(state.apply(submit_with("t", "q", 0, |s| {
        s.options.retry.max_retries = 1;
    })));
    at(&mut state, 250);
    let handed = leased(state.apply(lease(&["q"], 2)));
    at(&mut state, 1_250);
    for (id, delivery) in handed {
        let answer = if id == ok {
            Command::Ack {
                id,
                delivery,
                result: vec![],
            }
        } else {
            Command::Fail {
                id,
                delivery,
                error: "boom".into(),
                retry: true,
                retry_in_ms: None,
            }
        };
        state.apply(answer);
    }
    let totals = state.totals()["q"];
    assert_eq!((totals.enqueued, totals.completed, totals.failed), (2, 1, 1));
    assert_eq!(
        kinds(&state),
        vec![EventKind::TaskFailed {
            id: flaky,
            name: "t".into(),
            queue: "q".into(),
            error: "boom".into(),
            dead: false
        }]
    );
    assert_eq!(state.take_changes().run_times_ms, vec![1_000, 1_000]);
}

#[test]
fn a_lease_run_out_at_the_delivery_limit_is_a_dead_failure() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.options.delivery_limit = 1)));
    leased(state.apply(lease(&["q"], 1)));
    at(&mut state, 31_000);
    assert_eq!(state_of(&state, id), Some(TaskState::Failure));
    assert!(matches!(
        kinds(&state).as_slice(),
        [EventKind::TaskFailed { dead: true, .. }]
    ));
    assert_eq!(state.totals()["q"].failed, 1);
}

#[test]
fn workers_and_queue_operations_make_events() {
    let mut state = new_state();
    state.apply(Command::RegisterWorker(
        crate::queue::worker::WorkerRegistration {
            id: "w1".into(),
            node: "n1".into(),
            kind: crate::queue::worker::WorkerKind::Embedded,
            queues: vec!["q".into()],
            names: Vec::new(),
            concurrency: 1,
        },
    ));
    state.apply(Command::PauseQueue { queue: "q".into() });
    state.apply(Command::PauseQueue { queue: "q".into() });
    state.apply(Command::ResumeQueue { queue: "q".into() });
    submitted(state.apply(submit("t", "q", 0)));
    state.apply(Command::PurgeQueue { queue: "q".into() });
    state.apply(Command::RetryDead {
        selector: DeadSelector::All,
    });
    state.apply(Command::LeaveWorker { id: "w1".into() });
    let queue_event = |action, count| EventKind::Queue {
        queue: "q".into(),
        action,
        count,
    };
    assert_eq!(
        kinds(&state),
        vec![
            EventKind::WorkerJoined {
                worker: "w1".into(),
                node: "n1".into()
            },
            queue_event(QueueAction::Paused, 0),
            queue_event(QueueAction::Resumed, 0),
            queue_event(QueueAction::Purged, 1),
            EventKind::Queue {
                queue: String::new(),
                action: QueueAction::DeadRetried,
                count: 0
            },
            EventKind::WorkerLeft {
                worker: "w1".into(),
                node: "n1".into(),
                timed_out: false
            },
        ]
    );
}

#[test]
fn the_timeline_keeps_the_latest_events_and_says_which_records_to_drop() {
    let mut state = new_state();
    let total = EVENT_CAPACITY as u64 + 5;
    for term in 1..=total {
        state.apply(elected(1, term));
    }
    let seqs: Vec<u64> = state.events_after(0).map(|e| e.seq).collect();
    assert_eq!(seqs.len(), EVENT_CAPACITY);
    assert_eq!((seqs[0], seqs[seqs.len() - 1]), (6, total));
    assert_eq!(state.events_after(total - 2).count(), 2);
    assert!(state.event(5).is_none());
    assert_eq!(state.event(6).map(|e| e.seq), Some(6));
    let changes = state.take_changes();
    // Every event ever made is written or deleted: the first five were both, in one batch.
    assert_eq!(changes.events().len() as u64, total);
    assert!((1..=5).all(|seq| changes.events().contains(&seq) && state.event(seq).is_none()));
}

#[test]
fn a_silent_worker_times_out_and_a_heartbeat_keeps_one() {
    use crate::queue::worker::WORKER_TTL_MS;
    let mut state = new_state();
    for id in ["quiet", "chatty"] {
        state.apply(Command::RegisterWorker(
            crate::queue::worker::WorkerRegistration {
                id: id.into(),
                node: "n1".into(),
                kind: crate::queue::worker::WorkerKind::Remote,
                queues: vec!["q".into()],
                names: Vec::new(),
                concurrency: 1,
            },
        ));
    }
    assert_eq!(
        state.next_due_ms(),
        Some(T0 + WORKER_TTL_MS),
        "a tick is due when one expires"
    );
    at(&mut state, WORKER_TTL_MS / 2);
    state.apply(Command::WorkerHeartbeat {
        id: "chatty".into(),
        active: 0,
    });
    at(&mut state, WORKER_TTL_MS);
    assert_eq!(
        state.workers().map(|w| w.id.as_str()).collect::<Vec<_>>(),
        ["chatty"]
    );
    assert!(
        state.take_changes().workers().contains(&"quiet".to_string()),
        "the record is deleted"
    );
    assert!(kinds(&state).contains(&EventKind::WorkerLeft {
        worker: "quiet".into(),
        node: "n1".into(),
        timed_out: true
    }));
    assert!(
        matches!(
            state.apply(Command::WorkerHeartbeat {
                id: "quiet".into(),
                active: 0
            }),
            Outcome::Rejected(Rejection::NotRegistered(_))
        ),
        "a worker that comes back is told to register again"
    );
}

#[test]
fn totals_are_records_of_their_own_written_only_when_they_change() {
    let mut state = new_state();
    state.apply(submit("t", "a", 0));
    state.apply(submit("t", "b", 0));
    state.take_changes();
    state.apply(submit("t", "a", 0));
    let totals = |changes: &Changes| {
        changes
            .records
            .iter()
            .filter_map(|r| match r {
                crate::queue::record::RecordId::Totals(queue) => Some(queue.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        totals(&state.take_changes()),
        ["a"],
        "b's totals are not rewritten"
    );
    assert_eq!(state.totals()["a"].enqueued, 2);
    assert!(state.meta().totals.is_empty(), "the scalars no longer carry them");
}

#[test]
fn totals_kept_in_the_scalars_before_are_moved_to_records_at_restore() {
    let mut meta = QueueMeta::default();
    meta.totals.insert(
        "old".into(),
        QueueTotals {
            enqueued: 5,
            completed: 4,
            failed: 1,
        },
    );
    let mut state = QueueState::restore(meta, []);
    assert_eq!(state.totals()["old"].completed, 4);
    assert!(state.meta().totals.is_empty());
    let changes = state.take_changes();
    assert!(
        changes
            .records
            .contains(&crate::queue::record::RecordId::Totals("old".into())),
        "written as a record with the next apply"
    );
    let again = QueueState::restore(state.meta().clone(), state.stored());
    assert!(again.same_as(&state), "and read back from it");
}
