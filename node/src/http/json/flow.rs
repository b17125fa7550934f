//! A workflow in JSON: what `POST /v1/flows` takes, and the file `qraft flow submit` reads.
//!
//! ```json
//! {"chain": [STEP, ...]}
//! {"group": [STEP, ...]}
//! {"chord": {"group": [STEP, ...], "callback": STEP, "on_failure": "fail_chord" | "run_callback"}}
//! ```
//!
//! with optional `"idempotency_key"` and `"result_ttl_ms"`. A STEP is a task as `POST /v1/tasks`
//! takes it (`{"task": "resize", "args": {...}, "queue": "images", "timeout": "30s", ...}`)
//! without countdown, eta or key of its own, and a chain's step may be `"immutable": true`.

use serde::{Deserialize, Serialize};

use super::{TaskJson, payload, time};
use crate::ops::flows::{FlowInput, FlowKind, FlowView, PartView, ShapeInput, StepInput};
use crate::ops::{OpError, TaskInput};
use crate::queue::flow::OnMemberFailure;

/// Exactly one of `chain`, `group` and `chord`.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowJson {
    /// Steps run one after another, each given the previous step's result.
    pub chain: Option<Vec<TaskJson>>,
    /// Tasks run in parallel under one id.
    pub group: Option<Vec<TaskJson>>,
    /// A group, then a callback given every member's result.
    pub chord: Option<ChordJson>,
    /// A second submit with the same key, while the first flow is kept, returns the first flow.
    pub idempotency_key: Option<String>,
    /// How long the finished flow and its results are kept (absent: the node's result TTL).
    pub result_ttl_ms: Option<u64>,
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChordJson {
    pub group: Vec<TaskJson>,
    pub callback: TaskJson,
    /// What a member's failure does (default `fail_chord`).
    pub on_failure: Option<OnFailureJson>,
}

/// `fail_chord`: the chord fails at once and the callback never runs; `run_callback`: the
/// callback runs when every member is done, with the errors among the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFailureJson {
    FailChord,
    RunCallback,
}

impl FlowJson {
    /// The flow in the queue's terms; `header_key` is the request's `Idempotency-Key`.
    pub fn into_input(self, header_key: Option<&str>) -> Result<FlowInput, OpError> {
        let invalid = |message: &str| OpError::Invalid(message.to_owned());
        let shape = match (self.chain, self.group, self.chord) {
            (Some(chain), None, None) => ShapeInput::Chain(steps(chain, "chain", true)?),
            (None, Some(group), None) => ShapeInput::Group(steps(group, "group", false)?),
            (None, None, Some(chord)) => ShapeInput::Chord {
                members: steps(chord.group, "chord group", false)?,
                callback: Box::new(step(chord.callback, "the chord's callback", false)?),
                on_failure: match chord.on_failure.unwrap_or(OnFailureJson::FailChord) {
                    OnFailureJson::FailChord => OnMemberFailure::FailChord,
                    OnFailureJson::RunCallback => OnMemberFailure::RunCallback,
                },
            },
            _ => return Err(invalid("a flow has exactly one of: chain, group, chord")),
        };
        let idempotency_key = match (self.idempotency_key, header_key) {
            (Some(body), Some(header)) if body != header => {
                return Err(OpError::Invalid(format!(
                    "the Idempotency-Key header ({header:?}) and the body's idempotency_key ({body:?}) differ"
                )));
            }
            (body, header) => body.or_else(|| header.map(str::to_owned)),
        };
        Ok(FlowInput {
            shape,
            idempotency_key,
            result_ttl_ms: self.result_ttl_ms,
        })
    }
}

fn steps(tasks: Vec<TaskJson>, what: &str, chain: bool) -> Result<Vec<StepInput>, OpError> {
    if tasks.is_empty() {
        return Err(OpError::Invalid(format!("{what} has no steps")));
    }
    tasks
        .into_iter()
        .enumerate()
        .map(|(i, task)| step(task, &format!("{what} step {i}"), chain))
        .collect()
}

fn step(mut task: TaskJson, what: &str, chain: bool) -> Result<StepInput, OpError> {
    let immutable = task.immutable.take().unwrap_or(false);
    if immutable && !chain {
        return Err(OpError::Invalid(format!(
            "{what}: only a chain's steps can be immutable (they take no previous result)"
        )));
    }
    let task: TaskInput = task
        .into_input(None)
        .map_err(|e| OpError::Invalid(format!("{what}: {e}")))?;
    Ok(StepInput { task, immutable })
}

/// A flow's submit answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowSubmittedView {
    pub id: String,
    /// The idempotency key named a flow submitted before: this is that flow.
    pub duplicate: bool,
}

/// A flow as the cluster holds it.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowStatusView {
    pub id: String,
    /// chain, group or chord.
    pub kind: String,
    /// RUNNING, SUCCEEDED or FAILED.
    pub state: String,
    /// A chain's steps, or a group's or chord's members.
    pub parts: Vec<FlowPartView>,
    /// A chord's callback.
    pub callback: Option<FlowPartView>,
    /// Parts (the callback included) that have ended, of `total`.
    pub done: u32,
    pub total: u32,
    /// The last step's result, the group's results, or the callback's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_base64: Option<String>,
    pub error: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// One step, member or the callback.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowPartView {
    /// None until the part is enqueued (a chain's later steps, a chord's callback).
    pub task_id: Option<String>,
    pub name: String,
    /// The task's state; None until it is enqueued.
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_base64: Option<String>,
    pub error: Option<String>,
}

impl From<PartView> for FlowPartView {
    fn from(part: PartView) -> Self {
        let (result, result_base64) = payload(&part.result);
        FlowPartView {
            task_id: part.task.map(|id| id.to_string()),
            name: part.name,
            state: part.state.map(|state| state.name().to_owned()),
            result,
            result_base64,
            error: part.error,
        }
    }
}

impl From<FlowView> for FlowStatusView {
    fn from(flow: FlowView) -> Self {
        let (result, result_base64) = payload(&flow.result);
        FlowStatusView {
            id: flow.id.to_string(),
            kind: match flow.kind {
                FlowKind::Chain => "chain",
                FlowKind::Group => "group",
                FlowKind::Chord => "chord",
            }
            .to_owned(),
            state: flow.state.name().to_owned(),
            parts: flow.parts.into_iter().map(FlowPartView::from).collect(),
            callback: flow.callback.map(FlowPartView::from),
            done: flow.done,
            total: flow.total,
            result,
            result_base64,
            error: flow.error,
            idempotency_key: flow.idempotency_key,
            created_at: time(flow.created_at_ms),
            finished_at: flow.finished_at_ms.map(time),
        }
    }
}

/// `GET /v1/flows`: newest first.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlowListView {
    pub flows: Vec<FlowStatusView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FlowInput, String> {
        let json: FlowJson = serde_json::from_str(text).map_err(|e| e.to_string())?;
        json.into_input(None).map_err(|e| e.to_string())
    }

    #[test]
    fn every_shape_parses() {
        let chain = parse(r#"{"chain": [{"task": "a", "args": {"n": 1}}, {"task": "b", "queue": "q", "immutable": true}], "idempotency_key": "k"}"#)
            .expect("chain");
        let ShapeInput::Chain(steps) = &chain.shape else {
            panic!("{chain:?}")
        };
        assert_eq!(steps[0].task.args, br#"{"n":1}"#);
        assert!(steps[1].immutable);
        assert_eq!(chain.idempotency_key.as_deref(), Some("k"));
        let chord = parse(
            r#"{"chord": {"group": [{"task": "a"}, {"task": "a", "timeout": "2s"}], "callback": {"task": "sum"}, "on_failure": "run_callback"}}"#,
        )
        .expect("chord");
        let ShapeInput::Chord {
            members, on_failure, ..
        } = &chord.shape
        else {
            panic!("{chord:?}")
        };
        assert_eq!(*on_failure, OnMemberFailure::RunCallback);
        assert_eq!(members[1].task.timeout_ms, Some(2_000));
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            ("42", "expected struct FlowJson"),
            (
                r#"{"chain": [{"task": "a"}], "group": [{"task": "a"}]}"#,
                "exactly one",
            ),
            (r#"{"chain": []}"#, "no steps"),
            (r#"{"chain": [{"args": 1}]}"#, "missing field `name`"),
            (
                r#"{"group": [{"task": "a", "colour": "red"}]}"#,
                "unknown field `colour`",
            ),
            (r#"{"chord": {"group": [{"task": "a"}]}}"#, "callback"),
            (
                r#"{"chord": {"group": [{"task": "a"}], "callback": {"task": "b"}, "on_failure": "shrug"}}"#,
                "shrug",
            ),
            (r#"{"group": [{"task": "a", "timeout": "soon"}]}"#, "timeout"),
            (
                r#"{"group": [{"task": "a", "immutable": true}]}"#,
                "only a chain's steps",
            ),
            (
                r#"{"chain": [{"task": "a", "immutable": "yes"}]}"#,
                "expected a boolean",
            ),
        ] {
            let error = parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
