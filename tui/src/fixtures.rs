//! Cluster states for tests: a healthy three-node cluster, one with a node down, one without
//! quorum, and queues, workers, tasks and events to go with them; schedules and limits in
//! `fixtures/control.rs`, flows in `fixtures/flows.rs`, a cluster grown to five nodes with a
//! learner catching up in `fixtures/membership.rs`. Fixed numbers and times, so snapshots are
//! the same on every run.

mod control;
mod flows;
mod membership;

pub use self::control::{limits, schedules};
pub use self::flows::flows;
pub use self::membership::{grown_events, grown_nodes};

use std::time::{Duration, Instant};

use crate::app::{App, Msg, StreamState};
use crate::model::{
    EventKind, EventView, LeaderRef, Member, NodeEntry, NodeView, PeerProgress, QueueAction, QueueView, Role,
    Snapshot, TaskState, TaskView, WorkerView,
};

/// Cluster time of the fixtures: 2026-01-01 12:01:07 UTC.
pub const NOW_MS: u64 = 1_767_268_867_000;
const REFUSED: &str = "Unavailable: tcp connect error: Connection refused (os error 111)";

fn addr(id: u64) -> String {
    format!("127.0.0.1:707{id}")
}

fn members() -> Vec<Member> {
    (1..=3)
        .map(|id| Member {
            id,
            addr: addr(id),
            voter: true,
        })
        .collect()
}

fn node(id: u64, role: Role, term: u64, leader: Option<u64>, applied: u64) -> NodeView {
    NodeView {
        id,
        addr: addr(id),
        role,
        term,
        last_log: Some(applied),
        committed: applied,
        applied,
        snapshot: 1000,
        leader: leader.map(|id| LeaderRef { id, addr: addr(id) }),
        members: members(),
        peers: Vec::new(),
        unreachable: Vec::new(),
        task_count: 4312,
        membership_changing: false,
    }
}

fn entry(view: NodeView) -> NodeEntry {
    NodeEntry {
        addr: view.addr.clone(),
        known_id: Some(view.id),
        status: Ok(view),
    }
}

fn down(id: u64) -> NodeEntry {
    NodeEntry {
        addr: addr(id),
        known_id: Some(id),
        status: Err(REFUSED.to_owned()),
    }
}

fn peer(id: u64, lag: u64, last_ack_ms_ago: Option<u64>) -> PeerProgress {
    PeerProgress {
        id,
        matched: Some(1042 - lag),
        lag,
        last_ack_ms_ago,
    }
}

/// n1 leads term 7; n2 and n3 follow closely.
pub fn healthy_nodes(leader: u64) -> Vec<NodeEntry> {
    (1..=3)
        .map(|id| {
            let mut view = node(id, Role::Follower, 7, Some(leader), 1042);
            if id == leader {
                view.role = Role::Leader;
                view.peers = (1..=3)
                    .filter(|&peer_id| peer_id != leader)
                    .map(|peer_id| peer(peer_id, peer_id - 1, Some(40 + peer_id * 5)))
                    .collect();
            } else {
                view.committed = 1040;
                view.applied = 1040;
            }
            entry(view)
        })
        .collect()
}

/// n3 is down: the console cannot reach it and the leader has marked it unreachable.
pub fn one_down_nodes() -> Vec<NodeEntry> {
    let mut nodes = healthy_nodes(1);
    nodes[2] = down(3);
    if let Ok(leader) = &mut nodes[0].status {
        leader.peers = vec![peer(2, 0, Some(38)), peer(3, 57, Some(4200))];
        leader.unreachable = vec![3];
    }
    if let Ok(follower) = &mut nodes[1].status {
        follower.unreachable = vec![3];
    }
    nodes
}

/// n3 answers the console, but the leader cannot reach it (a partition between them).
pub fn partitioned_nodes() -> Vec<NodeEntry> {
    let mut nodes = healthy_nodes(1);
    for entry in &mut nodes {
        if let Ok(view) = &mut entry.status {
            view.unreachable = vec![3];
            if view.id == 1 {
                view.peers = vec![peer(2, 0, Some(38)), peer(3, 312, Some(9_800))];
            }
            if view.id == 3 {
                view.committed = 730;
                view.applied = 730;
                view.last_log = Some(730);
            }
        }
    }
    nodes
}

/// Only n1 answers, campaigning in term 9 with no leader.
pub fn no_quorum_nodes() -> Vec<NodeEntry> {
    vec![entry(node(1, Role::Candidate, 9, None, 1042)), down(2), down(3)]
}

pub fn queues(step: u64) -> Vec<QueueView> {
    vec![
        QueueView {
            name: "default".into(),
            ready: 12 + step * 3 % 17,
            scheduled: 4,
            started: 8,
            retry: 1,
            dead: 0,
            succeeded: 18_230,
            enqueued_per_s: 42.5,
            completed_per_s: 41.0,
            failed_per_s: 0.2,
            enqueued_total: 18_400,
            completed_total: 18_230,
            failed_total: 17,
            consumers: 2,
            ..QueueView::default()
        },
        QueueView {
            name: "emails".into(),
            ready: 1_250 + step * 40,
            started: 0,
            dead: 3,
            paused: true,
            succeeded: 920,
            enqueued_per_s: 1_234.0,
            enqueued_total: 2_170_000,
            completed_total: 920,
            failed_total: 5,
            consumers: 1,
            ..QueueView::default()
        },
        QueueView {
            name: "reports".into(),
            revoked: 2,
            expired: 1,
            ..QueueView::default()
        },
        QueueView {
            name: "thumbnails".into(),
            ready: 7,
            enqueued_total: 7,
            ..QueueView::default()
        },
    ]
}

pub fn workers() -> Vec<WorkerView> {
    vec![
        WorkerView {
            id: "node1-pool".into(),
            node: "node1".into(),
            kind: "embedded".into(),
            queues: vec!["default".into(), "emails".into()],
            concurrency: 8,
            active: 3,
            processed: 18_100,
            failed: 12,
            last_seen_ms: NOW_MS - 2_000,
        },
        WorkerView {
            id: "py-worker-7f3a".into(),
            node: "node2".into(),
            kind: "remote".into(),
            queues: vec!["reports".into()],
            concurrency: 2,
            active: 0,
            processed: 130,
            failed: 5,
            last_seen_ms: NOW_MS - 95_000,
        },
    ]
}

pub fn tasks() -> Vec<TaskView> {
    vec![
        TaskView {
            id: "01JGZ8Y4E6S2Q9V3M5K7T1B0CD".into(),
            name: "mail.send".into(),
            queue: "emails".into(),
            state: TaskState::Started,
            priority: 5,
            attempts: 2,
            retries: 1,
            max_retries: 3,
            worker: "node1-pool".into(),
            args: br#"{"to":"ada@example.com","subject":"Welcome"}"#.to_vec(),
            created_at_ms: NOW_MS - 3_000,
            started_at_ms: NOW_MS - 1_000,
            lease_deadline_ms: NOW_MS + 29_000,
            timeout_ms: 60_000,
            delivery: 2,
            ..TaskView::default()
        },
        TaskView {
            id: "01JGZ8XZQ0A1B2C3D4E5F6G7H8".into(),
            name: "report.build".into(),
            queue: "reports".into(),
            state: TaskState::Failure,
            attempts: 4,
            retries: 3,
            max_retries: 3,
            worker: "py-worker-7f3a".into(),
            args: vec![0x00, 0x9f, 0x92, 0x96, 0xff],
            error: "KeyError: 'region'".into(),
            created_at_ms: NOW_MS - 130_000,
            finished_at_ms: NOW_MS - 60_000,
            ..TaskView::default()
        },
        TaskView {
            id: "01JGZ8XA9R8P7N6M5L4K3J2H1G".into(),
            name: "mail.send".into(),
            queue: "default".into(),
            state: TaskState::Success,
            attempts: 1,
            worker: "node1-pool".into(),
            args: b"{}".to_vec(),
            result: b"sent".to_vec(),
            created_at_ms: NOW_MS - 7_200_000,
            ..TaskView::default()
        },
    ]
}

pub fn events() -> Vec<EventView> {
    let at = |seconds_ago: u64| NOW_MS - seconds_ago * 1000;
    vec![
        EventView {
            seq: 1,
            at_ms: at(600),
            kind: EventKind::LeaderElected {
                node: 1,
                term: 6,
                election_ms: 1_310,
                previous: None,
            },
        },
        EventView {
            seq: 2,
            at_ms: at(590),
            kind: EventKind::Worker {
                worker: "node1-pool".into(),
                node: "node1".into(),
                joined: true,
                timed_out: false,
            },
        },
        EventView {
            seq: 3,
            at_ms: at(300),
            kind: EventKind::Reachability {
                node: 2,
                reachable: false,
            },
        },
        EventView {
            seq: 4,
            at_ms: at(299),
            kind: EventKind::LeaderElected {
                node: 1,
                term: 7,
                election_ms: 412,
                previous: Some(2),
            },
        },
        EventView {
            seq: 5,
            at_ms: at(240),
            kind: EventKind::Reachability {
                node: 2,
                reachable: true,
            },
        },
        EventView {
            seq: 6,
            at_ms: at(60),
            kind: EventKind::TaskFailed {
                id: "01JGZ8XZQ0A1B2C3D4E5F6G7H8".into(),
                name: "report.build".into(),
                queue: "reports".into(),
                error: "KeyError: 'region'".into(),
                dead: true,
            },
        },
        EventView {
            seq: 7,
            at_ms: at(30),
            kind: EventKind::Queue {
                queue: Some("emails".into()),
                action: QueueAction::Paused,
                count: 0,
            },
        },
        EventView {
            seq: 8,
            at_ms: at(0),
            kind: EventKind::Queue {
                queue: None,
                action: QueueAction::DeadRetried,
                count: 3,
            },
        },
    ]
}

pub fn snapshot(nodes: Vec<NodeEntry>, step: u64) -> Snapshot {
    Snapshot {
        nodes,
        queues: queues(step),
        workers: workers(),
        tasks: tasks(),
        schedules: schedules(),
        limits: limits(),
        flows: flows(),
        cluster_now_ms: NOW_MS,
        problems: Vec::new(),
    }
}

/// A console that has seen twenty refreshes of `nodes` (for the sparklines), the events and a
/// connected stream; its clock is one second after the last refresh.
pub fn app(nodes: Vec<NodeEntry>, read_only: bool) -> App {
    app_with_events(nodes, events(), read_only)
}

/// [`app`] with another timeline.
pub fn app_with_events(nodes: Vec<NodeEntry>, events: Vec<EventView>, read_only: bool) -> App {
    let start = Instant::now();
    let mut app = App::new(read_only, start);
    let mut at = start;
    for step in 0..20 {
        at = start + Duration::from_secs(step);
        app.update(at, Msg::Snapshot(Box::new(snapshot(nodes.clone(), step))));
    }
    app.update(at, Msg::Stream(StreamState::Connected(addr(1))));
    app.update(at, Msg::Events(events));
    app.update(at + Duration::from_secs(1), Msg::Tick);
    app
}
