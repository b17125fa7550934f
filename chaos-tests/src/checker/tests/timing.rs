//! Hand-made histories for the timing checks: countdowns, expiries and the limited queue.

use super::*;

fn timed_invoke(t: Millis, key: &str, timing: Timing) -> Entry {
    Entry::Invoke {
        t,
        process: 9,
        key: key.into(),
        node: "n1".into(),
        timing,
    }
}

fn seen_expired(t: Millis, task_id: &str) -> Entry {
    Entry::SeenExpired {
        t,
        task_id: task_id.into(),
    }
}

const COUNTDOWN: Timing = Timing::Countdown { countdown_ms: 3_000 };
const EXPIRING: Timing = Timing::Expiring { expires_in_ms: 4_000 };

/// A countdown that ran on time, an expiry seen on time, a limited task run at once.
fn timed() -> Vec<Entry> {
    with(
        clean(),
        [
            timed_invoke(1_000, "c1", COUNTDOWN),
            ok(1_010, "c1", "tc1"),
            executed(4_100, "tc1", "n1", 1),
            final_task("tc1", "c1", "SUCCESS", 1),
            timed_invoke(1_000, "e1", EXPIRING),
            ok(1_010, "e1", "te1"),
            seen_expired(5_200, "te1"),
            final_task("te1", "e1", "EXPIRED", 0),
            timed_invoke(1_000, "l1", Timing::Limited),
            ok(1_010, "l1", "tl1"),
            executed(1_300, "tl1", "n2", 1),
            final_task("tl1", "l1", "SUCCESS", 1),
        ],
    )
}

#[test]
fn tasks_kept_to_their_times_pass_and_are_counted() {
    let verdict = check(&timed());
    assert!(verdict.ok(), "{:#?}", verdict.violations);
    assert_eq!(verdict.timing.countdowns_run, 1);
    assert_eq!(verdict.timing.expiries_seen, 1);
    assert_eq!(verdict.timing.limited_run, 1);
    assert_eq!(verdict.timing.longest_stall_ms, 290);
}

#[test]
fn a_countdown_that_ran_early_is_a_violation_but_one_inside_the_tolerance_is_not() {
    let mut history = timed();
    history.retain(|entry| !matches!(entry, Entry::Executed { task_id, .. } if task_id == "tc1"));
    // Sent at 1 000 with 3 000 to wait: 3 500 is 500 ms early (allowed), 2 500 is 1 500 ms early.
    let inside = check(&with(history.clone(), [executed(3_500, "tc1", "n1", 1)]));
    assert!(inside.ok(), "{:#?}", inside.violations);
    let verdict = check(&with(history, [executed(2_500, "tc1", "n1", 1)]));
    assert_eq!(verdict.timing.early_runs.count, 1);
    must_mention(
        &verdict,
        "task tc1 (key c1) ran 1500 ms after it was sent, 1500 ms before",
    );
}

#[test]
fn a_task_seen_expired_before_its_expiry_is_a_violation() {
    let verdict = check(&with(timed(), [seen_expired(2_000, "te1")]));
    assert_eq!(verdict.timing.early_expiries.count, 1);
    must_mention(&verdict, "task te1 (key e1) expired 1000 ms after it was sent");
}

#[test]
fn an_expiring_task_must_end_expired_and_a_timed_one_successful() {
    let mut history = timed();
    history.retain(|entry| !matches!(entry, Entry::Final { .. }));
    history.extend([
        final_task("t1", "k1", "SUCCESS", 1),
        final_task("t2", "k2", "SUCCESS", 1),
        final_task("tc1", "c1", "SUCCESS", 1),
        final_task("te1", "e1", "SCHEDULED", 0),
        final_task("tl1", "l1", "EXPIRED", 1),
    ]);
    let verdict = check(&history);
    assert_eq!(verdict.lost.count, 2);
    must_mention(
        &verdict,
        "key e1 (task te1) acknowledged at 1010 ms, final state SCHEDULED",
    );
    must_mention(
        &verdict,
        "key l1 (task tl1) acknowledged at 1010 ms, final state EXPIRED",
    );
}

#[test]
fn the_limited_queue_standing_still_while_a_task_waits_is_a_stall() {
    let history = with(
        timed(),
        [
            timed_invoke(2_000, "l2", Timing::Limited),
            ok(2_020, "l2", "tl2"),
            timed_invoke(2_100, "l3", Timing::Limited),
            ok(2_120, "l3", "tl3"),
            // l2 runs after 10 s; l3 waits on through a 20 s stall.
            executed(12_000, "tl2", "n1", 1),
            executed(32_500, "tl3", "n3", 1),
            final_task("tl2", "l2", "SUCCESS", 1),
            final_task("tl3", "l3", "SUCCESS", 1),
        ],
    );
    let verdict = check(&history);
    assert_eq!(verdict.timing.longest_stall_ms, 20_500);
    assert_eq!(
        verdict.timing.stalls.first,
        [Stall {
            task_id: "tl3".into(),
            from: 12_000,
            to: 32_500
        }]
    );
    must_mention(
        &verdict,
        "the limited queue ran nothing from 12000 to 32500 ms while task tl3 waited",
    );
    assert_eq!(verdict.violations.len(), 1, "{:#?}", verdict.violations);
}
