//! The event timeline operators watch: elections, unreachable peers, workers coming and going,
//! failed tasks and queue operations. Events are made in apply, so they are replicated like
//! everything else: every node keeps the same latest [`EVENT_CAPACITY`] events under the same
//! sequence numbers, and a console that loses its node resumes from another without gaps.

use serde::{Deserialize, Serialize};

use super::task::TaskId;

/// Events each replica keeps; older ones are dropped as new ones arrive.
pub const EVENT_CAPACITY: usize = 1_000;
/// Failure messages in events are cut to this many bytes: the task keeps the whole message.
pub const EVENT_ERROR_BYTES: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3...: assigned in apply, so the same on every replica.
    pub seq: u64,
    /// Cluster time of the apply that made it.
    pub at_ms: u64,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    LeaderElected {
        node: u64,
        term: u64,
        election_ms: u64,
        /// The leader recorded before it, if any.
        previous: Option<u64>,
    },
    NodeReachability {
        node: u64,
        reachable: bool,
    },
    WorkerJoined {
        worker: String,
        node: String,
    },
    WorkerLeft {
        worker: String,
        node: String,
        /// It sent no heartbeat for [`crate::queue::worker::WORKER_TTL_MS`]; it did not leave.
        #[serde(default)]
        timed_out: bool,
    },
    TaskFailed {
        id: TaskId,
        name: String,
        queue: String,
        error: String,
        /// Failed for good: now a dead letter.
        dead: bool,
    },
    Queue {
        /// Empty for dead-letter actions that are not about one queue.
        queue: String,
        action: QueueAction,
        count: u64,
    },
    Membership {
        node: u64,
        addr: String,
        change: MemberChange,
    },
    /// `node`'s wall clock read `skew_ms` off the others' (`in_step`: back within
    /// [`crate::clock::MAX_SKEW_MS`]).
    ClockSkew {
        node: u64,
        skew_ms: i64,
        in_step: bool,
    },
    /// `node` lost its data and is rebuilt from the start on its operator's word.
    LogReverted {
        node: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueueAction {
    Paused,
    Resumed,
    Purged,
    DeadRetried,
    DeadPurged,
}

/// What the leader observes of the cluster and writes into the log, so that it becomes an event
/// every replica holds (and, for reachability, state every future leader starts from).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// `node` won the election for `term`; the cluster had no leader for about `election_ms`.
    LeaderElected { node: u64, term: u64, election_ms: u64 },
    /// The leader lost (or regained) contact with `node`.
    Reachability { node: u64, reachable: bool },
    /// The leader changed the membership.
    Membership {
        node: u64,
        addr: String,
        change: MemberChange,
    },
    /// The leader saw `node` hold part of the log for the first time. From then on the node may
    /// have counted toward a quorum, so it must never come back with empty data under its id
    /// as if nothing had happened (see `raft/control/bootstrap.rs`).
    Active { node: u64 },
    /// The leader read `node`'s wall clock `skew_ms` off the others' (its own, when a majority
    /// reads it far off).
    ClockSkew { node: u64, skew_ms: i64 },
    /// The leader replicates to `node` from the start: it lost its data and its operator said
    /// `--rebuild`.
    LogReverted { node: u64 },
}

/// A step of a membership change, as the timeline shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberChange {
    /// Joined as a learner: it receives the log (by snapshot if need be) but does not vote.
    Learner,
    /// Caught up and made a voter.
    Voter,
    /// Removed; its id is retired and never taken again.
    Removed,
}

/// `error` cut to [`EVENT_ERROR_BYTES`] at a character boundary.
pub fn shortened(error: &str) -> String {
    if error.len() <= EVENT_ERROR_BYTES {
        return error.to_owned();
    }
    let mut end = EVENT_ERROR_BYTES;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &error[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_at_a_character_boundary() {
        assert_eq!(shortened("boom"), "boom");
        let long = "é".repeat(EVENT_ERROR_BYTES);
        let cut = shortened(&long);
        assert!(cut.len() <= EVENT_ERROR_BYTES + "…".len());
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("éé"));
    }
}
