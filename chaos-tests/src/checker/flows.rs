//! Workflows and the schedule. A flow acknowledged to its producer must have succeeded with the
//! result its parts imply (a chain its first step's args, a chord's callback every member's
//! args in order); each part must have been enqueued exactly once; nothing may appear that no
//! producer sent. The schedule must have fired every due time exactly once up to where the
//! harness stopped it (`schedule.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::schedule::ScheduleFindings;
use super::{Capped, SUCCESS};
use crate::history::{Entry, FinalPart, Millis, StepOwner};
use crate::workload::flows::{FLOW_PARTS, part_args};

const FLOW_SUCCEEDED: &str = "FLOW_SUCCEEDED";

/// An acknowledged flow that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LostFlow {
    pub key: String,
    pub flow_id: String,
    pub acked_at: Millis,
    /// `None` when the cluster did not hold the flow at all.
    pub final_state: Option<String>,
}

impl LostFlow {
    fn describe(&self) -> String {
        format!(
            "lost: flow {} (key {}) acknowledged at {} ms, final state {}",
            self.flow_id,
            self.key,
            self.acked_at,
            self.final_state.as_deref().unwrap_or("missing")
        )
    }
}

/// Something in the final state no producer sent: a flow, or a task of the flows queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnexpectedStep {
    pub id: String,
    pub why: String,
}

/// A flow that is there but wrong: its result, its parts, or its key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WrongFlow {
    pub flow_id: String,
    pub key: String,
    pub problem: String,
}

/// The flows' side of a verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FlowFindings {
    /// Flow submits invoked (resends count again).
    pub operations: usize,
    /// Distinct keys with an acknowledged flow.
    pub acknowledged: usize,
    /// Keys never acknowledged whose flow arrived all the same.
    pub recovered: usize,
    pub lost: Capped<LostFlow>,
    pub unexpected: Capped<UnexpectedStep>,
    pub wrong: Capped<WrongFlow>,
    /// `None` when the history has no schedule (a history of an older run).
    pub schedule: Option<ScheduleFindings>,
}

impl FlowFindings {
    pub(super) fn describe_into(&self, out: &mut Vec<String>) {
        self.lost.describe_into("lost flows", out, LostFlow::describe);
        self.unexpected
            .describe_into("unexpected", out, |u| format!("unexpected: {} {}", u.id, u.why));
        self.wrong.describe_into("flows", out, |w| {
            format!("flow {} (key {}): {}", w.flow_id, w.key, w.problem)
        });
        if let Some(schedule) = &self.schedule {
            schedule.describe_into(out);
        }
    }
}

#[derive(Default)]
struct KeyHistory<'a> {
    invokes: usize,
    oks: Vec<(Millis, &'a str)>,
    unknowns: usize,
}

struct FinalFlow<'a> {
    key: &'a str,
    kind: &'a str,
    state: &'a str,
    parts: &'a [FinalPart],
    result: &'a str,
}

pub(super) fn check(entries: &[Entry]) -> FlowFindings {
    let mut keys: BTreeMap<&str, KeyHistory> = BTreeMap::new();
    let mut finals: BTreeMap<&str, FinalFlow> = BTreeMap::new();
    let mut parts: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    let mut found = FlowFindings::default();
    for entry in entries {
        match entry {
            Entry::FlowInvoke { key, .. } => keys.entry(key).or_default().invokes += 1,
            Entry::FlowOk { t, key, flow_id } => keys.entry(key).or_default().oks.push((*t, flow_id)),
            Entry::FlowError { key, unknown, .. } if *unknown => keys.entry(key).or_default().unknowns += 1,
            Entry::FlowFinal {
                flow_id,
                key,
                kind,
                state,
                parts,
                result,
            } => {
                finals.insert(
                    flow_id,
                    FinalFlow {
                        key,
                        kind,
                        state,
                        parts,
                        result,
                    },
                );
            }
            Entry::FinalStep {
                task_id,
                owner: StepOwner::Flow { flow_id, part },
                ..
            } => parts.entry((flow_id, part)).or_default().push(task_id),
            Entry::FinalStep {
                task_id,
                owner: StepOwner::Unknown,
                ..
            } => found.unexpected.push(UnexpectedStep {
                id: task_id.clone(),
                why: "is in the flows queue but belongs to no flow or schedule".into(),
            }),
            _ => {}
        }
    }
    found.operations = keys.values().map(|history| history.invokes).sum();

    let mut by_key: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (&flow_id, flow) in &finals {
        by_key.entry(flow.key).or_default().insert(flow_id);
        let invoked = keys.get(flow.key).is_some_and(|history| history.invokes > 0);
        if !invoked {
            found.unexpected.push(UnexpectedStep {
                id: flow_id.to_owned(),
                why: format!("is a flow with key {:?}, which no producer sent", flow.key),
            });
            continue;
        }
        for problem in flow_problems(flow_id, flow, &parts) {
            found.wrong.push(WrongFlow {
                flow_id: flow_id.to_owned(),
                key: flow.key.to_owned(),
                problem,
            });
        }
    }
    for ((flow_id, part), tasks) in &parts {
        if !finals.contains_key(flow_id) {
            found.unexpected.push(UnexpectedStep {
                id: tasks.join(", "),
                why: format!("is part {part} of flow {flow_id}, which the cluster does not hold"),
            });
        }
    }

    for (&key, history) in &keys {
        let in_final = by_key.get(key).cloned().unwrap_or_default();
        let mut acked: BTreeMap<&str, Millis> = BTreeMap::new();
        for &(t, flow_id) in &history.oks {
            acked.entry(flow_id).or_insert(t);
        }
        let named: BTreeSet<&str> = acked.keys().copied().chain(in_final.iter().copied()).collect();
        if named.len() > 1 {
            found.wrong.push(WrongFlow {
                flow_id: named.into_iter().collect::<Vec<_>>().join(", "),
                key: key.to_owned(),
                problem: "one idempotency key names several flows".into(),
            });
        }
        if acked.is_empty() {
            if history.unknowns > 0 && !in_final.is_empty() {
                found.recovered += 1;
            }
            continue;
        }
        found.acknowledged += 1;
        for (flow_id, acked_at) in acked {
            let state = finals.get(flow_id).map(|flow| flow.state);
            if state != Some(FLOW_SUCCEEDED) {
                found.lost.push(LostFlow {
                    key: key.to_owned(),
                    flow_id: flow_id.to_owned(),
                    acked_at,
                    final_state: state.map(str::to_owned),
                });
            }
        }
    }
    found.schedule = super::schedule::check(entries);
    found
}

/// What is wrong with a flow the cluster holds: not succeeded (also when only recovered), a
/// part missing, enqueued twice or not SUCCESS, or a result other than its parts imply.
fn flow_problems(flow_id: &str, flow: &FinalFlow, parts: &BTreeMap<(&str, &str), Vec<&str>>) -> Vec<String> {
    let mut problems = Vec::new();
    if flow.state != FLOW_SUCCEEDED {
        problems.push(format!("ended {}", flow.state));
    }
    let (expected_parts, labels): (usize, Vec<String>) = match flow.kind {
        "chord" => (
            FLOW_PARTS as usize + 1,
            (0..FLOW_PARTS)
                .map(|i| i.to_string())
                .chain(["callback".to_owned()])
                .collect(),
        ),
        "chain" => (
            FLOW_PARTS as usize,
            (0..FLOW_PARTS).map(|i| i.to_string()).collect(),
        ),
        other => return vec![format!("is a {other}, which no producer sends")],
    };
    if flow.parts.len() != expected_parts {
        problems.push(format!("has {} parts, not {expected_parts}", flow.parts.len()));
        return problems;
    }
    let strays = parts
        .range((flow_id, "")..)
        .take_while(|((id, _), _)| *id == flow_id)
        .filter(|((_, part), _)| !labels.iter().any(|label| label == part));
    for ((_, part), tasks) in strays {
        problems.push(format!(
            "the queue holds task {} as its part {part}, which a {} does not have",
            tasks.join(", "),
            flow.kind
        ));
    }
    for (part, label) in flow.parts.iter().zip(&labels) {
        let tasks = parts
            .get(&(flow_id, label.as_str()))
            .map_or(&[][..], Vec::as_slice);
        match (&part.task_id, tasks) {
            (None, _) => problems.push(format!("part {label} was never enqueued")),
            (Some(task), [only]) if task == only => {}
            (Some(task), []) => problems.push(format!("part {label}'s task {task} is not in the queue")),
            (Some(task), [other]) => problems.push(format!(
                "part {label} names task {task}, but the queue holds {other} for it"
            )),
            (Some(_), many) => problems.push(format!(
                "part {label} was enqueued {} times: {}",
                many.len(),
                many.join(", ")
            )),
        }
        if part.state != SUCCESS {
            problems.push(format!("part {label} ended {}", part.state));
        }
    }
    if flow.state == FLOW_SUCCEEDED
        && let Err(problem) = result_matches(flow)
    {
        problems.push(problem);
    }
    problems
}

/// A chain's result is its first step's args; a chord's is the callback's echo of every
/// member's outcome, in order, each with its own args as its result.
fn result_matches(flow: &FinalFlow) -> Result<(), String> {
    let parse =
        |text: &str| serde_json::from_str::<Value>(text).map_err(|e| format!("result is not JSON ({e})"));
    let result = parse(flow.result)?;
    if flow.kind == "chain" {
        let expected = parse(&part_args(flow.key, 0))?;
        return (result == expected)
            .then_some(())
            .ok_or_else(|| format!("result {result}, expected the first step's args {expected}"));
    }
    let outcomes = result
        .as_array()
        .ok_or_else(|| format!("callback result {result} is not an array"))?;
    if outcomes.len() != FLOW_PARTS as usize {
        return Err(format!(
            "callback got {} results, not {FLOW_PARTS}",
            outcomes.len()
        ));
    }
    for (i, (outcome, part)) in outcomes.iter().zip(flow.parts).enumerate() {
        let expected = parse(&part_args(flow.key, i as u32))?;
        let task = outcome["task"].as_str();
        if outcome["state"] != SUCCESS || outcome["result"] != expected || task != part.task_id.as_deref() {
            return Err(format!(
                "callback's result {i} is {outcome}, expected SUCCESS with {expected} from task {}",
                part.task_id.as_deref().unwrap_or("-")
            ));
        }
    }
    Ok(())
}
