//! Hand-made histories of flows and the schedule: a clean one passes, and a lost flow, a wrong
//! chord result, a part enqueued twice, an unexpected flow, a missed and a doubled due time are
//! each reported.

use super::*;
use crate::history::{FinalPart, StepOwner};
use crate::workload::flows::part_args;

fn part(task_id: &str) -> FinalPart {
    FinalPart {
        task_id: Some(task_id.into()),
        state: "SUCCESS".into(),
    }
}

fn step(task_id: &str, owner: StepOwner) -> Entry {
    Entry::FinalStep {
        task_id: task_id.into(),
        owner,
        state: "SUCCESS".into(),
        attempts: 1,
    }
}

fn of_flow(flow_id: &str, part: &str) -> StepOwner {
    StepOwner::Flow {
        flow_id: flow_id.into(),
        part: part.into(),
    }
}

/// The callback's result for chord `key` whose members ran as `tasks`.
fn chord_result(key: &str, tasks: &[&str]) -> String {
    let outcomes: Vec<serde_json::Value> = tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let args: serde_json::Value =
                serde_json::from_str(&part_args(key, i as u32)).expect("args are JSON");
            serde_json::json!({"task": task, "state": "SUCCESS", "result": args, "error": null})
        })
        .collect();
    serde_json::Value::Array(outcomes).to_string()
}

/// Chord f-2 (acknowledged), chain f-1 (unknown outcome, arrived all the same), and a schedule
/// added at 9,000, due every second from 10,000, that fired up to its stop at 14,500.
fn clean_flows() -> Vec<Entry> {
    let chord_tasks = ["c0", "c1", "c2"];
    let mut entries = vec![
        Entry::FlowInvoke {
            t: 100,
            key: "f-1".into(),
            kind: "chain".into(),
        },
        Entry::FlowError {
            t: 1_100,
            key: "f-1".into(),
            error: "deadline exceeded".into(),
            unknown: true,
        },
        Entry::FlowInvoke {
            t: 1_200,
            key: "f-2".into(),
            kind: "chord".into(),
        },
        Entry::FlowOk {
            t: 1_250,
            key: "f-2".into(),
            flow_id: "F2".into(),
        },
        Entry::FlowFinal {
            flow_id: "F1".into(),
            key: "f-1".into(),
            kind: "chain".into(),
            state: "FLOW_SUCCEEDED".into(),
            parts: vec![part("a0"), part("a1"), part("a2")],
            result: part_args("f-1", 0),
        },
        Entry::FlowFinal {
            flow_id: "F2".into(),
            key: "f-2".into(),
            kind: "chord".into(),
            state: "FLOW_SUCCEEDED".into(),
            parts: vec![part("c0"), part("c1"), part("c2"), part("cb")],
            result: chord_result("f-2", &chord_tasks),
        },
        Entry::ScheduleAdded {
            t: 50,
            name: "chaos-every-second".into(),
        },
        Entry::Schedule {
            name: "chaos-every-second".into(),
            interval_ms: 1_000,
            created_at_ms: 9_000,
            stopped_at_ms: 14_500,
            runs: 5,
            missed: 0,
        },
    ];
    for (i, task) in ["a0", "a1", "a2"].iter().enumerate() {
        entries.push(step(task, of_flow("F1", &i.to_string())));
    }
    for (i, task) in chord_tasks.iter().enumerate() {
        entries.push(step(task, of_flow("F2", &i.to_string())));
    }
    entries.push(step("cb", of_flow("F2", "callback")));
    for due_ms in [10_000, 11_000, 12_000, 13_000, 14_000] {
        entries.push(step(&format!("s{due_ms}"), StepOwner::Schedule { due_ms }));
    }
    entries.push(executed(2_000, "cb", "n1", 1));
    with(clean(), entries)
}

#[test]
fn clean_flows_and_schedule_pass_with_their_counts() {
    let verdict = check(&clean_flows());
    assert!(verdict.ok(), "{:#?}", verdict.violations);
    let flows = &verdict.flows;
    assert_eq!((flows.operations, flows.acknowledged, flows.recovered), (2, 1, 1));
    assert_eq!(flows.schedule.as_ref().map(|s| s.fired), Some(5));
    assert!(
        verdict.unexpected.is_empty(),
        "a flow's task executed is not unexpected"
    );
}

#[test]
fn a_lost_flow_a_wrong_result_and_a_part_enqueued_twice_are_each_reported() {
    let mut history = clean_flows();
    history.retain(|entry| !matches!(entry, Entry::FlowFinal { flow_id, .. } if flow_id == "F1"));
    history.push(Entry::FlowFinal {
        flow_id: "F1".into(),
        key: "f-1".into(),
        kind: "chain".into(),
        state: "FLOW_SUCCEEDED".into(),
        parts: vec![part("a0"), part("a1"), part("a2")],
        result: part_args("f-1", 2),
    });
    history.push(step("c1-again", of_flow("F2", "1")));
    history.extend([
        Entry::FlowInvoke {
            t: 3_000,
            key: "f-3".into(),
            kind: "chord".into(),
        },
        Entry::FlowOk {
            t: 3_050,
            key: "f-3".into(),
            flow_id: "F3".into(),
        },
    ]);
    let verdict = check(&history);
    let flows = &verdict.flows;
    assert_eq!(flows.lost.count, 1, "{:#?}", verdict.violations);
    assert_eq!(flows.lost.first[0].final_state, None);
    must_mention(
        &verdict,
        "lost: flow F3 (key f-3) acknowledged at 3050 ms, final state missing",
    );
    must_mention(
        &verdict,
        "flow F1 (key f-1): result {\"key\":\"f-1\",\"i\":2}, expected the first step's args",
    );
    must_mention(
        &verdict,
        "flow F2 (key f-2): part 1 was enqueued 2 times: c1, c1-again",
    );
    assert_eq!(verdict.violations.len(), 3, "{:#?}", verdict.violations);
}

#[test]
fn a_chord_whose_callback_missed_a_member_is_wrong() {
    let mut history = clean_flows();
    for entry in &mut history {
        if let Entry::FlowFinal { flow_id, result, .. } = entry
            && flow_id == "F2"
        {
            *result = chord_result("f-2", &["c0", "c1"]);
        }
    }
    let verdict = check(&history);
    must_mention(&verdict, "callback got 2 results, not 3");
}

#[test]
fn a_flow_nobody_sent_and_a_stray_task_are_unexpected() {
    let history = with(
        clean_flows(),
        [
            Entry::FlowFinal {
                flow_id: "F9".into(),
                key: "stranger".into(),
                kind: "chain".into(),
                state: "FLOW_SUCCEEDED".into(),
                parts: vec![],
                result: String::new(),
            },
            step("x1", StepOwner::Unknown),
        ],
    );
    let verdict = check(&history);
    assert_eq!(verdict.flows.unexpected.count, 2, "{:#?}", verdict.violations);
    must_mention(&verdict, "unexpected: F9 is a flow with key \"stranger\"");
    must_mention(&verdict, "unexpected: x1 is in the flows queue");
}

#[test]
fn a_missed_and_a_doubled_due_time_are_reported() {
    let mut history = clean_flows();
    history.retain(|entry| !matches!(entry, Entry::FinalStep { task_id, .. } if task_id == "s11000"));
    history.push(step("s12000-again", StepOwner::Schedule { due_ms: 12_000 }));
    history.push(step("s12500", StepOwner::Schedule { due_ms: 12_500 }));
    let verdict = check(&history);
    let schedule = verdict.flows.schedule.as_ref().expect("a schedule");
    assert_eq!(schedule.missed.first, [11_000]);
    assert_eq!(schedule.fired_twice.first, [12_000]);
    must_mention(&verdict, "schedule: due time 11000 never fired");
    must_mention(&verdict, "schedule: due time 12000 fired more than once");
    must_mention(&verdict, "is for 12500, not a due time of the schedule");
    must_mention(&verdict, "the cluster counts 5 runs, the queue holds 6");
}

#[test]
fn a_part_the_flow_does_not_have_and_a_vanished_schedule_are_reported() {
    let mut history = clean_flows();
    history.push(step("a3", of_flow("F1", "3")));
    history.retain(|entry| {
        !matches!(
            entry,
            Entry::Schedule { .. }
                | Entry::FinalStep {
                    owner: StepOwner::Schedule { .. },
                    ..
                }
        )
    });
    let verdict = check(&history);
    must_mention(
        &verdict,
        "flow F1 (key f-1): the queue holds task a3 as its part 3, which a chain does not have",
    );
    must_mention(
        &verdict,
        "schedule: added, 0 runs, but the schedule is not in the final state",
    );
    assert_eq!(verdict.violations.len(), 2, "{:#?}", verdict.violations);
}
