//! `qraft.v1.Admin`: cluster and node status.

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use crate::raft::{Replica, Role};

pub struct AdminService {
    replica: Replica,
    advertise: String,
    cluster_name: String,
}

impl AdminService {
    pub fn new(replica: Replica, advertise: String, cluster_name: String) -> Self {
        AdminService {
            replica,
            advertise,
            cluster_name,
        }
    }
}

fn role_to_pb(role: Role) -> pb::NodeRole {
    match role {
        Role::Leader => pb::NodeRole::Leader,
        Role::Follower => pb::NodeRole::Follower,
        Role::Candidate => pb::NodeRole::Candidate,
        Role::Learner => pb::NodeRole::Learner,
        Role::Shutdown => pb::NodeRole::Shutdown,
    }
}

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminService {
    async fn node_status(
        &self,
        _request: Request<pb::NodeStatusRequest>,
    ) -> Result<Response<pb::NodeStatus>, Status> {
        let status = self.replica.status();
        let task_count = self.replica.shared().queue().task_count() as u64;
        Ok(Response::new(pb::NodeStatus {
            id: status.id,
            addr: self.advertise.clone(),
            role: role_to_pb(status.role).into(),
            term: status.term,
            last_log_index: status.last_log_index.unwrap_or_default(),
            applied_index: status.applied_index.unwrap_or_default(),
            snapshot_index: status.snapshot_index.unwrap_or_default(),
            purged_index: status.purged_index.unwrap_or_default(),
            leader_id: status.leader.as_ref().map_or(0, |l| l.id),
            leader_addr: status.leader.map(|l| l.addr).unwrap_or_default(),
            members: status
                .members
                .into_iter()
                .map(|m| pb::Member {
                    id: m.id,
                    addr: m.addr,
                    voter: m.voter,
                })
                .collect(),
            cluster_name: self.cluster_name.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            task_count,
        }))
    }
}
