//! Hand-made histories, each showing that one check can fail and that a clean run passes.

use super::*;
use crate::history::{Millis, Timing};

mod cluster;
mod flows;
mod timing;

fn invoke(t: Millis, key: &str) -> Entry {
    Entry::Invoke {
        t,
        process: 0,
        key: key.into(),
        node: "n1".into(),
        timing: Timing::Now,
    }
}

pub(super) fn ok(t: Millis, key: &str, task_id: &str) -> Entry {
    Entry::Ok {
        t,
        process: 0,
        key: key.into(),
        task_id: task_id.into(),
    }
}

fn fail(t: Millis, key: &str) -> Entry {
    Entry::Fail {
        t,
        process: 0,
        key: key.into(),
        error: "invalid argument".into(),
    }
}

fn unknown(t: Millis, key: &str) -> Entry {
    Entry::Unknown {
        t,
        process: 0,
        key: key.into(),
        error: "deadline exceeded".into(),
    }
}

pub(super) fn executed(t: Millis, task_id: &str, worker: &str, attempt: u32) -> Entry {
    Entry::Executed {
        t,
        task_id: task_id.into(),
        worker: worker.into(),
        attempt,
    }
}

fn acked(t: Millis, task_id: &str, worker: &str, delivery: u32, accepted: bool) -> Entry {
    Entry::Acked {
        t,
        task_id: task_id.into(),
        worker: worker.into(),
        delivery,
        accepted,
    }
}

pub(super) fn final_task(task_id: &str, key: &str, state: &str, attempts: u32) -> Entry {
    Entry::Final {
        task_id: task_id.into(),
        key: key.into(),
        state: state.into(),
        attempts,
    }
}

fn leader_loss(t: Millis) -> Entry {
    Entry::Fault {
        t,
        nemesis: "kill-leader".into(),
        detail: "kill -9 n1".into(),
        leader_loss: true,
    }
}

fn drained(healthy: bool) -> Entry {
    Entry::Drained {
        t: 90_000,
        healthy,
        detail: if healthy { "ok" } else { "n3 behind by 12" }.into(),
    }
}

/// Two acknowledged tasks run once and finished, one refused submit, one leader, drained.
pub(super) fn clean() -> Vec<Entry> {
    vec![
        Entry::Leader {
            t: 10,
            node: 1,
            term: 1,
        },
        invoke(100, "k1"),
        ok(120, "k1", "t1"),
        invoke(130, "k2"),
        ok(150, "k2", "t2"),
        invoke(160, "k3"),
        fail(170, "k3"),
        executed(200, "t1", "remote-1", 1),
        acked(210, "t1", "remote-1", 1, true),
        executed(220, "t2", "n2", 1),
        final_task("t1", "k1", "SUCCESS", 1),
        final_task("t2", "k2", "SUCCESS", 1),
        drained(true),
    ]
}

pub(super) fn with(mut entries: Vec<Entry>, more: impl IntoIterator<Item = Entry>) -> Vec<Entry> {
    entries.extend(more);
    entries
}

pub(super) fn must_mention(verdict: &Verdict, needle: &str) {
    assert!(
        verdict.violations.iter().any(|line| line.contains(needle)),
        "no violation mentions {needle:?}: {:#?}",
        verdict.violations
    );
}

#[test]
fn a_clean_history_passes_with_its_counts() {
    let verdict = check(&clean());
    assert!(verdict.ok(), "{:#?}", verdict.violations);
    assert_eq!(
        (
            verdict.operations,
            verdict.acknowledged,
            verdict.failed,
            verdict.unknown,
            verdict.executions
        ),
        (3, 2, 1, 0, 2)
    );
    assert!(verdict.lost.is_empty() && verdict.unexpected.is_empty() && verdict.recovered.is_empty());
    assert_eq!(verdict.duplicated.total(), 0);
    assert_eq!(
        verdict.drain,
        Drain::Healthy {
            t: 90_000,
            detail: "ok".into()
        }
    );
}

/// The test: the checker can fail, and says why for each kind.
#[test]
fn a_lost_a_duplicated_and_an_unexpected_task_are_each_reported() {
    let history = with(
        clean(),
        [
            invoke(300, "k4"),
            ok(320, "k4", "t4"),
            executed(400, "t1", "remote-2", 1),
            final_task("t9", "stranger", "SUCCESS", 1),
        ],
    );
    let verdict = check(&history);
    assert!(!verdict.ok());
    assert_eq!(verdict.lost.count, 1);
    assert_eq!(verdict.lost.first[0].final_state, None);
    assert_eq!(verdict.unexpected.count, 1);
    assert_eq!(verdict.duplicated.unexplained.count, 1);
    assert_eq!(
        verdict.duplicated.unexplained.first[0].workers,
        ["remote-1", "remote-2"]
    );
    must_mention(
        &verdict,
        "lost: key k4 (task t4) acknowledged at 320 ms, final state missing",
    );
    must_mention(&verdict, "unexpected: task t9 with key stranger");
    must_mention(&verdict, "duplicated: task t1 executed 2 times");
    assert_eq!(verdict.violations.len(), 3, "{:#?}", verdict.violations);
}

#[test]
fn an_acknowledged_task_in_another_state_is_lost_with_that_state() {
    let mut history = clean();
    history[11] = final_task("t2", "k2", "FAILURE", 1);
    let verdict = check(&history);
    assert_eq!(verdict.lost.first[0].final_state.as_deref(), Some("FAILURE"));
    must_mention(
        &verdict,
        "lost: key k2 (task t2) acknowledged at 150 ms, final state FAILURE",
    );
}

#[test]
fn a_task_executed_but_never_submitted_is_unexpected() {
    let verdict = check(&with(clean(), [executed(500, "t77", "remote-1", 1)]));
    assert_eq!(
        verdict.unexpected.first,
        [Unexpected::Executed {
            task_id: "t77".into()
        }]
    );
    must_mention(&verdict, "unexpected: task t77 was executed");
}

#[test]
fn an_unknown_submit_that_arrived_is_recovered_and_not_a_violation() {
    let history = with(
        clean(),
        [
            invoke(300, "k5"),
            unknown(900, "k5"),
            invoke(310, "k6"),
            unknown(910, "k6"),
            invoke(320, "k7"),
            final_task("t5", "k5", "SUCCESS", 1),
        ],
    );
    let verdict = check(&history);
    assert!(verdict.ok(), "{:#?}", verdict.violations);
    // k6 never arrived and k7 was still in flight: both unknown, neither recovered.
    assert_eq!(verdict.unknown, 3);
    assert_eq!(verdict.recovered.count, 1);
    assert_eq!(verdict.recovered.first[0].task_id, "t5");
}

#[test]
fn an_unknown_submit_that_arrived_but_never_finished_is_a_violation() {
    let history = with(
        clean(),
        [
            invoke(300, "k5"),
            unknown(900, "k5"),
            final_task("t5", "k5", "PENDING", 0),
        ],
    );
    let verdict = check(&history);
    assert_eq!(verdict.recovered.count, 1);
    assert_eq!(verdict.unfinished.count, 1);
    must_mention(&verdict, "unfinished: key k5 (task t5)");
}

#[test]
fn a_refused_submit_that_was_applied_is_a_violation() {
    let verdict = check(&with(clean(), [final_task("t3", "k3", "PENDING", 0)]));
    assert_eq!(verdict.failed_but_applied.count, 1);
    must_mention(
        &verdict,
        "failed but applied: every submit of key k3 failed, yet task t3",
    );
}

#[test]
fn one_key_acknowledged_as_two_tasks_is_a_violation() {
    let history = with(
        clean(),
        [
            invoke(300, "k1"),
            ok(320, "k1", "t1-bis"),
            final_task("t1-bis", "k1", "SUCCESS", 1),
        ],
    );
    let verdict = check(&history);
    assert_eq!(verdict.key_conflicts.first[0].task_ids, ["t1", "t1-bis"]);
    must_mention(&verdict, "idempotency: key k1 maps to tasks t1, t1-bis");
}

#[test]
fn a_duplicate_handed_out_again_is_explained_and_counted() {
    let mut history = clean();
    history[10] = final_task("t1", "k1", "SUCCESS", 2);
    history.push(executed(31_000, "t1", "remote-2", 2));
    let verdict = check(&history);
    assert!(verdict.ok(), "{:#?}", verdict.violations);
    assert_eq!(
        (
            verdict.duplicated.explained.count,
            verdict.duplicated.unexplained.count
        ),
        (1, 0)
    );
    assert_eq!(verdict.duplicated.explained.first[0].attempts_seen, [1, 2]);
}

#[test]
fn two_executions_of_one_hand_out_are_unexplained_even_with_attempts_to_spare() {
    let mut history = clean();
    history[10] = final_task("t1", "k1", "SUCCESS", 2);
    history.push(executed(400, "t1", "remote-2", 1));
    let verdict = check(&history);
    assert_eq!(verdict.duplicated.unexplained.count, 1);
    must_mention(&verdict, "attempts [1, 1]) but handed out 2 times");
}

#[test]
fn findings_are_capped_but_counted_in_full() {
    let lost = (0..KEPT_PER_KIND + 5).flat_map(|i| {
        [
            invoke(1, &format!("x{i}")),
            ok(2, &format!("x{i}"), &format!("y{i}")),
        ]
    });
    let verdict = check(&with(clean(), lost));
    assert_eq!(
        (verdict.lost.count, verdict.lost.first.len()),
        (KEPT_PER_KIND + 5, KEPT_PER_KIND)
    );
    assert_eq!(verdict.violations.len(), KEPT_PER_KIND + 1);
    must_mention(&verdict, "lost: and 5 more");
}

/// Only the order of one task's executions is kept (it names the workers in turn); nothing else
/// about the order of entries may change the verdict.
#[test]
fn the_verdict_does_not_depend_on_the_order_of_entries() {
    let history = with(
        clean(),
        [
            final_task("t9", "stranger", "SUCCESS", 1),
            final_task("t8", "other", "PENDING", 0),
        ],
    );
    let mut reordered = history.clone();
    reordered.reverse();
    assert_eq!(check(&history), check(&reordered));
}

#[test]
fn replicas_that_differ_after_the_drain_are_a_violation() {
    let same = with(
        clean(),
        [Entry::Converged {
            t: 95_000,
            same: true,
            detail: "every replica holds the same state".into(),
        }],
    );
    assert!(check(&same).ok(), "{:?}", check(&same).violations);
    let differ = with(
        clean(),
        [Entry::Converged {
            t: 95_000,
            same: false,
            detail: "at applied index 812, node 3 holds what another does not: task t1 state=5".into(),
        }],
    );
    let verdict = check(&differ);
    assert!(!verdict.ok());
    must_mention(&verdict, "convergence: the replicas differ after the drain");
}

#[test]
fn a_problem_a_nemesis_saw_fails_the_run() {
    let seen = with(
        clean(),
        [Entry::Problem {
            t: 40_000,
            detail: "disk: n2's disk was full, but did not exit non-zero (None)".into(),
        }],
    );
    let verdict = check(&seen);
    assert!(!verdict.ok());
    must_mention(&verdict, "n2's disk was full, but did not exit non-zero");
}
