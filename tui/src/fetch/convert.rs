//! The one place protobuf meets the console: `pb` messages become [`crate::model`] types, and
//! the console's filter and targets become requests. Schedules and limits are converted in
//! `convert/control.rs`, timeline events in `convert/event.rs`, flows in `convert/flows.rs`.

mod control;
mod event;
mod flows;

use qraft_proto::pb;

pub use self::control::{limits, schedules};
pub use self::event::event;
pub use self::flows::{FLOWS_LISTED, flow};

use crate::filter::TaskFilter;
use crate::model::{
    LeaderRef, Member, NodeView, PeerProgress, QueueView, Role, TaskState, TaskView, WorkerView,
};

/// How many tasks the Tasks view asks for: a screenful or two of the newest.
const TASKS_LISTED: u32 = 200;

pub fn node_view(status: pb::NodeStatus) -> NodeView {
    let role = match status.role() {
        pb::NodeRole::Leader => Role::Leader,
        pb::NodeRole::Follower => Role::Follower,
        pb::NodeRole::Candidate => Role::Candidate,
        pb::NodeRole::Learner => Role::Learner,
        pb::NodeRole::Shutdown => Role::Shutdown,
        pb::NodeRole::Unspecified => Role::Unknown,
    };
    let leader = (status.leader_id != 0).then(|| LeaderRef {
        id: status.leader_id,
        addr: status.leader_addr.clone(),
    });
    NodeView {
        id: status.id,
        role,
        term: status.term,
        // An index is 0 both for "index 0" and for "no log"; a node with an empty log has only
        // ever written nothing, so 0 reads as "none".
        last_log: (status.last_log_index != 0).then_some(status.last_log_index),
        committed: status.committed_index,
        applied: status.applied_index,
        snapshot: status.snapshot_index,
        leader,
        members: status
            .members
            .into_iter()
            .map(|member| Member {
                id: member.id,
                addr: member.addr,
                voter: member.voter,
            })
            .collect(),
        peers: status
            .peers
            .into_iter()
            .map(|peer| PeerProgress {
                id: peer.id,
                matched: peer.has_matched.then_some(peer.matched_index),
                lag: peer.lag,
                last_ack_ms_ago: peer.last_ack_ms_ago,
            })
            .collect(),
        unreachable: status.unreachable,
        task_count: status.task_count,
        membership_changing: status.membership_changing,
        addr: status.addr,
    }
}

pub fn queue(stats: pb::QueueStats) -> QueueView {
    QueueView {
        name: stats.name,
        ready: stats.ready,
        scheduled: stats.scheduled,
        started: stats.started,
        retry: stats.retry,
        dead: stats.dead,
        succeeded: stats.succeeded,
        revoked: stats.revoked,
        expired: stats.expired,
        paused: stats.paused,
        enqueued_per_s: stats.enqueued_per_s,
        completed_per_s: stats.completed_per_s,
        failed_per_s: stats.failed_per_s,
        enqueued_total: stats.enqueued_total,
        completed_total: stats.completed_total,
        failed_total: stats.failed_total,
        consumers: stats.consumers,
        unhandled: stats.unhandled.iter().map(|u| u.count).sum(),
    }
}

fn worker(status: pb::WorkerStatus) -> WorkerView {
    WorkerView {
        id: status.id,
        node: status.node,
        kind: status.kind,
        queues: status.queues,
        concurrency: status.concurrency,
        active: status.active,
        processed: status.processed,
        failed: status.failed,
        last_seen_ms: status.last_seen_ms,
    }
}

pub fn task_state(state: pb::TaskState) -> TaskState {
    match state {
        pb::TaskState::Pending => TaskState::Pending,
        pb::TaskState::Scheduled => TaskState::Scheduled,
        pb::TaskState::Started => TaskState::Started,
        pb::TaskState::Retry => TaskState::Retry,
        pb::TaskState::Success => TaskState::Success,
        pb::TaskState::Failure => TaskState::Failure,
        pb::TaskState::Revoked => TaskState::Revoked,
        pb::TaskState::Expired => TaskState::Expired,
        pb::TaskState::Unspecified => TaskState::Unknown,
    }
}

fn pb_task_state(state: TaskState) -> pb::TaskState {
    match state {
        TaskState::Pending => pb::TaskState::Pending,
        TaskState::Scheduled => pb::TaskState::Scheduled,
        TaskState::Started => pb::TaskState::Started,
        TaskState::Retry => pb::TaskState::Retry,
        TaskState::Success => pb::TaskState::Success,
        TaskState::Failure => pb::TaskState::Failure,
        TaskState::Revoked => pb::TaskState::Revoked,
        TaskState::Expired => pb::TaskState::Expired,
        TaskState::Unknown => pb::TaskState::Unspecified,
    }
}

pub fn task(task: pb::Task) -> TaskView {
    TaskView {
        state: task_state(task.state()),
        id: task.id,
        name: task.name,
        queue: task.queue,
        priority: task.priority,
        attempts: task.attempts,
        retries: task.retries,
        max_retries: task.max_retries,
        worker: task.worker,
        args: task.args,
        result: task.result,
        error: task.error,
        created_at_ms: task.created_at_ms,
        eta_ms: task.eta_ms,
        expires_at_ms: task.expires_at_ms,
        started_at_ms: task.started_at_ms,
        finished_at_ms: task.finished_at_ms,
        retry_at_ms: task.retry_at_ms,
        lease_deadline_ms: task.lease_deadline_ms,
        timeout_ms: task.timeout_ms,
        delivery: task.delivery,
    }
}

/// The worker list and the cluster time it reflects.
pub fn workers(response: pb::ListWorkersResponse) -> (Vec<WorkerView>, u64) {
    (
        response.workers.into_iter().map(worker).collect(),
        response.now_ms,
    )
}

/// The state a revoke left the task in: REVOKED, or the final state it had already reached.
pub fn revoke_outcome(response: &pb::RevokeResponse) -> TaskState {
    task_state(response.state())
}

/// The leader a transfer ended with, and how long writes paused.
pub fn transfer_outcome(response: pb::TransferLeaderResponse) -> (LeaderRef, u64) {
    (
        LeaderRef {
            id: response.leader_id,
            addr: response.leader_addr,
        },
        response.pause_ms,
    )
}

/// The server's part of the filter; bare words are applied locally.
pub fn list_tasks_request(filter: &TaskFilter) -> pb::ListTasksRequest {
    pb::ListTasksRequest {
        queue: filter.queue.clone().unwrap_or_default(),
        state: filter
            .state
            .map_or(pb::TaskState::Unspecified, pb_task_state)
            .into(),
        name: filter.name.clone().unwrap_or_default(),
        limit: TASKS_LISTED,
        linearizable: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_state_round_trips() {
        for state in TaskState::ALL {
            assert_eq!(task_state(pb_task_state(state)), state);
        }
    }

    #[test]
    fn filter_becomes_the_request() {
        let filter = TaskFilter::parse("queue=emails state=dead word").unwrap_or_default();
        let request = list_tasks_request(&filter);
        assert_eq!(request.queue, "emails");
        assert_eq!(request.state(), pb::TaskState::Failure);
        assert_eq!(request.name, "");
        assert_eq!(request.limit, TASKS_LISTED);
    }

    #[test]
    fn learners_and_a_change_under_way_are_kept() {
        let view = node_view(pb::NodeStatus {
            id: 5,
            role: pb::NodeRole::Learner.into(),
            members: vec![pb::Member {
                id: 5,
                addr: "10.0.0.5:7000".into(),
                voter: false,
            }],
            membership_changing: true,
            ..Default::default()
        });
        assert_eq!(view.role, Role::Learner);
        assert!(view.membership_changing);
        assert!(!view.members[0].voter);
    }

    #[test]
    fn zero_means_absent() {
        let view = node_view(pb::NodeStatus {
            id: 2,
            role: pb::NodeRole::Follower.into(),
            peers: vec![pb::PeerProgress {
                id: 3,
                matched_index: 0,
                has_matched: false,
                lag: 9,
                last_ack_ms_ago: None,
            }],
            ..Default::default()
        });
        assert_eq!(view.role, Role::Follower);
        assert_eq!(view.leader, None);
        assert_eq!(view.last_log, None);
        assert_eq!(view.peers[0].matched, None);
    }
}
