//! `qraft.v1.Admin`: node status, queues, workers, dead letters, events, leadership and
//! membership.

use std::time::Duration;

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::events::{EventStream, event_stream};
use super::listing::list_limit;
use super::status;
use super::tasks::read_tasks;
use crate::ops::cluster::{self, NodeInfo};
use crate::ops::queues;
use crate::ops::rates::RateTracker;
use crate::queue::{DeadSelector, TaskFilter, TaskState};
use crate::raft::{Member, Replica, Role};

pub struct AdminService {
    replica: Replica,
    info: NodeInfo,
    rates: RateTracker,
}

impl AdminService {
    /// Starts sampling queue totals for rates; the sampling stops when the service is dropped.
    pub fn new(replica: Replica, info: NodeInfo) -> Self {
        AdminService {
            rates: RateTracker::start(replica.clone()),
            replica,
            info,
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

fn stages_to_pb(timings: &crate::metrics::Timings) -> Vec<pb::StageTiming> {
    use crate::metrics::stage::{FACTOR, FIRST_BOUND_SECONDS};
    timings
        .stages()
        .into_iter()
        .map(|(name, _, stage)| {
            let reading = stage.read();
            pb::StageTiming {
                name: name.to_string(),
                sum_seconds: reading.sum_seconds,
                first_bound_seconds: FIRST_BOUND_SECONDS,
                factor: FACTOR,
                buckets: reading.buckets,
            }
        })
        .collect()
}

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminService {
    type WatchEventsStream = EventStream;

    async fn node_status(
        &self,
        _request: Request<pb::NodeStatusRequest>,
    ) -> Result<Response<pb::NodeStatus>, Status> {
        let view = cluster::node_status(&self.replica, &self.info);
        let status = view.raft;
        Ok(Response::new(pb::NodeStatus {
            id: status.id,
            addr: view.info.addr,
            role: role_to_pb(status.role).into(),
            term: status.term,
            last_log_index: status.last_log_index.unwrap_or_default(),
            committed_index: status.committed_index.unwrap_or_default(),
            applied_index: status.applied_index.unwrap_or_default(),
            snapshot_index: status.snapshot_index.unwrap_or_default(),
            purged_index: status.purged_index.unwrap_or_default(),
            leader_id: status.leader.as_ref().map_or(0, |l| l.id),
            leader_addr: status.leader.map(|l| l.addr).unwrap_or_default(),
            members: status.members.into_iter().map(member_to_pb).collect(),
            cluster_name: view.info.cluster_name,
            version: env!("CARGO_PKG_VERSION").to_string(),
            task_count: view.task_count,
            peers: status
                .peers
                .into_iter()
                .map(|p| pb::PeerProgress {
                    id: p.id,
                    matched_index: p.matched_index.unwrap_or_default(),
                    has_matched: p.matched_index.is_some(),
                    lag: p.lag,
                    last_ack_ms_ago: p.last_ack.map(|d| d.as_millis() as u64),
                })
                .collect(),
            unreachable: view.unreachable,
            membership_changing: view.membership_changing,
            active_members: view.active_members,
            wall_ms: view.wall_ms,
            clock_skew_ms: view.clock_skew_ms,
            stages: stages_to_pb(self.replica.timings()),
        }))
    }

    async fn list_workers(
        &self,
        _request: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let (workers, now_ms) = queues::workers(&self.replica);
        let workers = workers
            .into_iter()
            .map(|w| pb::WorkerStatus {
                kind: w.kind.name().to_string(),
                id: w.id,
                node: w.node,
                queues: w.queues,
                names: w.names,
                concurrency: w.concurrency,
                active: w.active,
                processed: w.processed,
                failed: w.failed,
                last_seen_ms: w.last_seen_ms,
                registered_at_ms: w.registered_at_ms,
            })
            .collect();
        Ok(Response::new(pb::ListWorkersResponse { workers, now_ms }))
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        let views = queues::queues(&self.replica, &self.rates, request.into_inner().linearizable)
            .await
            .map_err(status::from_op_error)?;
        let queues = views
            .into_iter()
            .map(|q| pb::QueueStats {
                name: q.name,
                ready: q.ready,
                scheduled: q.scheduled,
                started: q.started,
                retry: q.retry,
                dead: q.dead,
                succeeded: q.succeeded,
                revoked: q.revoked,
                expired: q.expired,
                paused: q.paused,
                enqueued_per_s: q.enqueued_per_s,
                completed_per_s: q.completed_per_s,
                failed_per_s: q.failed_per_s,
                enqueued_total: q.enqueued_total,
                completed_total: q.completed_total,
                failed_total: q.failed_total,
                consumers: q.consumers,
                unhandled: q
                    .unhandled
                    .into_iter()
                    .map(|(name, count)| pb::NameCount { name, count })
                    .collect(),
            })
            .collect();
        Ok(Response::new(pb::ListQueuesResponse { queues }))
    }

    async fn pause_queue(
        &self,
        request: Request<pb::QueueRequest>,
    ) -> Result<Response<pb::QueueResponse>, Status> {
        queues::pause(&self.replica, request.into_inner().queue)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::QueueResponse {}))
    }

    async fn resume_queue(
        &self,
        request: Request<pb::QueueRequest>,
    ) -> Result<Response<pb::QueueResponse>, Status> {
        queues::resume(&self.replica, request.into_inner().queue)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::QueueResponse {}))
    }

    async fn purge_queue(
        &self,
        request: Request<pb::QueueRequest>,
    ) -> Result<Response<pb::CountResponse>, Status> {
        let count = queues::purge(&self.replica, request.into_inner().queue)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::CountResponse { count }))
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
        let count = queues::retry_dead(&self.replica, selector)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::CountResponse { count }))
    }

    async fn purge_dead(
        &self,
        request: Request<pb::DeadRequest>,
    ) -> Result<Response<pb::CountResponse>, Status> {
        let selector = selector(request.into_inner())?;
        let count = queues::purge_dead(&self.replica, selector)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::CountResponse { count }))
    }

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let after_seq = request.into_inner().after_seq;
        Ok(Response::new(event_stream(self.replica.clone(), after_seq)))
    }

    async fn transfer_leader(
        &self,
        request: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        let to = request.into_inner().to;
        let (leader, pause) = cluster::transfer_leader(&self.replica, (to != 0).then_some(to))
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::TransferLeaderResponse {
            leader_id: leader.id,
            leader_addr: leader.addr,
            pause_ms: pause.as_millis() as u64,
        }))
    }

    async fn add_node(
        &self,
        request: Request<pb::AddNodeRequest>,
    ) -> Result<Response<pb::AddNodeResponse>, Status> {
        let request = request.into_inner();
        let limit = (request.timeout_ms > 0).then(|| Duration::from_millis(request.timeout_ms));
        let (added, members) = cluster::add_node(&self.replica, request.id, &request.addr, limit)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::AddNodeResponse {
            added: added.added,
            took_ms: added.took.as_millis() as u64,
            members: members.into_iter().map(member_to_pb).collect(),
        }))
    }

    async fn remove_node(
        &self,
        request: Request<pb::RemoveNodeRequest>,
    ) -> Result<Response<pb::RemoveNodeResponse>, Status> {
        let (removed, members) = cluster::remove_node(&self.replica, request.into_inner().id)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::RemoveNodeResponse {
            removed,
            members: members.into_iter().map(member_to_pb).collect(),
        }))
    }
}

fn member_to_pb(member: Member) -> pb::Member {
    pb::Member {
        id: member.id,
        addr: member.addr,
        voter: member.voter,
    }
}

/// Which dead letters a request names: proto3's empty fields are "not given".
fn selector(request: pb::DeadRequest) -> Result<DeadSelector, Status> {
    let id = (!request.id.is_empty()).then_some(request.id.as_str());
    let queue = (!request.queue.is_empty()).then_some(request.queue.clone());
    queues::dead_selector(id, queue, request.all).map_err(status::from_op_error)
}
