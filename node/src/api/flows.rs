//! `qraft.v1.Flows`: submit workflows and follow them.

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::listing::{fit_in_reply, list_limit};
use super::{TaskDefaults, convert, status};
use crate::ops::flows::{self, FlowInput, FlowKind, FlowView, PartView, ShapeInput, StepInput};
use crate::queue::flow::{FlowState, OnMemberFailure};
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
        let submitted = flows::submit(&self.replica, &self.defaults, input_from_pb(spec)?)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::SubmitFlowResponse {
            id: submitted.id.to_string(),
            duplicate: submitted.duplicate,
        }))
    }

    async fn get_flow(&self, request: Request<pb::GetFlowRequest>) -> Result<Response<pb::Flow>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let flow = flows::get(&self.replica, &id, request.linearizable)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(flow_to_pb(flow)))
    }

    async fn list_flows(
        &self,
        request: Request<pb::ListFlowsRequest>,
    ) -> Result<Response<pb::ListFlowsResponse>, Status> {
        let request = request.into_inner();
        let newest = flows::list(&self.replica, list_limit(request.limit), request.linearizable)
            .await
            .map_err(status::from_op_error)?;
        let (flows, truncated) = fit_in_reply(newest.into_iter().map(flow_to_pb));
        Ok(Response::new(pb::ListFlowsResponse { flows, truncated }))
    }
}

/// A flow as proto3 sends it: an empty or zero field is "not given".
pub(crate) fn input_from_pb(spec: pb::FlowSpec) -> Result<FlowInput, Status> {
    let steps = spec
        .steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| step_from_pb(step, &format!("flow task {i}")))
        .collect::<Result<Vec<StepInput>, Status>>()?;
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
    let shape = match kind {
        pb::FlowKind::Chain => ShapeInput::Chain(steps),
        pb::FlowKind::Group => ShapeInput::Group(steps),
        pb::FlowKind::Chord => {
            let callback = spec
                .callback
                .ok_or_else(|| status::invalid("a chord needs a callback"))?;
            ShapeInput::Chord {
                members: steps,
                callback: Box::new(step_from_pb(callback, "the chord's callback")?),
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
    Ok(FlowInput {
        shape,
        idempotency_key: (!spec.idempotency_key.is_empty()).then_some(spec.idempotency_key),
        result_ttl_ms: spec.result_ttl_ms,
    })
}

fn step_from_pb(step: pb::FlowStep, what: &str) -> Result<StepInput, Status> {
    let task = step
        .task
        .ok_or_else(|| status::invalid(format!("{what} has no task")))?;
    Ok(StepInput {
        task: convert::task_input_from_pb(task),
        immutable: step.immutable,
    })
}

pub fn flow_to_pb(flow: FlowView) -> pb::Flow {
    let part = |part: PartView| pb::FlowPart {
        task_id: part.task.map(|id| id.to_string()).unwrap_or_default(),
        name: part.name,
        state: part
            .state
            .map_or(pb::TaskState::Unspecified, convert::state_to_pb)
            .into(),
        result: part.result,
        error: part.error.unwrap_or_default(),
    };
    pb::Flow {
        id: flow.id.to_string(),
        kind: match flow.kind {
            FlowKind::Chain => pb::FlowKind::Chain,
            FlowKind::Group => pb::FlowKind::Group,
            FlowKind::Chord => pb::FlowKind::Chord,
        }
        .into(),
        state: match flow.state {
            FlowState::Running => pb::FlowState::FlowRunning,
            FlowState::Succeeded => pb::FlowState::FlowSucceeded,
            FlowState::Failed => pb::FlowState::FlowFailed,
        }
        .into(),
        total: flow.total,
        parts: flow.parts.into_iter().map(part).collect(),
        callback: flow.callback.map(part),
        done: flow.done,
        result: flow.result,
        error: flow.error.unwrap_or_default(),
        created_at_ms: flow.created_at_ms,
        finished_at_ms: flow.finished_at_ms.unwrap_or_default(),
        idempotency_key: flow.idempotency_key.unwrap_or_default(),
    }
}
