//! `qraft.v1.Admin`: cluster and node status.

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::tasks::{list_limit, read_tasks};
use super::{convert, linearizable, propose_one, status, unexpected};
use crate::queue::validate::must_be_name;
use crate::queue::{Command, DeadSelector, Outcome, TaskFilter, TaskState};
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

    async fn list_workers(
        &self,
        _request: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let shared = self.replica.shared();
        let queue = shared.queue();
        let workers = queue
            .workers()
            .map(|w| pb::WorkerStatus {
                id: w.id.clone(),
                node: w.node.clone(),
                kind: w.kind.name().to_string(),
                queues: w.queues.clone(),
                concurrency: w.concurrency,
                active: w.active,
                processed: w.processed,
                failed: w.failed,
                last_seen_ms: w.last_seen_ms,
                registered_at_ms: w.registered_at_ms,
            })
            .collect();
        Ok(Response::new(pb::ListWorkersResponse {
            workers,
            now_ms: queue.now_ms(),
        }))
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        if request.into_inner().linearizable {
            linearizable(&self.replica).await?;
        }
        let stats = self.replica.shared().queue().stats();
        let queues = stats
            .into_iter()
            .map(|(name, s)| pb::QueueStats {
                name,
                ready: s.count(TaskState::Pending),
                scheduled: s.count(TaskState::Scheduled),
                started: s.count(TaskState::Started),
                retry: s.count(TaskState::Retry),
                dead: s.count(TaskState::Failure),
                succeeded: s.count(TaskState::Success),
                revoked: s.count(TaskState::Revoked),
                expired: s.count(TaskState::Expired),
                paused: s.paused,
            })
            .collect();
        Ok(Response::new(pb::ListQueuesResponse { queues }))
    }

    async fn pause_queue(
        &self,
        request: Request<pb::QueueRequest>,
    ) -> Result<Response<pb::QueueResponse>, Status> {
        let queue = queue_name(request)?;
        propose_one(&self.replica, Command::PauseQueue { queue }).await?;
        Ok(Response::new(pb::QueueResponse {}))
    }

    async fn resume_queue(
        &self,
        request: Request<pb::QueueRequest>,
    ) -> Result<Response<pb::QueueResponse>, Status> {
        let queue = queue_name(request)?;
        propose_one(&self.replica, Command::ResumeQueue { queue }).await?;
        Ok(Response::new(pb::QueueResponse {}))
    }

    async fn purge_queue(
        &self,
        request: Request<pb::QueueRequest>,
    ) -> Result<Response<pb::CountResponse>, Status> {
        let queue = queue_name(request)?;
        count(propose_one(&self.replica, Command::PurgeQueue { queue }).await?)
    }

    async fn list_dead(
        &self,
        request: Request<pb::ListDeadRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let request = request.into_inner();
        let filter = TaskFilter {
            queue: (!request.queue.is_empty()).then_some(request.queue),
            state: Some(TaskState::Failure),
            name: None,
            limit: list_limit(request.limit),
        };
        read_tasks(&self.replica, request.linearizable, &filter).await
    }

    async fn retry_dead(
        &self,
        request: Request<pb::DeadRequest>,
    ) -> Result<Response<pb::CountResponse>, Status> {
        let selector = selector(request.into_inner())?;
        count(propose_one(&self.replica, Command::RetryDead { selector }).await?)
    }

    async fn purge_dead(
        &self,
        request: Request<pb::DeadRequest>,
    ) -> Result<Response<pb::CountResponse>, Status> {
        let selector = selector(request.into_inner())?;
        count(propose_one(&self.replica, Command::PurgeDead { selector }).await?)
    }
}

fn queue_name(request: Request<pb::QueueRequest>) -> Result<String, Status> {
    let queue = request.into_inner().queue;
    must_be_name("queue name", &queue).map_err(status::invalid)?;
    Ok(queue)
}

fn selector(request: pb::DeadRequest) -> Result<DeadSelector, Status> {
    match (request.id.is_empty(), request.queue.is_empty(), request.all) {
        (false, true, false) => Ok(DeadSelector::Task(convert::parse_id(&request.id)?)),
        (true, false, false) => {
            must_be_name("queue name", &request.queue).map_err(status::invalid)?;
            Ok(DeadSelector::Queue(request.queue))
        }
        (true, true, true) => Ok(DeadSelector::All),
        _ => Err(status::invalid("name exactly one of: a task id, a queue, or all")),
    }
}

fn count(outcome: Outcome) -> Result<Response<pb::CountResponse>, Status> {
    match outcome {
        Outcome::Count(count) => Ok(Response::new(pb::CountResponse { count })),
        other => Err(unexpected(&other)),
    }
}
