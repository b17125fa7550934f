//! `qraft.v1.Flows` calls, and builders for the common shapes of flow.

use super::{Client, ClientError, into_inner, stubs};
use crate::pb;

impl pb::FlowSpec {
    /// Tasks run one after another, each after the first getting the previous result as args.
    pub fn chain(steps: impl IntoIterator<Item = pb::TaskSpec>) -> pb::FlowSpec {
        Self::of(pb::FlowKind::Chain, steps)
    }

    /// Tasks run in parallel under one flow id.
    pub fn group(members: impl IntoIterator<Item = pb::TaskSpec>) -> pb::FlowSpec {
        Self::of(pb::FlowKind::Group, members)
    }

    /// A group, then `callback` with every member's outcome as a JSON array.
    pub fn chord(
        members: impl IntoIterator<Item = pb::TaskSpec>,
        callback: pb::TaskSpec,
        on_failure: pb::OnMemberFailure,
    ) -> pb::FlowSpec {
        pb::FlowSpec {
            callback: Some(pb::FlowStep {
                task: Some(callback),
                immutable: false,
            }),
            on_failure: on_failure.into(),
            ..Self::of(pb::FlowKind::Chord, members)
        }
    }

    fn of(kind: pb::FlowKind, tasks: impl IntoIterator<Item = pb::TaskSpec>) -> pb::FlowSpec {
        pb::FlowSpec {
            kind: kind.into(),
            steps: tasks
                .into_iter()
                .map(|task| pb::FlowStep {
                    task: Some(task),
                    immutable: false,
                })
                .collect(),
            ..Default::default()
        }
    }
}

impl Client {
    /// Starts a flow and returns its id. Like [`Client::submit`]: with an idempotency key the
    /// submit is resent across failovers; without one an unknown outcome is returned as
    /// [`ClientError::Unknown`].
    pub async fn submit_flow(&self, flow: pb::FlowSpec) -> Result<pb::SubmitFlowResponse, ClientError> {
        let keyed = !flow.idempotency_key.is_empty();
        let request = pb::SubmitFlowRequest { flow: Some(flow) };
        stubs::must_fit(&request, "the flow")?;
        let call = |channel| {
            let request = request.clone();
            async move { into_inner(stubs::flows(channel).submit_flow(request).await) }
        };
        if keyed {
            self.call_hedged(call).await
        } else {
            self.call_write(call).await
        }
    }

    pub async fn get_flow(&self, id: &str, linearizable: bool) -> Result<pb::Flow, ClientError> {
        let request = pb::GetFlowRequest {
            id: id.to_owned(),
            linearizable,
        };
        self.call_hedged(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::flows(channel).get_flow(request).await) }
        })
        .await
    }

    /// Flows, newest first; `truncated` when the rest did not fit in one reply.
    pub async fn list_flows(
        &self,
        limit: u32,
        linearizable: bool,
    ) -> Result<pb::ListFlowsResponse, ClientError> {
        let request = pb::ListFlowsRequest { limit, linearizable };
        self.call_hedged(|channel| async move { into_inner(stubs::flows(channel).list_flows(request).await) })
            .await
    }
}
