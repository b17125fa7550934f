//! `Admin.WatchEvents`: the replicated timeline, from a sequence number on. The stream wakes when
//! an apply makes events and sends what is new; because events carry replicated sequence numbers, a
//! console that loses this node continues on another from the last one it saw.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use qraft_proto::pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::ops::streams;
use crate::queue::{Event, EventKind, MemberChange, QueueAction};
use crate::raft::Replica;

pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Events, Status>> + Send>>;

/// The timeline after `after_seq`, one message per batch.
pub fn event_stream(replica: Replica, after_seq: u64) -> EventStream {
    let batches = ReceiverStream::new(streams::events(&replica, after_seq));
    Box::pin(batches.map(|batch| match batch {
        Ok(events) => Ok(pb::Events {
            events: events.iter().map(event_to_pb).collect(),
        }),
        Err(e) => Err(super::status::from_op_error(e)),
    }))
}

pub fn event_to_pb(event: &Event) -> pb::Event {
    use pb::event::Kind;
    let kind = match &event.kind {
        EventKind::LeaderElected {
            node,
            term,
            election_ms,
            previous,
        } => Kind::LeaderElected(pb::LeaderElected {
            node: *node,
            term: *term,
            election_ms: *election_ms,
            previous: previous.unwrap_or_default(),
        }),
        EventKind::NodeReachability { node, reachable } => Kind::Node(pb::NodeReachability {
            node: *node,
            reachable: *reachable,
        }),
        EventKind::WorkerJoined { worker, node } => Kind::Worker(pb::WorkerChange {
            worker: worker.clone(),
            node: node.clone(),
            joined: true,
            timed_out: false,
        }),
        EventKind::WorkerLeft {
            worker,
            node,
            timed_out,
        } => Kind::Worker(pb::WorkerChange {
            worker: worker.clone(),
            node: node.clone(),
            joined: false,
            timed_out: *timed_out,
        }),
        EventKind::TaskFailed {
            id,
            name,
            queue,
            error,
            dead,
        } => Kind::TaskFailed(pb::TaskFailed {
            id: id.to_string(),
            name: name.clone(),
            queue: queue.clone(),
            error: error.clone(),
            dead: *dead,
        }),
        EventKind::Queue { queue, action, count } => Kind::Queue(pb::QueueChange {
            queue: queue.clone(),
            action: match action {
                QueueAction::Paused => pb::QueueAction::Paused,
                QueueAction::Resumed => pb::QueueAction::Resumed,
                QueueAction::Purged => pb::QueueAction::Purged,
                QueueAction::DeadRetried => pb::QueueAction::DeadRetried,
                QueueAction::DeadPurged => pb::QueueAction::DeadPurged,
            }
            .into(),
            count: *count,
        }),
        EventKind::Membership { node, addr, change } => Kind::Membership(pb::MembershipChange {
            node: *node,
            addr: addr.clone(),
            change: match change {
                MemberChange::Learner => pb::MemberChangeKind::MemberLearner,
                MemberChange::Voter => pb::MemberChangeKind::MemberVoter,
                MemberChange::Removed => pb::MemberChangeKind::MemberRemoved,
            }
            .into(),
        }),
        EventKind::ClockSkew {
            node,
            skew_ms,
            in_step,
        } => Kind::Clock(pb::ClockSkew {
            node: *node,
            skew_ms: *skew_ms,
            in_step: *in_step,
        }),
        EventKind::LogReverted { node } => Kind::LogReverted(pb::LogReverted { node: *node }),
    };
    pb::Event {
        seq: event.seq,
        at_ms: event.at_ms,
        kind: Some(kind),
    }
}
