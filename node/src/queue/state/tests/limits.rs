//! Rate limits and per-key concurrency limits.

use super::*;
use crate::queue::limit::{LimitScope, Rate};
use crate::queue::task::ConcurrencyLimit;

fn limit(scope: &str, rate: &str) -> Command {
    Command::SetLimit {
        scope: scope.parse().expect("scope"),
        rate: rate.parse().expect("rate"),
    }
}

fn keyed(key: &str, max: u32) -> Command {
    submit_with("t", "q", 0, |s| {
        s.options.concurrency = Some(ConcurrencyLimit { key: key.into(), max })
    })
}

#[test]
fn a_queue_rate_limit_lets_count_tasks_start_per_window() {
    let mut state = new_state();
    assert_eq!(state.apply(limit("queue:q", "3/s")), Outcome::Done);
    for _ in 0..10 {
        state.apply(submit("t", "q", 0));
    }
    assert_eq!(leased(state.apply(lease(&["q"], 10))).len(), 3);
    at(&mut state, 500);
    assert!(
        !state.has_ready(&["q".into()], &[]),
        "a worker must not ask while the window is full"
    );
    assert!(leased(state.apply(lease(&["q"], 10))).is_empty());
    assert_eq!(
        state.next_due_ms(),
        Some(T0 + 1_000),
        "a tick is due when the window frees"
    );
    at(&mut state, 1_000);
    assert!(state.has_ready(&["q".into()], &[]));
    assert_eq!(leased(state.apply(lease(&["q"], 10))).len(), 3);
}

#[test]
fn a_task_rate_limit_counts_its_name_across_queues_only() {
    let mut state = new_state();
    state.apply(limit("task:slow", "2/10s"));
    for queue in ["q1", "q2"] {
        state.apply(submit("slow", queue, 0));
        state.apply(submit("slow", queue, 0));
        state.apply(submit("fast", queue, 0));
    }
    let got = leased(state.apply(lease(&["q1", "q2"], 10)));
    let names: Vec<String> = got
        .iter()
        .map(|(id, _)| state.task(id).expect("task").name.clone())
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "slow").count(), 2);
    assert_eq!(names.iter().filter(|n| *n == "fast").count(), 2);
    at(&mut state, 9_999);
    assert!(leased(state.apply(lease(&["q1", "q2"], 10))).is_empty());
    at(&mut state, 10_000);
    assert_eq!(leased(state.apply(lease(&["q1", "q2"], 10))).len(), 2);
}

#[test]
fn a_concurrency_key_never_runs_more_than_its_limit() {
    let mut state = new_state();
    for _ in 0..3 {
        state.apply(keyed("customer-1", 2));
    }
    state.apply(keyed("customer-2", 2));
    let first = leased(state.apply(lease(&["q"], 10)));
    assert_eq!(first.len(), 3, "two of customer-1 and the one of customer-2");
    assert_eq!(state.running_with_key("customer-1"), 2);
    assert!(leased(state.apply(lease(&["q"], 10))).is_empty());
    let (id, delivery) = first[0];
    state.apply(Command::Ack {
        id,
        delivery,
        result: vec![],
    });
    assert_eq!(leased(state.apply(lease(&["q"], 10))).len(), 1);
    assert_eq!(state.running_with_key("customer-1"), 2);
}

#[test]
fn a_revoked_task_holds_its_key_until_its_lease_ends() {
    let mut state = new_state();
    let running = submitted(state.apply(keyed("k", 1)));
    state.apply(keyed("k", 1));
    assert_eq!(leased(state.apply(lease(&["q"], 10))).len(), 1);
    state.apply(Command::Revoke { id: running });
    assert!(
        leased(state.apply(lease(&["q"], 10))).is_empty(),
        "the revoked attempt may still be running"
    );
    at(&mut state, 30_000);
    assert_eq!(state.running_with_key("k"), 0, "the lease ran out");
    assert_eq!(leased(state.apply(lease(&["q"], 10))).len(), 1);
}

#[test]
fn limits_can_be_changed_and_removed() {
    let mut state = new_state();
    state.apply(limit("queue:q", "1/s"));
    for _ in 0..5 {
        state.apply(submit("t", "q", 0));
    }
    assert_eq!(leased(state.apply(lease(&["q"], 10))).len(), 1);
    state.apply(limit("queue:q", "3/s"));
    assert_eq!(
        leased(state.apply(lease(&["q"], 10))).len(),
        2,
        "the start already counted stays counted"
    );
    let scope = LimitScope::Queue("q".into());
    assert_eq!(
        state.apply(Command::RemoveLimit { scope: scope.clone() }),
        Outcome::Count(1)
    );
    assert_eq!(
        state.apply(Command::RemoveLimit { scope: scope.clone() }),
        Outcome::Count(0)
    );
    assert_eq!(leased(state.apply(lease(&["q"], 10))).len(), 2);
    assert_eq!(state.take_changes().limits(), vec![scope]);
    let invalid = state.apply(Command::SetLimit {
        scope: LimitScope::Task("t".into()),
        rate: Rate {
            count: 0,
            per_ms: 1_000,
        },
    });
    assert!(matches!(invalid, Outcome::Rejected(Rejection::Invalid(_))));
}
