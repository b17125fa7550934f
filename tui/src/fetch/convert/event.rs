//! `qraft.v1.Event`s, the replicated timeline, as console types.

use qraft_proto::pb;

use crate::model::{EventKind, EventView, MemberChange, QueueAction};

pub fn event(event: pb::Event) -> EventView {
    use pb::event::Kind;
    let kind = match event.kind {
        Some(Kind::LeaderElected(elected)) => EventKind::LeaderElected {
            node: elected.node,
            term: elected.term,
            election_ms: elected.election_ms,
            previous: (elected.previous != 0).then_some(elected.previous),
        },
        Some(Kind::Node(node)) => EventKind::Reachability {
            node: node.node,
            reachable: node.reachable,
        },
        Some(Kind::Worker(change)) => EventKind::Worker {
            worker: change.worker,
            node: change.node,
            joined: change.joined,
            timed_out: change.timed_out,
        },
        Some(Kind::TaskFailed(failed)) => EventKind::TaskFailed {
            id: failed.id,
            name: failed.name,
            queue: failed.queue,
            error: failed.error,
            dead: failed.dead,
        },
        Some(Kind::Queue(change)) => {
            let action = match change.action() {
                pb::QueueAction::Paused => QueueAction::Paused,
                pb::QueueAction::Resumed => QueueAction::Resumed,
                pb::QueueAction::Purged => QueueAction::Purged,
                pb::QueueAction::DeadRetried => QueueAction::DeadRetried,
                pb::QueueAction::DeadPurged => QueueAction::DeadPurged,
                pb::QueueAction::Unspecified => QueueAction::Unknown,
            };
            EventKind::Queue {
                queue: (!change.queue.is_empty()).then_some(change.queue),
                action,
                count: change.count,
            }
        }
        Some(Kind::Membership(change)) => {
            let kind = match change.change() {
                pb::MemberChangeKind::MemberLearner => MemberChange::Learner,
                pb::MemberChangeKind::MemberVoter => MemberChange::Voter,
                pb::MemberChangeKind::MemberRemoved => MemberChange::Removed,
                pb::MemberChangeKind::MemberChangeUnspecified => MemberChange::Unknown,
            };
            EventKind::Membership {
                node: change.node,
                addr: (!change.addr.is_empty()).then_some(change.addr),
                change: kind,
            }
        }
        Some(Kind::Clock(skew)) => EventKind::ClockSkew {
            node: skew.node,
            skew_ms: skew.skew_ms,
            in_step: skew.in_step,
        },
        Some(Kind::LogReverted(reverted)) => EventKind::LogReverted { node: reverted.node },
        None => EventKind::Unknown,
    };
    EventView {
        seq: event.seq,
        at_ms: event.at_ms,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn membership(node: u64, addr: &str, change: i32) -> EventKind {
        event(pb::Event {
            seq: 9,
            at_ms: 1,
            kind: Some(pb::event::Kind::Membership(pb::MembershipChange {
                node,
                addr: addr.to_owned(),
                change,
            })),
        })
        .kind
    }

    #[test]
    fn membership_changes_become_events() {
        assert_eq!(
            membership(4, "10.0.0.4:7000", pb::MemberChangeKind::MemberLearner.into()),
            EventKind::Membership {
                node: 4,
                addr: Some("10.0.0.4:7000".into()),
                change: MemberChange::Learner,
            }
        );
        assert_eq!(
            membership(4, "", pb::MemberChangeKind::MemberVoter.into()),
            EventKind::Membership {
                node: 4,
                addr: None,
                change: MemberChange::Voter,
            }
        );
        assert!(matches!(
            membership(3, "", pb::MemberChangeKind::MemberRemoved.into()),
            EventKind::Membership {
                node: 3,
                change: MemberChange::Removed,
                ..
            }
        ));
        // A newer server's change kind is shown as unknown, not dropped.
        assert!(matches!(
            membership(3, "", 42),
            EventKind::Membership {
                change: MemberChange::Unknown,
                ..
            }
        ));
    }

    #[test]
    fn zero_and_empty_mean_absent() {
        let elected = event(pb::Event {
            seq: 4,
            at_ms: 1,
            kind: Some(pb::event::Kind::LeaderElected(pb::LeaderElected {
                node: 3,
                term: 7,
                election_ms: 412,
                previous: 0,
            })),
        });
        assert!(matches!(
            elected.kind,
            EventKind::LeaderElected { previous: None, .. }
        ));
        let global = event(pb::Event {
            seq: 5,
            at_ms: 1,
            kind: Some(pb::event::Kind::Queue(pb::QueueChange {
                queue: String::new(),
                action: pb::QueueAction::DeadRetried.into(),
                count: 3,
            })),
        });
        assert!(matches!(
            global.kind,
            EventKind::Queue {
                queue: None,
                count: 3,
                ..
            }
        ));
    }
}
