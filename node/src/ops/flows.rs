//! Workflows: submit a chain, group or chord, read one, list the newest.

use super::{OpError, TaskDefaults, TaskInput, linearizable, propose_one};
use crate::queue::flow::{
    self, Flow, FlowId, FlowSpec, FlowState, OnMemberFailure, Part, PartStatus, Step, SubmitFlow,
};
use crate::queue::{Command, Outcome, QueueState, TaskId, TaskState};
use crate::raft::Replica;

/// A flow as a client describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowInput {
    pub shape: ShapeInput,
    /// A second submit with the same key, while the first flow is kept, returns the first flow.
    pub idempotency_key: Option<String>,
    /// How long the finished flow is kept; `None` is the node's result TTL.
    pub result_ttl_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ShapeInput {
    Chain(Vec<StepInput>),
    Group(Vec<StepInput>),
    Chord {
        members: Vec<StepInput>,
        callback: Box<StepInput>,
        on_failure: OnMemberFailure,
    },
}

/// One task of a flow: a task without times or key of its own (the flow decides when it runs).
#[derive(Clone, Debug, PartialEq)]
pub struct StepInput {
    pub task: TaskInput,
    /// Chains only: run with the step's own args instead of the previous step's result.
    pub immutable: bool,
}

impl FlowInput {
    /// Checks the flow, fills in defaults and gives it an id, before anything is proposed.
    pub fn prepare(self, defaults: &TaskDefaults) -> Result<SubmitFlow, OpError> {
        let steps = |steps: Vec<StepInput>, what: &str| -> Result<Vec<Step>, OpError> {
            steps
                .into_iter()
                .enumerate()
                .map(|(i, step)| step.prepare(defaults, &format!("{what} step {i}")))
                .collect()
        };
        let spec = match self.shape {
            ShapeInput::Chain(chain) => FlowSpec::Chain(steps(chain, "chain")?),
            ShapeInput::Group(group) => FlowSpec::Group(steps(group, "group")?),
            ShapeInput::Chord {
                members,
                callback,
                on_failure,
            } => FlowSpec::Chord {
                members: steps(members, "chord group")?,
                callback: Box::new(callback.prepare(defaults, "the chord's callback")?),
                on_failure,
            },
        };
        let submit = SubmitFlow {
            id: TaskId::generate(),
            spec,
            idempotency_key: self.idempotency_key,
            result_ttl_ms: self.result_ttl_ms.unwrap_or(defaults.result_ttl_ms),
        };
        flow::must_be_valid(&submit).map_err(OpError::Invalid)?;
        Ok(submit)
    }
}

impl StepInput {
    fn prepare(self, defaults: &TaskDefaults, what: &str) -> Result<Step, OpError> {
        Ok(Step {
            template: self.task.into_template(defaults, what)?,
            immutable: self.immutable,
        })
    }
}

/// A submit's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowSubmitted {
    pub id: FlowId,
    /// The idempotency key named a flow submitted before: this is that flow.
    pub duplicate: bool,
}

/// Submits a flow; answered once it (and its first tasks) are durable on a majority.
pub async fn submit(
    replica: &Replica,
    defaults: &TaskDefaults,
    input: FlowInput,
) -> Result<FlowSubmitted, OpError> {
    let submit = input.prepare(defaults)?;
    match propose_one(replica, Command::SubmitFlow(Box::new(submit))).await? {
        Outcome::FlowSubmitted { id, duplicate } => Ok(FlowSubmitted { id, duplicate }),
        other => Err(OpError::unexpected(&other)),
    }
}

/// A flow as the cluster holds it, each part with the state of its task.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowView {
    pub id: FlowId,
    pub kind: FlowKind,
    pub state: FlowState,
    /// A chain's steps, or a group's or chord's members.
    pub parts: Vec<PartView>,
    /// A chord's callback.
    pub callback: Option<PartView>,
    /// Parts (the callback included) that have ended.
    pub done: u32,
    pub total: u32,
    /// The last step's result, the group's results, or the callback's.
    pub result: Vec<u8>,
    pub error: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at_ms: u64,
    pub finished_at_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowKind {
    Chain,
    Group,
    Chord,
}

impl FlowKind {
    pub fn of(spec: &FlowSpec) -> FlowKind {
        match spec {
            FlowSpec::Chain(_) => FlowKind::Chain,
            FlowSpec::Group(_) => FlowKind::Group,
            FlowSpec::Chord { .. } => FlowKind::Chord,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PartView {
    /// `None` until the part is enqueued (a chain's later steps, a chord's callback).
    pub task: Option<TaskId>,
    pub name: String,
    /// `None` until the part is enqueued.
    pub state: Option<TaskState>,
    pub result: Vec<u8>,
    pub error: Option<String>,
}

impl FlowView {
    fn of(flow: &Flow, queue: &QueueState) -> FlowView {
        let part = |part: Part, status: &PartStatus| {
            let name = flow
                .spec
                .step(part)
                .map(|step| step.template.name.clone())
                .unwrap_or_default();
            let live = status.task.and_then(|id| queue.task(&id));
            let (state, result, error) = match (&status.outcome, live) {
                (Some(outcome), _) => (Some(outcome.state), outcome.result.clone(), outcome.error.clone()),
                (None, Some(task)) => (Some(task.state), Vec::new(), None),
                (None, None) => (None, Vec::new(), None),
            };
            PartView {
                task: status.task,
                name,
                state,
                result,
                error,
            }
        };
        let is_chord = matches!(flow.spec, FlowSpec::Chord { .. });
        let parts: Vec<PartView> = flow
            .parts
            .iter()
            .enumerate()
            .map(|(i, status)| part(Part::Member(i as u32), status))
            .collect();
        let ended = |status: &PartStatus| u32::from(status.outcome.is_some());
        let done =
            flow.parts.iter().map(ended).sum::<u32>() + if is_chord { ended(&flow.callback) } else { 0 };
        FlowView {
            id: flow.id,
            kind: FlowKind::of(&flow.spec),
            state: flow.state,
            total: parts.len() as u32 + u32::from(is_chord),
            parts,
            callback: is_chord.then(|| part(Part::Callback, &flow.callback)),
            done,
            result: flow.result.clone(),
            error: flow.error.clone(),
            idempotency_key: flow.idempotency_key.clone(),
            created_at_ms: flow.created_at_ms,
            finished_at_ms: flow.finished_at_ms,
        }
    }
}

/// One flow; `linearizable` reads on the leader after it confirmed it leads.
pub async fn get(replica: &Replica, id: &FlowId, linearizable_read: bool) -> Result<FlowView, OpError> {
    if linearizable_read {
        linearizable(replica).await?;
    }
    let shared = replica.shared();
    let queue = shared.queue();
    let flow = queue
        .flow(id)
        .ok_or_else(|| OpError::NotFound(format!("no flow {id} (never submitted, or expired)")))?;
    Ok(FlowView::of(flow, &queue))
}

/// The newest `limit` flows, newest first.
pub async fn list(
    replica: &Replica,
    limit: usize,
    linearizable_read: bool,
) -> Result<Vec<FlowView>, OpError> {
    if linearizable_read {
        linearizable(replica).await?;
    }
    let shared = replica.shared();
    let queue = shared.queue();
    Ok(queue
        .flows()
        .rev()
        .take(limit)
        .map(|flow| FlowView::of(flow, &queue))
        .collect())
}
