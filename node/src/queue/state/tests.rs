//! The queue rules, one test each, and the determinism property.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::queue::cap::CapKind;
use crate::queue::command::{DeadSelector, Rejection};
use crate::queue::event::Observation;
use crate::queue::lease::LeaseRequest;
use crate::queue::limit::{LimitScope, Rate};
use crate::queue::retry::backoff_ms;
use crate::queue::submit::SubmitTask;
use crate::queue::task::ConcurrencyLimit;
use crate::queue::task::{RetryPolicy, TaskOptions};

const T0: u64 = 1_700_000_000_000;

fn options() -> TaskOptions {
    TaskOptions {
        retry: RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        },
        timeout_ms: None,
        result_ttl_ms: 60_000,
        delivery_limit: 20,
        dead_letter_ttl_ms: 120_000,
        concurrency: None,
    }
}

fn submit_with(name: &str, queue: &str, priority: u8, change: impl FnOnce(&mut SubmitTask)) -> Command {
    let mut submit = SubmitTask {
        args: b"{}".to_vec(),
        priority,
        options: options(),
        ..SubmitTask::sample(name, queue)
    };
    change(&mut submit);
    Command::Submit(submit)
}

fn submit(name: &str, queue: &str, priority: u8) -> Command {
    submit_with(name, queue, priority, |_| {})
}

fn lease(queues: &[&str], max: u32) -> Command {
    Command::Lease(LeaseRequest {
        worker: "w1".into(),
        queues: queues.iter().map(|q| q.to_string()).collect(),
        names: vec![],
        max,
        lease_ms: 30_000,
    })
}

fn at(state: &mut QueueState, ms: u64) {
    state.advance_clock(T0 + ms);
}

fn new_state() -> QueueState {
    let mut state = QueueState::default();
    at(&mut state, 0);
    state
}

fn submitted(outcome: Outcome) -> TaskId {
    match outcome {
        Outcome::Submitted { id, .. } => id,
        other => panic!("expected a submitted task, got {other:?}"),
    }
}

fn leased(outcome: Outcome) -> Vec<(TaskId, u32)> {
    match outcome {
        Outcome::Leased(tasks) => tasks.into_iter().map(|t| (t.id, t.delivery)).collect(),
        other => panic!("expected leased tasks, got {other:?}"),
    }
}

fn state_of(state: &QueueState, id: TaskId) -> Option<TaskState> {
    state.task(&id).map(|t| t.state)
}

#[test]
fn submit_stores_a_pending_task_at_cluster_time() {
    let mut state = new_state();
    let id = submitted(state.apply(submit("mail.send", "default", 0)));
    let task = state.task(&id).expect("stored");
    assert_eq!(task.state, TaskState::Pending);
    assert_eq!(task.created_at_ms, T0);
    assert_eq!(state.take_changes().tasks(), vec![id]);
    assert!(state.take_changes().tasks().is_empty());
}

#[test]
fn clock_never_runs_backwards() {
    let mut state = new_state();
    at(&mut state, 5_000);
    state.advance_clock(T0 + 4_000);
    assert_eq!(state.now_ms(), T0 + 5_000);
}

#[test]
fn invalid_submit_is_rejected_as_a_value() {
    let mut state = new_state();
    let outcome = state.apply(submit("bad name", "q", 1));
    assert!(matches!(outcome, Outcome::Rejected(Rejection::Invalid(_))));
    assert_eq!(state.task_count(), 0);
}

#[test]
fn leases_follow_priority_then_fifo_across_queues() {
    let mut state = new_state();
    let low = submitted(state.apply(submit("t", "a", 1)));
    let high = submitted(state.apply(submit("t", "a", 9)));
    let low2 = submitted(state.apply(submit("t", "a", 1)));
    let other = submitted(state.apply(submit("t", "b", 5)));
    assert_eq!(state.ready_order("a"), vec![high, low, low2]);
    let got: Vec<TaskId> = leased(state.apply(lease(&["a", "b"], 3)))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(got, vec![high, other, low]);
    assert_eq!(leased(state.apply(lease(&["a", "b"], 3))), vec![(low2, 1)]);
    assert!(leased(state.apply(lease(&["a", "b"], 3))).is_empty());
}

#[test]
fn a_lease_is_bounded_in_bytes_but_never_empty() {
    use crate::queue::lease::MAX_LEASE_REPLY_BYTES;
    let mut state = new_state();
    let third = (MAX_LEASE_REPLY_BYTES / 3) as usize + 1;
    for _ in 0..5 {
        state.apply(submit_with("t", "q", 0, |s| s.args = vec![0; third]));
    }
    state.apply(submit_with("t", "q", 0, |s| {
        s.args = vec![0; MAX_LEASE_REPLY_BYTES as usize + 1]
    }));
    let sizes: Vec<usize> = (0..4)
        .map(|_| leased(state.apply(lease(&["q"], 100))).len())
        .collect();
    assert_eq!(
        sizes,
        [2, 2, 1, 1],
        "two thirds and a bit fit; the oversized one goes alone"
    );
}

#[test]
fn lease_only_hands_out_names_the_worker_runs() {
    let mut state = new_state();
    submitted(state.apply(submit("resize", "q", 9)));
    let mail = submitted(state.apply(submit("mail", "q", 0)));
    let outcome = state.apply(Command::Lease(LeaseRequest {
        worker: "w".into(),
        queues: vec!["q".into()],
        names: vec!["mail".into()],
        max: 5,
        lease_ms: 1_000,
    }));
    assert_eq!(leased(outcome), vec![(mail, 1)]);
}

#[test]
fn has_ready_sees_what_a_lease_would_get_behind_other_names() {
    let mut state = new_state();
    for _ in 0..2_000 {
        submitted(state.apply(submit("resize", "q", 9)));
    }
    let mail = submitted(state.apply(submit("mail", "q", 0)));
    let names = vec!["mail".to_string()];
    assert!(state.has_ready(&["q".into()], &names));
    let outcome = state.apply(Command::Lease(LeaseRequest {
        worker: "w".into(),
        queues: vec!["q".into()],
        names,
        max: 5,
        lease_ms: 1_000,
    }));
    assert_eq!(leased(outcome), vec![(mail, 1)]);
}

#[test]
fn countdown_is_not_leased_early() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.eta_ms = Some(T0 + 10_000))));
    assert_eq!(state_of(&state, id), Some(TaskState::Scheduled));
    at(&mut state, 9_999);
    assert!(leased(state.apply(lease(&["q"], 1))).is_empty());
    at(&mut state, 10_000);
    assert_eq!(state_of(&state, id), Some(TaskState::Pending));
    assert_eq!(leased(state.apply(lease(&["q"], 1))), vec![(id, 1)]);
}

#[test]
fn a_countdown_runs_from_the_cluster_time_of_its_apply() {
    let mut state = new_state();
    // The proposer's clock is nowhere in the command: only the entry's stamp counts.
    at(&mut state, 5_000);
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.countdown_ms = Some(10_000))));
    assert_eq!(state.task(&id).expect("task").eta_ms, Some(T0 + 15_000));
    assert_eq!(state_of(&state, id), Some(TaskState::Scheduled));
    at(&mut state, 14_999);
    assert!(leased(state.apply(lease(&["q"], 1))).is_empty());
    at(&mut state, 15_000);
    assert_eq!(leased(state.apply(lease(&["q"], 1))), vec![(id, 1)]);
}

#[test]
fn failed_attempts_retry_on_the_backoff_schedule_then_fail() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.options.retry.max_retries = 2)));
    let policy = state.task(&id).expect("task").options.retry.clone();
    let mut now = 0;
    for retry in 1..=2u32 {
        let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
        let outcome = state.apply(Command::Fail {
            id,
            delivery,
            error: "boom".into(),
            retry: true,
            retry_in_ms: None,
        });
        assert_eq!(
            outcome,
            Outcome::Updated {
                id,
                state: TaskState::Retry
            }
        );
        let delay = backoff_ms(&policy, id, retry);
        assert_eq!(delay, 1_000 * 2u64.pow(retry - 1));
        at(&mut state, now + delay - 1);
        assert!(
            leased(state.apply(lease(&["q"], 1))).is_empty(),
            "leased before its backoff"
        );
        now += delay;
        at(&mut state, now);
    }
    let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
    assert_eq!(delivery, 3);
    let outcome = state.apply(Command::Fail {
        id,
        delivery,
        error: "final".into(),
        retry: true,
        retry_in_ms: None,
    });
    assert_eq!(
        outcome,
        Outcome::Updated {
            id,
            state: TaskState::Failure
        }
    );
    let task = state.task(&id).expect("kept as a dead letter");
    assert_eq!(
        (task.attempts, task.retries, task.error.as_deref()),
        (3, 2, Some("final"))
    );
}

#[test]
fn expired_leases_return_the_task_and_the_delivery_limit_kills_it() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.options.delivery_limit = 3)));
    let mut now = 0;
    for delivery in 1..=3 {
        assert_eq!(leased(state.apply(lease(&["q"], 1))), vec![(id, delivery)]);
        now += 30_000;
        at(&mut state, now);
    }
    let task = state.task(&id).expect("dead letter");
    assert_eq!(task.state, TaskState::Failure);
    assert!(
        task.error
            .as_deref()
            .is_some_and(|e| e.contains("delivery limit"))
    );
    assert_eq!(state.stats()["q"].count(TaskState::Failure), 1);
}

#[test]
fn the_tasks_a_worker_holds_are_known_until_answered_handed_back_or_expired() {
    let mut state = new_state();
    let ids: Vec<TaskId> = (0..3)
        .map(|_| submitted(state.apply(submit("t", "q", 0))))
        .collect();
    let mut held = leased(state.apply(lease(&["q"], 3)));
    held.sort();
    assert_eq!(state.leased_to("w1"), held);
    assert!(state.leased_to("w2").is_empty());
    let delivery = |id: TaskId| held.iter().find(|(h, _)| *h == id).expect("held").1;
    let (acked, released, left) = (ids[0], ids[1], ids[2]);
    state.apply(Command::Ack {
        id: acked,
        delivery: delivery(acked),
        result: vec![],
    });
    state.apply(Command::Release {
        id: released,
        delivery: delivery(released),
    });
    assert_eq!(state.leased_to("w1"), vec![(left, delivery(left))]);
    at(&mut state, 30_000);
    assert!(state.leased_to("w1").is_empty(), "the lease expired");
    assert_eq!(leased(state.apply(lease(&["q"], 3))).len(), 2);
    assert_eq!(
        state.leased_to("w1").len(),
        2,
        "leased again under new deliveries"
    );
}

#[test]
fn what_a_worker_does_not_hold_of_its_leases_is_handed_out_again_as_leased() {
    let mut state = new_state();
    for _ in 0..4 {
        state.apply(submit("t", "q", 0));
    }
    state.apply(submit("t", "other", 0));
    let Outcome::Leased(mut lost) = state.apply(lease(&["q", "other"], 5)) else {
        panic!("not leased");
    };
    lost.sort_by_key(|t| t.id);
    let (elsewhere, mut lost): (Vec<_>, Vec<_>) = lost.into_iter().partition(|t| t.queue == "other");
    let request = |max: u32| match lease(&["q"], max) {
        Command::Lease(request) => request,
        _ => unreachable!(),
    };
    let none = BTreeSet::new();
    let revoked = lost.pop().expect("four leased");
    state.apply(Command::Revoke { id: revoked.id });
    assert_eq!(
        state.leased_but_not_held(&request(10), &none),
        lost,
        "not the revoked task, nor the other queue's"
    );
    assert_eq!(state.leased_but_not_held(&request(2), &none), lost[..2]);
    let mut also_other = request(10);
    also_other.queues.push("other".into());
    assert!(
        state
            .leased_but_not_held(&also_other, &none)
            .contains(&elsewhere[0])
    );
    let mut other_name = request(10);
    other_name.names = vec!["u".into()];
    assert!(state.leased_but_not_held(&other_name, &none).is_empty());
    let mut other_worker = request(10);
    other_worker.worker = "w2".into();
    assert!(state.leased_but_not_held(&other_worker, &none).is_empty());
    let held: BTreeSet<TaskId> = [lost[0].id].into();
    assert_eq!(state.leased_but_not_held(&request(10), &held), lost[1..]);
    state.apply(Command::Ack {
        id: lost[1].id,
        delivery: lost[1].delivery,
        result: vec![],
    });
    assert_eq!(state.leased_but_not_held(&request(10), &held), lost[2..]);
    at(&mut state, 30_000);
    assert!(
        state.leased_but_not_held(&request(10), &none).is_empty(),
        "the leases expired"
    );
}

#[test]
fn a_stale_token_cannot_ack_extend_or_fail() {
    let mut state = new_state();
    let id = submitted(state.apply(submit("t", "q", 0)));
    assert_eq!(leased(state.apply(lease(&["q"], 1))), vec![(id, 1)]);
    at(&mut state, 30_000);
    assert_eq!(leased(state.apply(lease(&["q"], 1))), vec![(id, 2)]);
    for stale in [
        Command::Ack {
            id,
            delivery: 1,
            result: vec![],
        },
        Command::Extend {
            id,
            delivery: 1,
            lease_ms: 1_000,
        },
        Command::Fail {
            id,
            delivery: 1,
            error: "late".into(),
            retry: true,
            retry_in_ms: None,
        },
    ] {
        assert!(
            matches!(
                state.apply(stale),
                Outcome::Rejected(Rejection::StaleLease { delivery: 1, .. })
            ),
            "stale answer accepted"
        );
    }
    let outcome = state.apply(Command::Ack {
        id,
        delivery: 2,
        result: b"42".to_vec(),
    });
    assert_eq!(
        outcome,
        Outcome::Updated {
            id,
            state: TaskState::Success
        }
    );
    assert_eq!(
        state.task(&id).and_then(|t| t.result.clone()),
        Some(b"42".to_vec())
    );
    assert!(matches!(
        state.apply(Command::Ack {
            id,
            delivery: 2,
            result: vec![]
        }),
        Outcome::Rejected(Rejection::StaleLease { .. })
    ));
}

#[test]
fn a_released_task_is_ready_again_at_once() {
    let mut state = new_state();
    let id = submitted(state.apply(submit("t", "q", 0)));
    assert!(state.has_ready(&["q".into()], &["t".into()]));
    assert!(!state.has_ready(&["q".into()], &["other".into()]));
    leased(state.apply(lease(&["q"], 1)));
    assert!(!state.has_ready(&["q".into()], &[]));
    assert_eq!(
        state.apply(Command::Release { id, delivery: 1 }),
        Outcome::Updated {
            id,
            state: TaskState::Pending
        }
    );
    assert_eq!(leased(state.apply(lease(&["q"], 1))), vec![(id, 2)]);
    assert!(matches!(
        state.apply(Command::Release { id, delivery: 1 }),
        Outcome::Rejected(Rejection::StaleLease { .. })
    ));
}

#[test]
fn extend_pushes_the_deadline_out() {
    let mut state = new_state();
    let id = submitted(state.apply(submit("t", "q", 0)));
    leased(state.apply(lease(&["q"], 1)));
    at(&mut state, 20_000);
    let outcome = state.apply(Command::Extend {
        id,
        delivery: 1,
        lease_ms: 30_000,
    });
    assert_eq!(
        outcome,
        Outcome::Extended {
            id,
            deadline_ms: T0 + 50_000
        }
    );
    at(&mut state, 49_999);
    assert_eq!(state_of(&state, id), Some(TaskState::Started));
    at(&mut state, 50_000);
    assert_eq!(state_of(&state, id), Some(TaskState::Pending));
}

#[test]
fn a_timeout_sizes_the_lease() {
    let mut state = new_state();
    state.apply(submit_with("t", "q", 0, |s| s.options.timeout_ms = Some(2_000)));
    let Outcome::Leased(tasks) = state.apply(lease(&["q"], 1)) else {
        panic!("no lease");
    };
    assert_eq!(tasks[0].deadline_ms, T0 + 2_000 + super::leasing::LEASE_GRACE_MS);
    assert_eq!(tasks[0].timeout_ms, Some(2_000));
}

#[test]
fn tasks_expire_if_not_started_in_time() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.expires_in_ms = Some(5_000))));
    let started = submitted(state.apply(submit_with("t", "r", 0, |s| s.expires_in_ms = Some(5_000))));
    leased(state.apply(lease(&["r"], 1)));
    at(&mut state, 5_000);
    assert_eq!(state_of(&state, id), Some(TaskState::Expired));
    assert_eq!(
        state_of(&state, started),
        Some(TaskState::Started),
        "a running task does not expire"
    );
    assert!(leased(state.apply(lease(&["q"], 1))).is_empty());
}

#[test]
fn revoke_in_every_state() {
    let mut state = new_state();
    let pending = submitted(state.apply(submit("t", "q", 0)));
    let scheduled = submitted(state.apply(submit_with("t", "q", 0, |s| s.eta_ms = Some(T0 + 60_000))));
    let retrying = submitted(state.apply(submit_with("t", "r", 0, |s| s.options.retry.max_retries = 1)));
    let (_, d) = leased(state.apply(lease(&["r"], 1)))[0];
    state.apply(Command::Fail {
        id: retrying,
        delivery: d,
        error: "x".into(),
        retry: true,
        retry_in_ms: None,
    });
    let started = submitted(state.apply(submit("t", "s", 0)));
    leased(state.apply(lease(&["s"], 1)));
    let done = submitted(state.apply(submit("t", "u", 0)));
    let (_, d) = leased(state.apply(lease(&["u"], 1)))[0];
    state.apply(Command::Ack {
        id: done,
        delivery: d,
        result: vec![],
    });
    assert_eq!(state_of(&state, retrying), Some(TaskState::Retry));

    for id in [pending, scheduled, retrying, started] {
        assert_eq!(
            state.apply(Command::Revoke { id }),
            Outcome::Updated {
                id,
                state: TaskState::Revoked
            }
        );
    }
    assert_eq!(
        state.apply(Command::Revoke { id: done }),
        Outcome::Updated {
            id: done,
            state: TaskState::Success
        },
        "a finished task stays finished"
    );
    at(&mut state, 120_000);
    for queue in ["q", "r"] {
        assert!(
            leased(state.apply(lease(&[queue], 5))).is_empty(),
            "revoked task leased from {queue}"
        );
    }
    // The running one's worker learns on its next extend, and cannot ack.
    let mut state = new_state();
    let id = submitted(state.apply(submit("t", "s", 0)));
    leased(state.apply(lease(&["s"], 1)));
    state.apply(Command::Revoke { id });
    assert_eq!(
        state.apply(Command::Extend {
            id,
            delivery: 1,
            lease_ms: 1_000
        }),
        Outcome::Rejected(Rejection::Revoked(id))
    );
    assert_eq!(
        state.apply(Command::Ack {
            id,
            delivery: 1,
            result: vec![]
        }),
        Outcome::Rejected(Rejection::Revoked(id))
    );
    let missing = TaskId::generate();
    assert_eq!(
        state.apply(Command::Revoke { id: missing }),
        Outcome::Rejected(Rejection::NotFound(missing))
    );
}

#[test]
fn idempotency_key_returns_the_first_task_inside_the_window() {
    let mut state = new_state();
    let keyed = |state: &mut QueueState| {
        state.apply(submit_with("t", "q", 0, |s| {
            s.idempotency_key = Some("order-7".into());
            s.dedup_window_ms = 10_000;
        }))
    };
    let first = submitted(keyed(&mut state));
    match keyed(&mut state) {
        Outcome::Submitted { id, duplicate, .. } => assert_eq!((id, duplicate), (first, true)),
        other => panic!("{other:?}"),
    }
    assert_eq!(state.task_count(), 1);
    at(&mut state, 10_000);
    let second = submitted(keyed(&mut state));
    assert_ne!(second, first, "the window has closed");
    // The same command twice (a proposal retried by id) is also a duplicate.
    let command = submit("t", "q", 0);
    let a = submitted(state.apply(command.clone()));
    assert_eq!(
        state.apply(command),
        Outcome::Submitted {
            id: a,
            state: TaskState::Pending,
            duplicate: true
        }
    );
}

#[test]
fn a_paused_queue_hands_out_nothing() {
    let mut state = new_state();
    let id = submitted(state.apply(submit("t", "q", 0)));
    state.apply(Command::PauseQueue { queue: "q".into() });
    assert!(state.stats()["q"].paused);
    assert!(leased(state.apply(lease(&["q"], 1))).is_empty());
    state.apply(Command::ResumeQueue { queue: "q".into() });
    assert_eq!(leased(state.apply(lease(&["q"], 1))), vec![(id, 1)]);
}

#[test]
fn purge_removes_only_waiting_tasks() {
    let mut state = new_state();
    submitted(state.apply(submit("t", "q", 0)));
    submitted(state.apply(submit_with("t", "q", 0, |s| s.eta_ms = Some(T0 + 1_000))));
    let running = submitted(state.apply(submit("t", "q", 9)));
    leased(state.apply(lease(&["q"], 1)));
    let other = submitted(state.apply(submit("t", "other", 0)));
    assert_eq!(
        state.apply(Command::PurgeQueue { queue: "q".into() }),
        Outcome::Count(2)
    );
    assert_eq!(state_of(&state, running), Some(TaskState::Started));
    assert_eq!(state_of(&state, other), Some(TaskState::Pending));
    assert_eq!(state.task_count(), 2);
}

#[test]
fn results_and_dead_letters_are_purged_each_after_its_own_ttl() {
    let mut state = new_state();
    let ok = submitted(state.apply(submit("t", "q", 0)));
    let dead = submitted(state.apply(submit("t", "q", 0)));
    for (id, delivery) in leased(state.apply(lease(&["q"], 2))) {
        if id == ok {
            state.apply(Command::Ack {
                id,
                delivery,
                result: vec![1],
            });
        } else {
            state.apply(Command::Fail {
                id,
                delivery,
                error: "no".into(),
                retry: false,
                retry_in_ms: None,
            });
        }
    }
    at(&mut state, 59_999);
    assert!(state.task(&ok).is_some());
    at(&mut state, 60_000);
    assert!(state.task(&ok).is_none(), "result outlived its TTL");
    assert_eq!(state_of(&state, dead), Some(TaskState::Failure));
    // Dead letters have a TTL of their own (120 s in these options).
    at(&mut state, 119_999);
    assert_eq!(state_of(&state, dead), Some(TaskState::Failure));
    state.take_changes();
    at(&mut state, 120_000);
    assert!(state.task(&dead).is_none(), "the dead letter outlived its TTL");
    assert_eq!(
        state.take_changes().tasks(),
        vec![dead],
        "and its record is deleted"
    );
}

#[test]
fn dead_letters_can_be_retried_and_purged() {
    let mut state = new_state();
    let mut dead = Vec::new();
    for queue in ["q", "q", "r"] {
        let id = submitted(state.apply(submit("t", queue, 0)));
        let (_, delivery) = leased(state.apply(lease(&[queue], 1)))[0];
        state.apply(Command::Fail {
            id,
            delivery,
            error: "no".into(),
            retry: false,
            retry_in_ms: None,
        });
        dead.push(id);
    }
    let pending = submitted(state.apply(submit("t", "q", 0)));
    assert_eq!(
        state.apply(Command::RetryDead {
            selector: DeadSelector::Task(pending)
        }),
        Outcome::Rejected(Rejection::NotDead {
            id: pending,
            state: TaskState::Pending
        })
    );
    assert_eq!(
        state.apply(Command::RetryDead {
            selector: DeadSelector::Task(dead[0])
        }),
        Outcome::Count(1)
    );
    let task = state.task(&dead[0]).expect("task");
    assert_eq!(
        (task.state, task.attempts, task.error.clone()),
        (TaskState::Pending, 0, None)
    );
    assert_eq!(
        state.apply(Command::PurgeDead {
            selector: DeadSelector::Queue("q".into())
        }),
        Outcome::Count(1)
    );
    assert_eq!(
        state.apply(Command::RetryDead {
            selector: DeadSelector::All
        }),
        Outcome::Count(1)
    );
    assert_eq!(state_of(&state, dead[2]), Some(TaskState::Pending));
}

#[test]
fn a_dead_letter_retried_never_reuses_a_delivery_number() {
    let mut state = new_state();
    let id = submitted(state.apply(submit("t", "q", 0)));
    let (_, first) = leased(state.apply(lease(&["q"], 1)))[0];
    state.apply(Command::Fail {
        id,
        delivery: first,
        error: "no".into(),
        retry: false,
        retry_in_ms: None,
    });
    state.apply(Command::RetryDead {
        selector: DeadSelector::Task(id),
    });
    let (_, second) = leased(state.apply(lease(&["q"], 1)))[0];
    assert_ne!(second, first);
    assert_eq!(state.task(&id).map(|t| t.attempts), Some(1));
    // A late answer from the first round's worker is refused, not taken as the new attempt's.
    let late = state.apply(Command::Ack {
        id,
        delivery: first,
        result: vec![],
    });
    assert!(
        matches!(late, Outcome::Rejected(Rejection::StaleLease { .. })),
        "{late:?}"
    );
    assert_eq!(state_of(&state, id), Some(TaskState::Started));
}

#[test]
fn workers_register_heartbeat_count_answers_and_leave() {
    let mut state = new_state();
    let register = |id: &str| {
        Command::RegisterWorker(crate::queue::worker::WorkerRegistration {
            id: id.into(),
            node: "127.0.0.1:7071".into(),
            kind: crate::queue::worker::WorkerKind::Remote,
            queues: vec!["q".into()],
            names: Vec::new(),
            concurrency: 2,
        })
    };
    state.apply(register("w1"));
    assert!(matches!(
        state.apply(Command::WorkerHeartbeat {
            id: "ghost".into(),
            active: 0
        }),
        Outcome::Rejected(Rejection::NotRegistered(_))
    ));
    at(&mut state, 1_000);
    state.apply(Command::WorkerHeartbeat {
        id: "w1".into(),
        active: 2,
    });
    let ok = submitted(state.apply(submit("t", "q", 0)));
    let bad = submitted(state.apply(submit("t", "q", 0)));
    for (id, delivery) in leased(state.apply(lease(&["q"], 2))) {
        assert_eq!(
            state.task(&id).and_then(|t| t.worker.clone()).as_deref(),
            Some("w1")
        );
        if id == ok {
            state.apply(Command::Ack {
                id,
                delivery,
                result: vec![],
            });
        } else {
            assert_eq!(id, bad);
            state.apply(Command::Fail {
                id,
                delivery,
                error: "x".into(),
                retry: false,
                retry_in_ms: None,
            });
        }
    }
    let worker = state.workers().next().expect("registered").clone();
    assert_eq!(
        (
            worker.active,
            worker.processed,
            worker.failed,
            worker.last_seen_ms
        ),
        (2, 1, 1, T0 + 1_000)
    );
    state.apply(register("w1"));
    assert_eq!(
        state.workers().next().map(|w| (w.processed, w.active)),
        Some((1, 0)),
        "history kept"
    );
    assert_eq!(state.take_changes().workers(), vec!["w1".to_string()]);
    state.apply(Command::LeaveWorker { id: "w1".into() });
    assert_eq!(state.workers().count(), 0);
}

#[test]
fn finished_tasks_are_reported_once() {
    let mut state = new_state();
    let id = submitted(state.apply(submit("t", "q", 0)));
    let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
    state.take_changes();
    state.apply(Command::Ack {
        id,
        delivery,
        result: vec![],
    });
    state.apply(Command::Revoke { id });
    assert_eq!(state.take_changes().finished, vec![id]);
}

/// One step of a random history. Task references are indexes into the tasks submitted so far.
#[derive(Clone, Debug)]
enum Op {
    Submit {
        queue: u8,
        priority: u8,
        eta: Option<u16>,
        expires: Option<u16>,
        key: Option<u8>,
        retries: u8,
        concurrency_key: Option<u8>,
    },
    Lease {
        queue: u8,
        max: u8,
    },
    Ack {
        task: u8,
        delivery: u8,
    },
    Fail {
        task: u8,
        delivery: u8,
        retry: bool,
    },
    Extend {
        task: u8,
        delivery: u8,
    },
    Release {
        task: u8,
        delivery: u8,
    },
    Revoke {
        task: u8,
    },
    Pause {
        queue: u8,
        paused: bool,
    },
    Purge {
        queue: u8,
    },
    RetryDead,
    PurgeDead,
    Wait {
        ms: u16,
    },
    Elected {
        node: u8,
        term: u8,
    },
    Reachable {
        node: u8,
        reachable: bool,
    },
    Limit {
        queue: u8,
        count: Option<u8>,
    },
    Cap {
        queue: u8,
        bytes: bool,
        value: u8,
    },
    Schedule {
        name: u8,
        every_s: Option<u8>,
    },
    Flow {
        kind: u8,
        key: Option<u8>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3u8, 0..10u8, proptest::option::of(0..5_000u16), proptest::option::of(0..20_000u16), proptest::option::of(0..3u8), 0..3u8, proptest::option::of(0..3u8))
            .prop_map(|(queue, priority, eta, expires, key, retries, concurrency_key)| Op::Submit { queue, priority, eta, expires, key, retries, concurrency_key }),
        3 => (0..3u8, 1..4u8).prop_map(|(queue, max)| Op::Lease { queue, max }),
        2 => (any::<u8>(), 0..4u8).prop_map(|(task, delivery)| Op::Ack { task, delivery }),
        2 => (any::<u8>(), 0..4u8, any::<bool>()).prop_map(|(task, delivery, retry)| Op::Fail { task, delivery, retry }),
        1 => (any::<u8>(), 0..4u8).prop_map(|(task, delivery)| Op::Extend { task, delivery }),
        1 => (any::<u8>(), 0..4u8).prop_map(|(task, delivery)| Op::Release { task, delivery }),
        1 => any::<u8>().prop_map(|task| Op::Revoke { task }),
        1 => (0..3u8, any::<bool>()).prop_map(|(queue, paused)| Op::Pause { queue, paused }),
        1 => (0..3u8).prop_map(|queue| Op::Purge { queue }),
        1 => Just(Op::RetryDead),
        1 => Just(Op::PurgeDead),
        3 => (0..40_000u16).prop_map(|ms| Op::Wait { ms }),
        1 => (1..4u8, 0..6u8).prop_map(|(node, term)| Op::Elected { node, term }),
        1 => (1..4u8, any::<bool>()).prop_map(|(node, reachable)| Op::Reachable { node, reachable }),
        1 => (0..3u8, proptest::option::of(1..4u8)).prop_map(|(queue, count)| Op::Limit { queue, count }),
        1 => (0..3u8, any::<bool>(), 0..6u8).prop_map(|(queue, bytes, value)| Op::Cap { queue, bytes, value }),
        1 => (0..2u8, proptest::option::of(1..20u8)).prop_map(|(name, every_s)| Op::Schedule { name, every_s }),
        1 => (0..4u8, proptest::option::of(0..2u8)).prop_map(|(kind, key)| Op::Flow { kind, key }),
    ]
}

/// The concurrency limit of key `c{k}` in random histories.
fn key_limit(k: u8) -> u32 {
    u32::from(k % 2) + 1
}

/// Turns a history into (stamp, command) pairs; ids come from a counter so both replicas and
/// every run see the same ones.
fn commands(ops: &[Op]) -> Vec<(u64, Command)> {
    let mut ids: Vec<TaskId> = Vec::new();
    let mut now = T0;
    let queue = |q: u8| format!("q{q}");
    let pick = |ids: &Vec<TaskId>, i: u8| ids.get(i as usize % ids.len().max(1)).copied();
    // The worker every lease names is registered, so answers also feed its counters.
    let mut out = vec![(
        now,
        Command::RegisterWorker(crate::queue::worker::WorkerRegistration {
            id: "w".into(),
            node: "n1".into(),
            kind: crate::queue::worker::WorkerKind::Embedded,
            queues: vec!["q0".into()],
            names: Vec::new(),
            concurrency: 4,
        }),
    )];
    for op in ops {
        let command = match op.clone() {
            Op::Submit {
                queue: q,
                priority,
                eta,
                expires,
                key,
                retries,
                concurrency_key,
            } => {
                let id = TaskId::from_bytes((ids.len() as u128 + 1).to_be_bytes());
                ids.push(id);
                let mut options = options();
                options.retry.max_retries = u32::from(retries);
                options.delivery_limit = 3;
                options.concurrency = concurrency_key.map(|k| ConcurrencyLimit {
                    key: format!("c{k}"),
                    max: key_limit(k),
                });
                Command::Submit(SubmitTask {
                    id,
                    name: "t".into(),
                    queue: queue(q),
                    args: vec![q],
                    headers: BTreeMap::new(),
                    priority,
                    options,
                    eta_ms: eta.map(|e| now + u64::from(e)),
                    countdown_ms: None,
                    expires_in_ms: expires.map(u64::from),
                    idempotency_key: key.map(|k| format!("k{k}")),
                    dedup_window_ms: 30_000,
                    flow: None,
                })
            }
            Op::Lease { queue: q, max } => Command::Lease(LeaseRequest {
                worker: "w".into(),
                queues: vec![queue(q), queue((q + 1) % 3)],
                names: vec![],
                max: u32::from(max),
                lease_ms: 10_000,
            }),
            Op::Ack { task, delivery } => match pick(&ids, task) {
                Some(id) => Command::Ack {
                    id,
                    delivery: u32::from(delivery),
                    result: vec![delivery],
                },
                None => Command::Tick,
            },
            Op::Fail {
                task,
                delivery,
                retry,
            } => match pick(&ids, task) {
                Some(id) => Command::Fail {
                    id,
                    delivery: u32::from(delivery),
                    error: "e".into(),
                    retry,
                    retry_in_ms: None,
                },
                None => Command::Tick,
            },
            Op::Extend { task, delivery } => match pick(&ids, task) {
                Some(id) => Command::Extend {
                    id,
                    delivery: u32::from(delivery),
                    lease_ms: 5_000,
                },
                None => Command::Tick,
            },
            Op::Release { task, delivery } => match pick(&ids, task) {
                Some(id) => Command::Release {
                    id,
                    delivery: u32::from(delivery),
                },
                None => Command::Tick,
            },
            Op::Revoke { task } => match pick(&ids, task) {
                Some(id) => Command::Revoke { id },
                None => Command::Tick,
            },
            Op::Pause {
                queue: q,
                paused: true,
            } => Command::PauseQueue { queue: queue(q) },
            Op::Pause {
                queue: q,
                paused: false,
            } => Command::ResumeQueue { queue: queue(q) },
            Op::Purge { queue: q } => Command::PurgeQueue { queue: queue(q) },
            Op::RetryDead => Command::RetryDead {
                selector: DeadSelector::All,
            },
            Op::PurgeDead => Command::PurgeDead {
                selector: DeadSelector::Queue("q1".into()),
            },
            Op::Wait { ms } => {
                now += u64::from(ms);
                Command::Tick
            }
            Op::Elected { node, term } => Command::Observe(Observation::LeaderElected {
                node: node.into(),
                term: term.into(),
                election_ms: 300,
            }),
            Op::Reachable { node, reachable } => Command::Observe(Observation::Reachability {
                node: node.into(),
                reachable,
            }),
            Op::Limit { queue: q, count } => {
                let scope = LimitScope::Queue(queue(q));
                match count {
                    Some(count) => Command::SetLimit {
                        scope,
                        rate: Rate {
                            count: count.into(),
                            per_ms: 2_000,
                        },
                    },
                    None => Command::RemoveLimit { scope },
                }
            }
            Op::Cap {
                queue: q,
                bytes,
                value,
            } => Command::SetQueueCap {
                queue: queue(q),
                cap: if bytes {
                    CapKind::MaxBytes
                } else {
                    CapKind::MaxLength
                },
                value: value.into(),
            },
            Op::Flow { kind, key } => {
                let members = || (0..3u8).map(|q| flows::step("t", &queue(q), b"")).collect();
                let spec = match kind {
                    0 => crate::queue::flow::FlowSpec::Chain(members()),
                    1 => crate::queue::flow::FlowSpec::Group(members()),
                    k => crate::queue::flow::FlowSpec::Chord {
                        members: members(),
                        callback: Box::new(flows::step("cb", "q0", b"")),
                        on_failure: if k == 2 {
                            crate::queue::flow::OnMemberFailure::FailChord
                        } else {
                            crate::queue::flow::OnMemberFailure::RunCallback
                        },
                    },
                };
                // Ids far from the tasks' small counter values, one per submit.
                let id = (u128::from(out.len() as u32) + 1) << 80;
                flows::flow_command(id, spec, key.map(|k| format!("f{k}")).as_deref())
            }
            Op::Schedule { name, every_s } => match every_s {
                Some(s) => Command::AddSchedule {
                    spec: Box::new(schedules::spec(
                        &format!("s{name}"),
                        schedules::every(u64::from(s) * 1_000),
                        crate::queue::schedule::Misfire::CatchUp { limit: 2 },
                        3_000,
                    )),
                    seed: u128::from(name),
                },
                None => Command::RemoveSchedule {
                    name: format!("s{name}"),
                },
            },
        };
        out.push((now, command));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Two replicas applying the same log end identical, outcome for outcome, whether they keep
    /// task bodies in memory or read them back from storage; and a replica rebuilt from the
    /// records alone (a restart) has exactly the same indexes.
    #[test]
    fn same_log_same_state_and_restore_rebuilds_the_indexes(ops in proptest::collection::vec(op(), 1..120)) {
        let log = commands(&ops);
        let mut a = QueueState::default();
        // Its task bodies on a disk, as a node keeps them.
        let (mut b, disk) = disk::Disk::state();
        for (stamp, command) in &log {
            let from_a = a.apply_batch(*stamp, [command.clone()]);
            let from_b = b.apply_batch(*stamp, [command.clone()]);
            prop_assert_eq!(from_a, from_b);
            disk.write(&mut b);
        }
        prop_assert!(a.same_as(&b));
        prop_assert_eq!(b.bodies_in_memory(), (0, 0));
        let restored = QueueState::restore(a.meta().clone(), a.stored());
        prop_assert!(restored.same_as(&a), "restore differs from the live state");
        let restored = QueueState::restore_over(b.meta().clone(), b.stored(), disk.clone());
        prop_assert!(restored.same_as(&a), "restore over the disk differs from the live state");
        prop_assert_eq!(restored.bodies_in_memory(), (0, 0));
        for k in 0..3 {
            let running = a.running_with_key(&format!("c{k}"));
            prop_assert!(running <= key_limit(k), "key c{} runs {} tasks", k, running);
        }
        // Whatever happened, no task is both leasable and not pending.
        for queue in ["q0", "q1", "q2"] {
            for id in a.ready_order(queue) {
                prop_assert_eq!(a.task(&id).map(|t| t.state), Some(TaskState::Pending));
            }
        }
    }
}

mod caps;
mod disk;
mod flows;
mod keys;
mod limits;
mod schedules;
mod timeline;
mod turns;
mod workers;

#[test]
fn finishes_are_numbered_in_order_and_a_restored_replica_resumes_the_numbering() {
    let mut state = new_state();
    let ids: Vec<TaskId> = (0..3)
        .map(|_| submitted(state.apply(submit("t", "q", 0))))
        .collect();
    let handed = leased(state.apply(lease(&["q"], 3)));
    let ack = |id: TaskId| {
        let delivery = handed.iter().find(|(leased, _)| *leased == id).expect("leased").1;
        Command::Ack {
            id,
            delivery,
            result: Vec::new(),
        }
    };
    // Finished out of submit order: the numbering follows the finishes.
    state.apply(ack(ids[2]));
    state.apply(ack(ids[0]));
    let order: Vec<(TaskId, Option<u64>)> = state
        .finished_after(0, 10)
        .iter()
        .map(|t| (t.id, t.finish_seq))
        .collect();
    assert_eq!(order, vec![(ids[2], Some(1)), (ids[0], Some(2))]);
    assert_eq!(
        state.finished_after(1, 10).len(),
        1,
        "a stream resumes after the last seen"
    );
    assert_eq!(state.last_finish_seq(), 2);

    tracing::info!("--- a replica restored from the records numbers the next finish the same");
    let mut restored = QueueState::restore(state.meta().clone(), state.stored().collect::<Vec<_>>());
    assert_eq!(restored.finished_after(0, 10).len(), 2);
    restored.apply(ack(ids[1]));
    state.apply(ack(ids[1]));
    assert_eq!(restored.task(&ids[1]).and_then(|t| t.finish_seq), Some(3));
    assert_eq!(state.task(&ids[1]).and_then(|t| t.finish_seq), Some(3));

    tracing::info!("--- a dead letter retried leaves the order, and finishes again under a new number");
    let dead = submitted(state.apply(submit("t", "d", 0)));
    let (_, delivery) = leased(state.apply(lease(&["d"], 1)))[0];
    state.apply(Command::Fail {
        id: dead,
        delivery,
        error: "no".into(),
        retry: false,
        retry_in_ms: None,
    });
    assert_eq!(state.task(&dead).and_then(|t| t.finish_seq), Some(4));
    state.apply(Command::RetryDead {
        selector: DeadSelector::Task(dead),
    });
    assert_eq!(state.task(&dead).and_then(|t| t.finish_seq), None);
    assert!(state.finished_after(3, 10).is_empty());
}
