//! Hand-made histories for the cluster checks: leaders per term, acks, failover, drain, panics.

use super::*;

#[test]
fn two_leaders_in_one_term_are_flagged() {
    let history = with(
        clean(),
        [
            Entry::Leader {
                t: 500,
                node: 3,
                term: 7,
            },
            Entry::Leader {
                t: 600,
                node: 1,
                term: 7,
            },
            Entry::Leader {
                t: 700,
                node: 1,
                term: 7,
            },
            Entry::Leader {
                t: 800,
                node: 2,
                term: 8,
            },
        ],
    );
    let verdict = check(&history);
    assert_eq!(
        verdict.split_terms.first,
        [SplitTerm {
            term: 7,
            nodes: vec![1, 3]
        }]
    );
    must_mention(&verdict, "term 7: n1 and n3 both led");
    assert_eq!(verdict.violations.len(), 1);
}

#[test]
fn two_accepted_acks_for_one_task_are_flagged() {
    let verdict = check(&with(clean(), [acked(40_000, "t1", "remote-2", 2, true)]));
    assert_eq!(
        verdict.ack_conflicts.first[0].problem,
        AckProblem::SeveralAccepted
    );
    must_mention(&verdict, "stale ack: task t1 had 2 acks accepted");
}

#[test]
fn an_accepted_ack_older_than_a_delivery_already_seen_is_flagged() {
    let history = vec![
        acked(500, "t1", "remote-2", 2, false),
        acked(900, "t1", "remote-1", 1, true),
        // Same millisecond: not known to come after, so not compared.
        acked(50, "t2", "remote-2", 2, false),
        acked(50, "t2", "remote-1", 1, true),
    ];
    let conflicts = check(&history).ack_conflicts;
    assert_eq!(conflicts.count, 1);
    assert_eq!(conflicts.first[0].problem, AckProblem::StaleDelivery);
    assert_eq!(
        conflicts.first[0]
            .acks
            .iter()
            .map(|ack| ack.delivery)
            .collect::<Vec<_>>(),
        [2, 1]
    );
}

#[test]
fn failover_is_timed_from_each_leader_loss_to_the_next_acknowledgement() {
    let history = with(
        clean(),
        [
            invoke(990, "k1"),
            leader_loss(1_000),
            // Sent before the fault: its answer says nothing about the new leader.
            ok(1_010, "k1", "t1"),
            invoke(1_020, "k1"),
            ok(2_100, "k1", "t1"),
            invoke(2_200, "k1"),
            ok(2_500, "k1", "t1"),
            leader_loss(5_000),
            invoke(5_000, "k1"),
            ok(5_800, "k1", "t1"),
            Entry::Fault {
                t: 6_000,
                nemesis: "pause".into(),
                detail: "follower".into(),
                leader_loss: false,
            },
        ],
    );
    let verdict = check(&history);
    let took: Vec<Option<u64>> = verdict
        .failovers
        .iter()
        .map(|failover| failover.took_ms)
        .collect();
    assert_eq!(took, [Some(1_100), Some(800)]);
    assert_eq!(
        verdict.failover_stats,
        Some(FailoverStats {
            count: 2,
            min_ms: 800,
            median_ms: 800,
            p99_ms: 1_100,
            max_ms: 1_100
        })
    );
}

#[test]
fn an_answer_and_the_next_invoke_in_one_millisecond_stay_apart() {
    // k1 was sent before the fault and answered at 1_500, the very millisecond k2 was sent:
    // k1's answer says nothing of the new leader; k2's, at 2_300, does.
    let history = with(
        clean(),
        [
            invoke(900, "k1"),
            leader_loss(1_000),
            ok(1_500, "k1", "t1"),
            invoke(1_500, "k2"),
            ok(2_300, "k2", "t2"),
        ],
    );
    let took: Vec<Option<u64>> = check(&history).failovers.iter().map(|f| f.took_ms).collect();
    assert_eq!(took, [Some(1_300)]);
}

#[test]
fn failover_percentiles_are_nearest_rank() {
    let one = FailoverStats::of(&[700]);
    assert_eq!(
        one,
        Some(FailoverStats {
            count: 1,
            min_ms: 700,
            median_ms: 700,
            p99_ms: 700,
            max_ms: 700
        })
    );
    let hundred: Vec<u64> = (1..=100).rev().collect();
    let stats = FailoverStats::of(&hundred);
    assert_eq!(
        stats.map(|s| (s.min_ms, s.median_ms, s.p99_ms, s.max_ms)),
        Some((1, 50, 99, 100))
    );
    assert_eq!(FailoverStats::of(&[]), None);
}

#[test]
fn a_failover_that_never_came_is_a_violation_only_after_a_heal() {
    let unhealed = check(&with(clean(), [leader_loss(1_000)]));
    assert!(unhealed.ok(), "{:#?}", unhealed.violations);
    assert_eq!(unhealed.failovers[0].took_ms, None);
    assert_eq!(unhealed.failover_stats, None);

    let healed = check(&with(clean(), [leader_loss(1_000), Entry::Heal { t: 3_000 }]));
    must_mention(
        &healed,
        "failover: leader lost at 1000 ms (kill-leader: kill -9 n1)",
    );
    must_mention(&healed, "not even after the heal at 3000 ms");
}

#[test]
fn a_run_not_drained_is_a_violation() {
    let mut history = clean();
    history.pop();
    must_mention(
        &check(&history),
        "drain: the history never recorded the cluster drained",
    );
    history.push(drained(false));
    must_mention(&check(&history), "n3 behind by 12");
}

#[test]
fn every_panic_is_a_violation() {
    let panic = |node| Entry::Panic {
        node,
        line: "thread 'main' panicked at src/raft.rs:1".into(),
    };
    let verdict = check(&with(clean(), [panic(2), panic(3)]));
    assert_eq!(verdict.panics.count, 2);
    must_mention(&verdict, "panic: n3: thread 'main' panicked");
}
