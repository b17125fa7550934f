//! The cluster as one node sees it: its role, log positions, members and their progress.

use crate::clock::{skew_ms, wall_ms};
use crate::raft::{Replica, ReplicaStatus};

/// This node, and how it names itself.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// The address peers and clients reach it at.
    pub addr: String,
    pub cluster_name: String,
}

/// A node's status: Raft's view, plus what the replicated state says of the cluster.
#[derive(Clone, Debug)]
pub struct NodeView {
    pub raft: ReplicaStatus,
    pub info: NodeInfo,
    pub task_count: u64,
    /// Members the leader last found unreachable.
    pub unreachable: Vec<u64>,
    /// Members that hold part of the log.
    pub active_members: Vec<u64>,
    pub membership_changing: bool,
    pub wall_ms: u64,
    /// This node's wall clock minus the cluster time it has applied.
    pub clock_skew_ms: i64,
}

pub fn node_status(replica: &Replica, info: &NodeInfo) -> NodeView {
    let raft = replica.status();
    let (task_count, unreachable, active_members, cluster_ms) = {
        let queue = replica.shared().queue();
        let meta = queue.meta();
        (
            queue.task_count() as u64,
            meta.unreachable.iter().copied().collect(),
            meta.active.iter().copied().collect(),
            meta.now_ms,
        )
    };
    let wall_ms = wall_ms();
    NodeView {
        raft,
        info: info.clone(),
        task_count,
        unreachable,
        active_members,
        membership_changing: replica.membership().changing,
        wall_ms,
        clock_skew_ms: skew_ms(wall_ms, cluster_ms),
    }
}
