//! The cluster as one node sees it (its role, log positions, members and their progress), and
//! the changes an operator makes to it: adding and removing nodes, moving leadership.

use std::time::Duration;

use super::OpError;
use crate::clock::{skew_ms, wall_ms};
use crate::queue::validate::MAX_DURATION_MS;
use crate::raft::Added;
use crate::raft::{Member, Replica, ReplicaStatus};

/// How long a new node may take to catch up when the request names no limit.
pub const DEFAULT_ADD_LIMIT: Duration = Duration::from_secs(10 * 60);

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

/// Adds node `id` at `addr` (its gRPC address, reachable from every member): first as a
/// learner that catches up, within `limit` (default 10 min), then as a voter. Answered once it
/// votes, with the members then. Safe to resend.
pub async fn add_node(
    replica: &Replica,
    id: u64,
    addr: &str,
    limit: Option<Duration>,
) -> Result<(Added, Vec<Member>), OpError> {
    if !crate::config::is_host_port(addr) {
        return Err(OpError::Invalid(format!(
            "node address {addr:?} is not HOST:PORT, e.g. 10.0.0.4:7071"
        )));
    }
    let limit = limit
        .unwrap_or(DEFAULT_ADD_LIMIT)
        .min(Duration::from_millis(MAX_DURATION_MS));
    let added = replica.add_node(id, addr, limit).await?;
    Ok((added, replica.membership().members))
}

/// Removes node `id` (false when it was not a member), with the members then. The leader
/// removing itself hands leadership over first and answers "not the leader" with the new one.
pub async fn remove_node(replica: &Replica, id: u64) -> Result<(bool, Vec<Member>), OpError> {
    let removed = replica.remove_node(id).await?;
    Ok((removed, replica.membership().members))
}

/// Hands leadership to voter `to` (or the most up-to-date one): the new leader, and how long
/// the cluster took to have it.
pub async fn transfer_leader(replica: &Replica, to: Option<u64>) -> Result<(Member, Duration), OpError> {
    let (leader, pause) = replica.transfer_leader(to).await?;
    tracing::info!(
        to = leader.id,
        pause_ms = pause.as_millis() as u64,
        "leadership transferred"
    );
    Ok((leader, pause))
}
