//! What the console knows about the cluster, as plain Rust: the fetcher fills it from the
//! protocol (`fetch/convert.rs` is the only place that reads protobuf), and views read it.
//!
//! It also derives the cluster-wide summary the status bar and the Cluster view need (leader,
//! term, membership, quorum) in `model/summary.rs`, so every view agrees on it. Schedules and limits live in
//! `model/control.rs`, workflows in `model/flow.rs`.

mod control;
mod flow;
mod summary;

pub use self::control::{
    KeyUsageView, LimitsView, Misfire, QueueCapView, RateLimitView, ScheduleView, StoreUsageView, Trigger,
    near_full,
};
pub use self::flow::{FlowKind, FlowPartView, FlowState, FlowView};
pub use self::summary::ClusterSummary;

/// One refresh: every node's answer plus the cluster-wide lists, as of one round of calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Every node asked, in a stable order (by id, unknown ids last).
    pub nodes: Vec<NodeEntry>,
    pub queues: Vec<QueueView>,
    pub workers: Vec<WorkerView>,
    /// The newest tasks matching the server-side part of the task filter, newest first.
    pub tasks: Vec<TaskView>,
    pub schedules: Vec<ScheduleView>,
    pub limits: LimitsView,
    /// The newest flows, newest first.
    pub flows: Vec<FlowView>,
    /// Cluster time (Unix ms) the lists reflect, so ages are judged against the cluster's
    /// clock rather than this machine's. 0 when no node said.
    pub cluster_now_ms: u64,
    /// Reads that failed this round ("queues: ..."); the lists keep their last good value.
    pub problems: Vec<String>,
}

/// One node as the console sees it: the address asked and what came back.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeEntry {
    pub addr: String,
    /// The id this address answered with last time, so a node that stops answering keeps its
    /// identity in the table.
    pub known_id: Option<u64>,
    /// Its own view, or why it could not be asked.
    pub status: Result<NodeView, String>,
}

impl NodeEntry {
    pub fn id(&self) -> Option<u64> {
        match &self.status {
            Ok(view) => Some(view.id),
            Err(_) => self.known_id,
        }
    }

    pub fn view(&self) -> Option<&NodeView> {
        self.status.as_ref().ok()
    }
}

/// A node's answer to NodeStatus.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeView {
    pub id: u64,
    pub addr: String,
    pub role: Role,
    pub term: u64,
    /// `None` when the log is empty.
    pub last_log: Option<u64>,
    pub committed: u64,
    pub applied: u64,
    pub snapshot: u64,
    pub leader: Option<LeaderRef>,
    pub members: Vec<Member>,
    /// Only a leader fills this: how far every other member has come.
    pub peers: Vec<PeerProgress>,
    /// Members the leader recorded as unreachable (replicated, so every node says the same).
    pub unreachable: Vec<u64>,
    pub task_count: u64,
    /// A membership change is under way: its configuration is not committed yet, or joint.
    pub membership_changing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderRef {
    pub id: u64,
    pub addr: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
    #[default]
    Unknown,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Learner => "learner",
            Role::Shutdown => "shutdown",
            Role::Unknown => "?",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub addr: String,
    /// False for a learner: it receives the log but neither votes nor counts for quorum.
    pub voter: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerProgress {
    pub id: u64,
    pub matched: Option<u64>,
    pub lag: u64,
    pub last_ack_ms_ago: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueView {
    pub name: String,
    pub ready: u64,
    pub scheduled: u64,
    pub started: u64,
    pub retry: u64,
    pub dead: u64,
    pub succeeded: u64,
    pub revoked: u64,
    pub expired: u64,
    pub paused: bool,
    pub enqueued_per_s: f64,
    pub completed_per_s: f64,
    pub failed_per_s: f64,
    pub enqueued_total: u64,
    pub completed_total: u64,
    pub failed_total: u64,
    /// Registered workers that consume the queue.
    pub consumers: u32,
    /// Waiting tasks whose name no consumer of the queue declares.
    pub unhandled: u64,
}

impl QueueView {
    /// Tasks not yet finished: what the depth sparkline plots.
    pub fn depth(&self) -> u64 {
        self.ready + self.scheduled + self.started + self.retry
    }

    /// Tasks that wait for a worker that is not there: all waiting ones when nothing consumes
    /// the queue, else those whose name no consumer declares.
    pub fn unserved(&self) -> u64 {
        let waiting = self.ready + self.scheduled + self.retry;
        if self.consumers == 0 {
            waiting
        } else {
            self.unhandled.min(waiting)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerView {
    pub id: String,
    pub node: String,
    pub kind: String,
    pub queues: Vec<String>,
    pub concurrency: u32,
    pub active: u32,
    pub processed: u64,
    pub failed: u64,
    /// Cluster time (Unix ms) of its last heartbeat, lease or answer.
    pub last_seen_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskState {
    Pending,
    Scheduled,
    Started,
    Retry,
    Success,
    /// A dead letter.
    Failure,
    Revoked,
    Expired,
    #[default]
    Unknown,
}

impl TaskState {
    pub const ALL: [TaskState; 8] = [
        TaskState::Pending,
        TaskState::Scheduled,
        TaskState::Started,
        TaskState::Retry,
        TaskState::Success,
        TaskState::Failure,
        TaskState::Revoked,
        TaskState::Expired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TaskState::Pending => "PENDING",
            TaskState::Scheduled => "SCHEDULED",
            TaskState::Started => "STARTED",
            TaskState::Retry => "RETRY",
            TaskState::Success => "SUCCESS",
            TaskState::Failure => "FAILURE",
            TaskState::Revoked => "REVOKED",
            TaskState::Expired => "EXPIRED",
            TaskState::Unknown => "?",
        }
    }

    /// Parses a state as an operator types it: any case, and `dead` for FAILURE.
    pub fn parse(text: &str) -> Option<TaskState> {
        let lower = text.to_ascii_lowercase();
        if lower == "dead" {
            return Some(TaskState::Failure);
        }
        TaskState::ALL
            .into_iter()
            .find(|state| state.name().eq_ignore_ascii_case(&lower))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskView {
    pub id: String,
    pub name: String,
    pub queue: String,
    pub state: TaskState,
    pub priority: u32,
    pub attempts: u32,
    pub retries: u32,
    pub max_retries: u32,
    pub worker: String,
    pub args: Vec<u8>,
    pub result: Vec<u8>,
    pub error: String,
    /// Cluster times, Unix ms; 0 when unset.
    pub created_at_ms: u64,
    pub eta_ms: u64,
    pub expires_at_ms: u64,
    pub started_at_ms: u64,
    pub finished_at_ms: u64,
    pub retry_at_ms: u64,
    pub lease_deadline_ms: u64,
    pub timeout_ms: u64,
    /// The current lease's delivery number (fencing token); 0 when not leased.
    pub delivery: u32,
}

/// One entry of the replicated event timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    /// Replicated sequence number: the same on every node, so it orders and deduplicates.
    pub seq: u64,
    /// Cluster time (Unix ms).
    pub at_ms: u64,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    LeaderElected {
        node: u64,
        term: u64,
        election_ms: u64,
        previous: Option<u64>,
    },
    Reachability {
        node: u64,
        reachable: bool,
    },
    Worker {
        worker: String,
        node: String,
        joined: bool,
        /// Left by silence (no heartbeat for a minute), not by saying goodbye.
        timed_out: bool,
    },
    TaskFailed {
        id: String,
        name: String,
        queue: String,
        error: String,
        dead: bool,
    },
    Queue {
        /// `None` for dead-letter actions over every queue or one task.
        queue: Option<String>,
        action: QueueAction,
        count: u64,
    },
    /// A node joined, became a voter or left the membership.
    Membership {
        node: u64,
        /// Where it serves; `None` when the event did not say.
        addr: Option<String>,
        change: MemberChange,
    },
    /// A voter's wall clock went far off the others' (or came back in step).
    ClockSkew {
        node: u64,
        /// Its clock minus the others' (ms).
        skew_ms: i64,
        in_step: bool,
    },
    /// A node that lost its data is rebuilt from the start on its operator's word.
    LogReverted {
        node: u64,
    },
    /// A kind this console does not know (a newer server); shown, not dropped.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Joined as a learner: it receives the log but does not vote yet.
    Learner,
    /// Caught up and made a voter.
    Voter,
    /// Removed from the cluster; its id is never used again.
    Removed,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAction {
    Paused,
    Resumed,
    Purged,
    DeadRetried,
    DeadPurged,
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_states_parse_in_any_case_and_dead_means_failure() {
        assert_eq!(TaskState::parse("started"), Some(TaskState::Started));
        assert_eq!(TaskState::parse("Retry"), Some(TaskState::Retry));
        assert_eq!(TaskState::parse("dead"), Some(TaskState::Failure));
        assert_eq!(TaskState::parse("FAILURE"), Some(TaskState::Failure));
        assert_eq!(TaskState::parse("done"), None);
    }
}
