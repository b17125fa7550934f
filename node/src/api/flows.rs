//! `qraft.v1.Flows`: submit workflows and follow them.

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::listing::{fit_in_reply, list_limit};
use super::{TaskDefaults, convert, linearizable, propose_one, status, unexpected};
use crate::queue::flow::{
    self, Flow, FlowSpec, FlowState, OnMemberFailure, Part, PartStatus, Step, SubmitFlow,
};
use crate::queue::{Command, Outcome, QueueState, TaskId};
use crate::raft::Replica;

pub struct FlowsService {
    replica: Replica,
    defaults: TaskDefaults,
}

impl FlowsService {
    pub fn new(replica: Replica, defaults: TaskDefaults) -> Self {
        FlowsService { replica, defaults }
    }
}

#[tonic::async_trait]
impl pb::flows_server::Flows for FlowsService {
    async fn submit_flow(
        &self,
        request: Request<pb::SubmitFlowRequest>,
    ) -> Result<Response<pb::SubmitFlowResponse>, Status> {
        let spec = request
            .into_inner()
            .flow
            .ok_or_else(|| status::invalid("a flow submit needs a flow"))?;
        let submit = submit_from_pb(spec, &self.defaults)?;
        match propose_one(&self.replica, Command::SubmitFlow(Box::new(submit))).await? {
            Outcome::FlowSubmitted { id, duplicate } => Ok(Response::new(pb::SubmitFlowResponse {
                id: id.to_string(),
                duplicate,
            })),
            other => Err(unexpected(&other)),
        }
    }

    async fn get_flow(&self, request: Request<pb::GetFlowRequest>) -> Result<Response<pb::Flow>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        if request.linearizable {
            linearizable(&self.replica).await?;
        }
        let shared = self.replica.shared();
        let queue = shared.queue();
        let flow = queue
            .flow(&id)
            .ok_or_else(|| Status::not_found(format!("no flow {id} (never submitted, or expired)")))?;
        Ok(Response::new(flow_to_pb(flow, &queue)))
    }

    async fn list_flows(
        &self,
        request: Request<pb::ListFlowsRequest>,
    ) -> Result<Response<pb::ListFlowsResponse>, Status> {
        let request = request.into_inner();
        if request.linearizable {
            linearizable(&self.replica).await?;
        }
        let shared = self.replica.shared();
        let queue = shared.queue();
        let newest = queue.flows().rev().take(list_limit(request.limit));
        let (flows, truncated) = fit_in_reply(newest.map(|flow| flow_to_pb(flow, &queue)));
        Ok(Response::new(pb::ListFlowsResponse { flows, truncated }))
    }
}

pub(crate) fn submit_from_pb(spec: pb::FlowSpec, defaults: &TaskDefaults) -> Result<SubmitFlow, Status> {
    let steps = spec
        .steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| step_from_pb(step, defaults, &format!("flow task {i}")))
        .collect::<Result<Vec<Step>, Status>>()?;
    let kind = pb::FlowKind::try_from(spec.kind)
        .map_err(|_| status::invalid(format!("unknown flow kind {}", spec.kind)))?;
    if kind != pb::FlowKind::Chord && spec.callback.is_some() {
        return Err(status::invalid("only a chord has a callback"));
    }
    if kind != pb::FlowKind::Chord && spec.on_failure != pb::OnMemberFailure::FailChord as i32 {
        return Err(status::invalid(
            "only a chord has a member failure policy: a chain stops at a failed step, a group records it",
        ));
    }
    let spec_kind = match kind {
        pb::FlowKind::Chain => FlowSpec::Chain(steps),
        pb::FlowKind::Group => FlowSpec::Group(steps),
        pb::FlowKind::Chord => {
            let callback = spec
                .callback
                .ok_or_else(|| status::invalid("a chord needs a callback"))?;
            FlowSpec::Chord {
                members: steps,
                callback: Box::new(step_from_pb(callback, defaults, "the chord's callback")?),
                on_failure: match pb::OnMemberFailure::try_from(spec.on_failure) {
                    Ok(pb::OnMemberFailure::FailChord) => OnMemberFailure::FailChord,
                    Ok(pb::OnMemberFailure::RunCallback) => OnMemberFailure::RunCallback,
                    Err(_) => {
                        return Err(status::invalid(format!(
                            "unknown member failure policy {}",
                            spec.on_failure
                        )));
                    }
                },
            }
        }
        pb::FlowKind::Unspecified => {
            return Err(status::invalid("give the flow a kind: chain, group or chord"));
        }
    };
    let submit = SubmitFlow {
        id: TaskId::generate(),
        spec: spec_kind,
        idempotency_key: (!spec.idempotency_key.is_empty()).then_some(spec.idempotency_key),
        result_ttl_ms: spec.result_ttl_ms.unwrap_or(defaults.result_ttl_ms),
    };
    flow::must_be_valid(&submit).map_err(status::invalid)?;
    Ok(submit)
}

fn step_from_pb(step: pb::FlowStep, defaults: &TaskDefaults, what: &str) -> Result<Step, Status> {
    let task = step
        .task
        .ok_or_else(|| status::invalid(format!("{what} has no task")))?;
    Ok(Step {
        template: convert::template_from_pb(task, defaults, what)?,
        immutable: step.immutable,
    })
}

pub fn flow_to_pb(flow: &Flow, queue: &QueueState) -> pb::Flow {
    let part = |part: Part, status: &PartStatus| {
        let name = flow
            .spec
            .step(part)
            .map(|s| s.template.name.clone())
            .unwrap_or_default();
        let live = status.task.and_then(|id| queue.task(&id));
        let (state, result, error) = match (&status.outcome, live) {
            (Some(outcome), _) => (
                Some(outcome.state),
                outcome.result.clone(),
                outcome.error.clone().unwrap_or_default(),
            ),
            (None, Some(task)) => (Some(task.state), Vec::new(), String::new()),
            (None, None) => (None, Vec::new(), String::new()),
        };
        pb::FlowPart {
            task_id: status.task.map(|id| id.to_string()).unwrap_or_default(),
            name,
            state: state
                .map_or(pb::TaskState::Unspecified, convert::state_to_pb)
                .into(),
            result,
            error,
        }
    };
    let is_chord = matches!(flow.spec, FlowSpec::Chord { .. });
    let parts: Vec<pb::FlowPart> = flow
        .parts
        .iter()
        .enumerate()
        .map(|(i, status)| part(Part::Member(i as u32), status))
        .collect();
    let callback = is_chord.then(|| part(Part::Callback, &flow.callback));
    let ended = |s: &PartStatus| u32::from(s.outcome.is_some());
    let done = flow.parts.iter().map(ended).sum::<u32>() + if is_chord { ended(&flow.callback) } else { 0 };
    pb::Flow {
        id: flow.id.to_string(),
        kind: match flow.spec {
            FlowSpec::Chain(_) => pb::FlowKind::Chain,
            FlowSpec::Group(_) => pb::FlowKind::Group,
            FlowSpec::Chord { .. } => pb::FlowKind::Chord,
        }
        .into(),
        state: match flow.state {
            FlowState::Running => pb::FlowState::FlowRunning,
            FlowState::Succeeded => pb::FlowState::FlowSucceeded,
            FlowState::Failed => pb::FlowState::FlowFailed,
        }
        .into(),
        total: parts.len() as u32 + u32::from(is_chord),
        parts,
        callback,
        done,
        result: flow.result.clone(),
        error: flow.error.clone().unwrap_or_default(),
        created_at_ms: flow.created_at_ms,
        finished_at_ms: flow.finished_at_ms.unwrap_or_default(),
        idempotency_key: flow.idempotency_key.clone().unwrap_or_default(),
    }
}
