//! Workflows: a chain (each step gets the previous step's result), a group (members run in
//! parallel under one id) and a chord (a group, then a callback that gets every result).
//!
//! A flow is a record in the replicated state. The apply that records a member's final state
//! also moves its flow on (enqueues the next step, counts the chord's join down, enqueues the
//! callback), so no crash between "done" and "next" can stall a flow, and no callback runs twice.

use serde::{Deserialize, Serialize};

use super::submit::SubmitTask;
pub use super::task::{FlowRef, Part};
use super::task::{TaskId, TaskState};
use super::template::TaskTemplate;
use super::validate::{self, MAX_NAME_LEN};

/// Flows are named by ULIDs, like tasks, and their tasks' ids are derived from the flow's.
pub type FlowId = TaskId;

/// Most steps in a chain, or members in a group or chord.
pub const MAX_FLOW_TASKS: usize = 1_000;
/// Headers on every task of a flow: which flow, and which part of it.
pub const FLOW_HEADER: &str = "qraft-flow";
pub const PART_HEADER: &str = "qraft-flow-part";

/// One task of a flow as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub template: TaskTemplate,
    /// Chains only: run with the step's own args instead of the previous step's result.
    pub immutable: bool,
}

/// What a chord does when a member fails for good (FAILURE, REVOKED, EXPIRED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnMemberFailure {
    /// The chord fails at once; the callback never runs.
    FailChord,
    /// The callback runs when every member is done, with the errors among the results.
    RunCallback,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowSpec {
    Chain(Vec<Step>),
    Group(Vec<Step>),
    Chord {
        members: Vec<Step>,
        callback: Box<Step>,
        on_failure: OnMemberFailure,
    },
}

impl FlowSpec {
    /// The chain's steps, or the group's or chord's members.
    pub fn steps(&self) -> &[Step] {
        match self {
            FlowSpec::Chain(steps) | FlowSpec::Group(steps) => steps,
            FlowSpec::Chord { members, .. } => members,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            FlowSpec::Chain(_) => "chain",
            FlowSpec::Group(_) => "group",
            FlowSpec::Chord { .. } => "chord",
        }
    }

    /// The step of `part`, if the flow has one.
    pub fn step(&self, part: Part) -> Option<&Step> {
        match (self, part) {
            (_, Part::Member(index)) => self.steps().get(index as usize),
            (FlowSpec::Chord { callback, .. }, Part::Callback) => Some(callback.as_ref()),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowState {
    Running,
    Succeeded,
    Failed,
}

impl FlowState {
    pub fn name(self) -> &'static str {
        match self {
            FlowState::Running => "RUNNING",
            FlowState::Succeeded => "SUCCEEDED",
            FlowState::Failed => "FAILED",
        }
    }
}

/// How one part of a flow ended, recorded once, when it first reached a final state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartOutcome {
    pub state: TaskState,
    #[serde(with = "serde_bytes")]
    pub result: Vec<u8>,
    pub error: Option<String>,
}

/// One part of a flow: its task, once enqueued, and its outcome, once final.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartStatus {
    pub task: Option<TaskId>,
    pub outcome: Option<PartOutcome>,
}

/// A flow and its progress, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub id: FlowId,
    pub spec: FlowSpec,
    pub state: FlowState,
    /// One per step or member, in order.
    pub parts: Vec<PartStatus>,
    pub callback: PartStatus,
    /// Members whose outcome the chord or group still waits for: the join counter.
    pub remaining: u32,
    #[serde(with = "serde_bytes")]
    pub result: Vec<u8>,
    pub error: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// How long the finished flow is kept.
    pub result_ttl_ms: u64,
}

impl Flow {
    /// The id of the task for `part`: derived from the flow's id, so every replica agrees.
    pub fn task_id(id: FlowId, part: Part, parts: usize) -> TaskId {
        let offset = match part {
            Part::Member(index) => u128::from(index) + 1,
            Part::Callback => parts as u128 + 1,
        };
        TaskId(ulid::Ulid::from_parts(
            id.0.timestamp_ms(),
            id.0.random().wrapping_add(offset),
        ))
    }

    pub fn part(&self, part: Part) -> Option<&PartStatus> {
        match part {
            Part::Member(index) => self.parts.get(index as usize),
            Part::Callback => Some(&self.callback),
        }
    }

    pub fn part_mut(&mut self, part: Part) -> Option<&mut PartStatus> {
        match part {
            Part::Member(index) => self.parts.get_mut(index as usize),
            Part::Callback => Some(&mut self.callback),
        }
    }

    /// When the finished flow's record goes.
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.finished_at_ms
            .map(|at| at.saturating_add(self.result_ttl_ms))
    }
}

/// A new flow as the proposing node built it: id assigned, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitFlow {
    pub id: FlowId,
    pub spec: FlowSpec,
    /// A second submit with the same key, while the first flow is kept, returns the first flow.
    pub idempotency_key: Option<String>,
    pub result_ttl_ms: u64,
}

impl Step {
    /// The submit of this step as part `part` of flow `flow`, with `args` instead of its own
    /// when given (a chain step's input).
    pub fn submit(&self, flow: FlowId, part: Part, parts: usize, args: Option<Vec<u8>>) -> SubmitTask {
        let headers = [(FLOW_HEADER, flow.to_string()), (PART_HEADER, part.label())];
        let id = Flow::task_id(flow, part, parts);
        self.template
            .submit(id, headers, args, Some(FlowRef { flow, part }))
    }
}

/// Checks a flow before it is proposed, and again in apply.
pub fn must_be_valid(submit: &SubmitFlow) -> Result<(), String> {
    let steps = submit.spec.steps();
    if steps.is_empty() || steps.len() > MAX_FLOW_TASKS {
        return Err(format!(
            "a {} has 1..={MAX_FLOW_TASKS} tasks, not {}",
            submit.spec.kind(),
            steps.len()
        ));
    }
    let parts = steps.len();
    let mut all: Vec<(Part, &Step)> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| (Part::Member(i as u32), step))
        .collect();
    if let FlowSpec::Chord { callback, .. } = &submit.spec {
        all.push((Part::Callback, callback.as_ref()));
    }
    for (part, step) in all {
        let is_later_step = matches!(submit.spec, FlowSpec::Chain(_)) && part != Part::Member(0);
        if is_later_step && !step.immutable && !step.template.args.is_empty() {
            return Err(format!(
                "chain step {} ({}) has args of its own, but gets the previous step's result as its \
                 args; mark it immutable to run it with its own args instead",
                part.label(),
                step.template.name
            ));
        }
        if step.immutable && !matches!(submit.spec, FlowSpec::Chain(_)) {
            return Err("only chain steps can be immutable".into());
        }
        let task = step.submit(submit.id, part, parts, None);
        validate::must_be_valid_submit(&task, usize::MAX).map_err(|e| {
            format!(
                "{} task {} ({}): {e}",
                submit.spec.kind(),
                part.label(),
                step.template.name
            )
        })?;
    }
    if let Some(key) = &submit.idempotency_key
        && (key.is_empty() || key.len() > MAX_NAME_LEN)
    {
        return Err(format!("idempotency key must be 1..={MAX_NAME_LEN} bytes"));
    }
    validate::must_be_duration("result TTL", submit.result_ttl_ms, validate::MAX_DURATION_MS)
}

/// What a chord's callback gets: a JSON array with each member's task id, state, result (as
/// JSON where it is JSON, else as text) and error.
pub fn chord_results(parts: &[PartStatus]) -> Vec<u8> {
    let results: Vec<serde_json::Value> = parts
        .iter()
        .map(|part| {
            let outcome = part.outcome.as_ref();
            let result = outcome.map(|o| &o.result).filter(|r| !r.is_empty()).map(|bytes| {
                serde_json::from_slice(bytes).unwrap_or_else(|_| {
                    serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
                })
            });
            serde_json::json!({
                "task": part.task.map(|id| id.to_string()),
                "state": outcome.map(|o| o.state.name()),
                "result": result,
                "error": outcome.and_then(|o| o.error.clone()),
            })
        })
        .collect();
    serde_json::to_vec(&results).unwrap_or_default()
}
