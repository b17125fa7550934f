//! `Admin.WatchEvents`: the replicated timeline, from a sequence number on. The stream wakes when
//! an apply makes events and sends what is new; because events carry replicated sequence numbers, a
//! console that loses this node continues on another from the last one it saw.

use std::pin::Pin;

use futures::Stream;
use qraft_proto::pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::queue::{Event, EventKind, MemberChange, QueueAction};
use crate::raft::Replica;

pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Events, Status>> + Send>>;

/// Most events in one message.
const MAX_PER_MESSAGE: usize = 500;

pub fn event_stream(replica: Replica, after_seq: u64) -> EventStream {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(forward(replica, after_seq, tx));
    Box::pin(ReceiverStream::new(rx))
}

async fn forward(replica: Replica, mut after_seq: u64, tx: mpsc::Sender<Result<pb::Events, Status>>) {
    // Subscribed before the first read, so an event between the read and the wait still wakes us.
    let mut last_event = replica.shared().last_event();
    loop {
        let events: Vec<pb::Event> = replica
            .shared()
            .queue()
            .events_after(after_seq)
            .take(MAX_PER_MESSAGE)
            .map(event_to_pb)
            .collect();
        if let Some(last) = events.last() {
            after_seq = last.seq;
            if tx.send(Ok(pb::Events { events })).await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = tx.closed() => return,
            changed = last_event.changed() => if changed.is_err() {
                let _ = tx.send(Err(Status::unavailable("this node is shutting down"))).await;
                return;
            },
        }
    }
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
