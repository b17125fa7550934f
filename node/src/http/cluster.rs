//! `/v1/status`: this node's view of the cluster, the way every client finds the leader.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::App;
use super::json::time;
use crate::ops::cluster;
use crate::raft::Role;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberJson {
    pub id: u64,
    pub addr: String,
    /// A voter counts toward the quorum; a learner only catches up.
    pub voter: bool,
}

/// A follower's progress, as its leader sees it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PeerJson {
    pub id: u64,
    pub matched_index: Option<u64>,
    /// Entries behind the leader's last.
    pub lag: u64,
    pub last_ack_ms_ago: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusJson {
    pub id: u64,
    /// The gRPC address peers and clients reach this node at.
    pub addr: String,
    pub cluster_name: String,
    pub version: String,
    /// leader, follower, candidate, learner or shutdown.
    pub role: String,
    pub term: u64,
    pub leader_id: Option<u64>,
    pub leader_addr: Option<String>,
    pub last_log_index: Option<u64>,
    pub committed_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    pub purged_index: Option<u64>,
    pub members: Vec<MemberJson>,
    /// Every other member's progress; empty unless this node leads.
    pub peers: Vec<PeerJson>,
    pub unreachable: Vec<u64>,
    pub membership_changing: bool,
    pub task_count: u64,
    pub wall_clock: String,
    /// This node's wall clock minus the cluster time it has applied.
    pub clock_skew_ms: i64,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Follower => "follower",
        Role::Candidate => "candidate",
        Role::Learner => "learner",
        Role::Shutdown => "shutdown",
    }
}

/// `GET /v1/status`: any role may ask.
#[utoipa::path(get, path = "/v1/status", tag = "cluster",
    responses((status = 200, body = StatusJson)))]
pub async fn status(State(app): State<App>) -> axum::Json<StatusJson> {
    let view = cluster::node_status(&app.replica, &app.node);
    let raft = view.raft;
    axum::Json(StatusJson {
        id: raft.id,
        addr: view.info.addr,
        cluster_name: view.info.cluster_name,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        role: role_name(raft.role).to_owned(),
        term: raft.term,
        leader_id: raft.leader.as_ref().map(|l| l.id),
        leader_addr: raft.leader.map(|l| l.addr),
        last_log_index: raft.last_log_index,
        committed_index: raft.committed_index,
        applied_index: raft.applied_index,
        snapshot_index: raft.snapshot_index,
        purged_index: raft.purged_index,
        members: raft
            .members
            .into_iter()
            .map(|m| MemberJson {
                id: m.id,
                addr: m.addr,
                voter: m.voter,
            })
            .collect(),
        peers: raft
            .peers
            .into_iter()
            .map(|p| PeerJson {
                id: p.id,
                matched_index: p.matched_index,
                lag: p.lag,
                last_ack_ms_ago: p.last_ack.map(|d| d.as_millis() as u64),
            })
            .collect(),
        unreachable: view.unreachable,
        membership_changing: view.membership_changing,
        task_count: view.task_count,
        wall_clock: time(view.wall_ms),
        clock_skew_ms: view.clock_skew_ms,
    })
}
