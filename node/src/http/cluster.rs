//! `/v1/status`: this node's view of the cluster, the way every client finds the leader; and
//! `/v1/cluster`: its members, adding and removing nodes, moving leadership.

use std::time::Duration;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::App;
use super::extract::Body;
use super::json::time;
use super::problem::{Details, Problem};
use crate::ops::cluster;
use crate::raft::{Member, Role};

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

impl From<Member> for MemberJson {
    fn from(member: Member) -> Self {
        MemberJson {
            id: member.id,
            addr: member.addr,
            voter: member.voter,
        }
    }
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
        members: raft.members.into_iter().map(MemberJson::from).collect(),
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

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MembersJson {
    pub members: Vec<MemberJson>,
    pub leader_id: Option<u64>,
    /// A membership change is under way.
    pub changing: bool,
}

/// `GET /v1/cluster/members`: the members this node knows, as `qraft cluster status` shows.
#[utoipa::path(get, path = "/v1/cluster/members", tag = "cluster",
    responses((status = 200, body = MembersJson)))]
pub async fn members(State(app): State<App>) -> axum::Json<MembersJson> {
    let membership = app.replica.membership();
    axum::Json(MembersJson {
        members: membership.members.into_iter().map(MemberJson::from).collect(),
        leader_id: app.replica.status().leader.map(|leader| leader.id),
        changing: membership.changing,
    })
}

/// A node to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNodeJson {
    /// A new id: never one a removed node had.
    pub id: u64,
    /// Where the new node serves gRPC (its `--advertise` address), reachable from every member.
    pub addr: String,
    /// How long it may take to catch up before the change is given up (default 10 min).
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AddedJson {
    /// False when the node was a voter already (a resent add).
    pub added: bool,
    /// From the request to the node's becoming a voter.
    pub took_ms: u64,
    pub members: Vec<MemberJson>,
}

/// `POST /v1/cluster/members`: adds a node as a learner that catches up, then as a voter;
/// answers once it votes. Must reach the leader (a follower answers 503 with its address).
#[utoipa::path(post, path = "/v1/cluster/members", tag = "cluster", request_body = AddNodeJson,
    responses((status = 200, body = AddedJson), (status = "4XX", body = Details, content_type = "application/problem+json"),
        (status = "5XX", description = "Not the leader (`x-qraft-leader`), or the outcome is unknown", body = Details, content_type = "application/problem+json")))]
pub async fn add_node(
    State(app): State<App>,
    Body(json): Body<AddNodeJson>,
) -> Result<axum::Json<AddedJson>, Problem> {
    let limit = json.timeout_ms.map(Duration::from_millis);
    let (added, members) = cluster::add_node(&app.replica, json.id, &json.addr, limit).await?;
    Ok(axum::Json(AddedJson {
        added: added.added,
        took_ms: added.took.as_millis() as u64,
        members: members.into_iter().map(MemberJson::from).collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RemovedNodeJson {
    /// False when the node was not a member (a resent remove).
    pub removed: bool,
    pub members: Vec<MemberJson>,
}

/// `DELETE /v1/cluster/members/{id}`: refused when the voters left, or those reachable now,
/// would not make a majority. The leader removing itself hands leadership over first and
/// answers 503 with the new leader's address: send it there.
#[utoipa::path(delete, path = "/v1/cluster/members/{id}", tag = "cluster",
    params(("id" = u64, Path, description = "The node's id")),
    responses((status = 200, body = RemovedNodeJson), (status = "4XX", body = Details, content_type = "application/problem+json"),
        (status = "5XX", body = Details, content_type = "application/problem+json")))]
pub async fn remove_node(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<axum::Json<RemovedNodeJson>, Problem> {
    let id = id
        .parse::<u64>()
        .map_err(|_| Problem::invalid(format!("node id {id:?} is not a number")))?;
    let (removed, members) = cluster::remove_node(&app.replica, id).await?;
    Ok(axum::Json(RemovedNodeJson {
        removed,
        members: members.into_iter().map(MemberJson::from).collect(),
    }))
}

/// Where leadership should go.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferJson {
    /// The voter to hand leadership to; absent picks the most up-to-date one.
    pub to: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TransferredJson {
    pub leader_id: u64,
    pub leader_addr: String,
    /// From the request to the new leader being known here.
    pub pause_ms: u64,
}

/// `POST /v1/cluster/leader`: hands leadership over (before maintenance of the leader's
/// machine, say), as `qraft cluster transfer-leader` does.
#[utoipa::path(post, path = "/v1/cluster/leader", tag = "cluster", request_body = TransferJson,
    responses((status = 200, body = TransferredJson), (status = "4XX", body = Details, content_type = "application/problem+json"),
        (status = "5XX", body = Details, content_type = "application/problem+json")))]
pub async fn transfer_leader(
    State(app): State<App>,
    Body(json): Body<TransferJson>,
) -> Result<axum::Json<TransferredJson>, Problem> {
    let (leader, pause) = cluster::transfer_leader(&app.replica, json.to).await?;
    Ok(axum::Json(TransferredJson {
        leader_id: leader.id,
        leader_addr: leader.addr,
        pause_ms: pause.as_millis() as u64,
    }))
}
