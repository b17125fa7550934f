//! The timeline's wording of each event.

use super::{clock, duration_ms};
use crate::model::{EventKind, EventView, MemberChange, QueueAction};

/// The text of one event, without its time.
pub fn event_text(kind: &EventKind) -> String {
    match kind {
        EventKind::LeaderElected {
            node,
            term,
            election_ms,
            previous,
        } => match previous {
            Some(previous) => format!(
                "term {term}: n{previous} → n{node}, election {}",
                duration_ms(*election_ms)
            ),
            None => format!(
                "term {term}: n{node} elected, election {}",
                duration_ms(*election_ms)
            ),
        },
        EventKind::Reachability { node, reachable } => {
            format!("node {node} {}", if *reachable { "back" } else { "unreachable" })
        }
        EventKind::Worker {
            worker,
            node,
            joined,
            timed_out,
        } => {
            let what = match (joined, timed_out) {
                (true, _) => "joined",
                (false, false) => "left",
                (false, true) => "timed out (no heartbeat for 60 s)",
            };
            format!("worker {worker} {what} ({node})")
        }
        EventKind::TaskFailed {
            id,
            name,
            queue,
            error,
            dead,
        } => format!(
            "task {id} {name} failed in queue {queue}: {error} ({})",
            if *dead { "dead" } else { "will retry" }
        ),
        EventKind::Queue { queue, action, count } => queue_event_text(queue.as_deref(), *action, *count),
        EventKind::Membership { node, addr, change } => membership_text(*node, addr.as_deref(), *change),
        EventKind::ClockSkew {
            node,
            skew_ms,
            in_step,
        } => {
            if *in_step {
                format!("node {node}'s clock is back in step")
            } else {
                format!(
                    "node {node}'s clock is {} {} the others'",
                    duration_ms(skew_ms.unsigned_abs()),
                    if *skew_ms > 0 { "ahead of" } else { "behind" }
                )
            }
        }
        EventKind::LogReverted { node } => {
            format!("node {node} lost its data: rebuilt from the start (--rebuild)")
        }
        EventKind::Unknown => "an event this console does not know".into(),
    }
}

fn queue_event_text(queue: Option<&str>, action: QueueAction, count: u64) -> String {
    let letters = if count == 1 { "dead letter" } else { "dead letters" };
    let scope = queue
        .map(|queue| format!(" in queue {queue}"))
        .unwrap_or_default();
    let queue = queue.unwrap_or("?");
    match action {
        QueueAction::Paused => format!("queue {queue} paused"),
        QueueAction::Resumed => format!("queue {queue} resumed"),
        QueueAction::Purged => format!("queue {queue} purged {count} tasks"),
        QueueAction::DeadRetried => format!("retried {count} {letters}{scope}"),
        QueueAction::DeadPurged => format!("purged {count} {letters}{scope}"),
        QueueAction::Unknown => format!("queue {queue}: an action this console does not know"),
    }
}

fn membership_text(node: u64, addr: Option<&str>, change: MemberChange) -> String {
    match change {
        MemberChange::Learner => match addr {
            Some(addr) => format!("node {node} joined as a learner ({addr})"),
            None => format!("node {node} joined as a learner"),
        },
        MemberChange::Voter => format!("node {node} caught up: now a voter"),
        MemberChange::Removed => format!("node {node} removed"),
        MemberChange::Unknown => format!("node {node}: a membership change this console does not know"),
    }
}

/// One timeline line: `12:01:07  term 7: n1 → n3, election 412 ms`.
pub fn event_line(event: &EventView) -> String {
    format!("{}  {}", clock(event.at_ms), event_text(&event.kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines() {
        let line = |kind| {
            event_line(&EventView {
                seq: 1,
                at_ms: 43_267_000,
                kind,
            })
        };
        assert_eq!(
            line(EventKind::LeaderElected {
                node: 3,
                term: 7,
                election_ms: 412,
                previous: Some(1)
            }),
            "12:01:07  term 7: n1 → n3, election 412 ms"
        );
        assert_eq!(
            event_text(&EventKind::LeaderElected {
                node: 3,
                term: 7,
                election_ms: 1200,
                previous: None
            }),
            "term 7: n3 elected, election 1.2 s"
        );
        assert_eq!(
            event_text(&EventKind::Reachability {
                node: 2,
                reachable: false
            }),
            "node 2 unreachable"
        );
        assert_eq!(
            event_text(&EventKind::Reachability {
                node: 2,
                reachable: true
            }),
            "node 2 back"
        );
        assert_eq!(
            event_text(&EventKind::Worker {
                worker: "node1-pool".into(),
                node: "node1".into(),
                joined: true,
                timed_out: false
            }),
            "worker node1-pool joined (node1)"
        );
        assert_eq!(
            event_text(&EventKind::Worker {
                worker: "py-7".into(),
                node: "host-2".into(),
                joined: false,
                timed_out: true
            }),
            "worker py-7 timed out (no heartbeat for 60 s) (host-2)"
        );
        let failed = |dead| EventKind::TaskFailed {
            id: "01J".into(),
            name: "mail.send".into(),
            queue: "default".into(),
            error: "boom".into(),
            dead,
        };
        assert_eq!(
            event_text(&failed(false)),
            "task 01J mail.send failed in queue default: boom (will retry)"
        );
        assert!(event_text(&failed(true)).ends_with("(dead)"));
        let queue = |action, count| EventKind::Queue {
            queue: Some("emails".into()),
            action,
            count,
        };
        assert_eq!(event_text(&queue(QueueAction::Paused, 0)), "queue emails paused");
        assert_eq!(
            event_text(&queue(QueueAction::Resumed, 0)),
            "queue emails resumed"
        );
        assert_eq!(
            event_text(&queue(QueueAction::Purged, 120)),
            "queue emails purged 120 tasks"
        );
        assert_eq!(
            event_text(&EventKind::Queue {
                queue: None,
                action: QueueAction::DeadRetried,
                count: 3
            }),
            "retried 3 dead letters"
        );
        assert_eq!(
            event_text(&queue(QueueAction::DeadPurged, 1)),
            "purged 1 dead letter in queue emails"
        );
    }

    #[test]
    fn clock_and_rebuild_lines() {
        let skew = |skew_ms, in_step| EventKind::ClockSkew {
            node: 2,
            skew_ms,
            in_step,
        };
        assert_eq!(
            event_text(&skew(180_400, false)),
            "node 2's clock is 3m 00s ahead of the others'"
        );
        assert_eq!(
            event_text(&skew(-12_000, false)),
            "node 2's clock is 12 s behind the others'"
        );
        assert_eq!(event_text(&skew(40, true)), "node 2's clock is back in step");
        assert_eq!(
            event_text(&EventKind::LogReverted { node: 3 }),
            "node 3 lost its data: rebuilt from the start (--rebuild)"
        );
    }

    #[test]
    fn membership_lines() {
        let change = |addr: Option<&str>, change| EventKind::Membership {
            node: 4,
            addr: addr.map(str::to_owned),
            change,
        };
        assert_eq!(
            event_text(&change(Some("10.0.0.4:7000"), MemberChange::Learner)),
            "node 4 joined as a learner (10.0.0.4:7000)"
        );
        assert_eq!(
            event_text(&change(None, MemberChange::Learner)),
            "node 4 joined as a learner"
        );
        assert_eq!(
            event_text(&change(Some("10.0.0.4:7000"), MemberChange::Voter)),
            "node 4 caught up: now a voter"
        );
        assert_eq!(event_text(&change(None, MemberChange::Removed)), "node 4 removed");
        assert_eq!(
            event_text(&change(None, MemberChange::Unknown)),
            "node 4: a membership change this console does not know"
        );
    }
}
