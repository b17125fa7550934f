//! `qraft.v1.Flows` answers as console types.

use qraft_proto::pb;

use super::task_state;
use crate::model::{FlowKind, FlowPartView, FlowState, FlowView};

/// How many flows the Flows view asks for. Each carries every part, so this stays well below
/// the node's maximum (10000): a hundred flows of a thousand parts would be a large answer.
pub const FLOWS_LISTED: u32 = 50;

pub fn flow(flow: pb::Flow) -> FlowView {
    let kind = match flow.kind() {
        pb::FlowKind::Chain => FlowKind::Chain,
        pb::FlowKind::Group => FlowKind::Group,
        pb::FlowKind::Chord => FlowKind::Chord,
        pb::FlowKind::Unspecified => FlowKind::Unknown,
    };
    let state = match flow.state() {
        pb::FlowState::FlowRunning => FlowState::Running,
        pb::FlowState::FlowSucceeded => FlowState::Succeeded,
        pb::FlowState::FlowFailed => FlowState::Failed,
        pb::FlowState::Unspecified => FlowState::Unknown,
    };
    FlowView {
        id: flow.id,
        kind,
        state,
        parts: flow.parts.into_iter().map(part).collect(),
        callback: flow.callback.map(part),
        done: flow.done,
        total: flow.total,
        result: flow.result,
        error: flow.error,
        created_at_ms: flow.created_at_ms,
        finished_at_ms: flow.finished_at_ms,
        idempotency_key: flow.idempotency_key,
    }
}

fn part(part: pb::FlowPart) -> FlowPartView {
    // Unspecified is "not enqueued yet" here, not a state the console does not know.
    let state = match part.state() {
        pb::TaskState::Unspecified => None,
        known => Some(task_state(known)),
    };
    // The part's result is left out: the view never shows it, and a flow of many parts would
    // keep every result in memory for nothing.
    FlowPartView {
        name: part.name,
        task_id: part.task_id,
        state,
        error: part.error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskState;

    #[test]
    fn a_chord_keeps_its_callback_and_unenqueued_parts_have_no_state() {
        let view = flow(pb::Flow {
            id: "01JF".into(),
            kind: pb::FlowKind::Chord.into(),
            state: pb::FlowState::FlowRunning.into(),
            parts: vec![pb::FlowPart {
                task_id: "01JT".into(),
                name: "resize".into(),
                state: pb::TaskState::Success.into(),
                result: b"big".to_vec(),
                error: String::new(),
            }],
            callback: Some(pb::FlowPart {
                name: "merge".into(),
                ..Default::default()
            }),
            done: 1,
            total: 2,
            ..Default::default()
        });
        assert_eq!((view.kind, view.state), (FlowKind::Chord, FlowState::Running));
        assert_eq!((view.done, view.total), (1, 2));
        assert_eq!(view.parts[0].state, Some(TaskState::Success));
        assert_eq!(view.parts[0].task_id, "01JT");
        let callback = view.callback.unwrap_or_default();
        assert_eq!(callback.name, "merge");
        assert_eq!(callback.state, None);
        assert_eq!(callback.task_id, "");
    }

    #[test]
    fn a_failed_chain_has_no_callback_and_keeps_its_error() {
        let view = flow(pb::Flow {
            kind: pb::FlowKind::Chain.into(),
            state: pb::FlowState::FlowFailed.into(),
            error: "step 1 failed".into(),
            ..Default::default()
        });
        assert_eq!((view.kind, view.state), (FlowKind::Chain, FlowState::Failed));
        assert_eq!(view.callback, None);
        assert_eq!(view.error, "step 1 failed");
        let unknown = flow(pb::Flow::default());
        assert_eq!(
            (unknown.kind, unknown.state),
            (FlowKind::Unknown, FlowState::Unknown)
        );
    }
}
