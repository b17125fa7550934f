//! `qraft.v1.Control`: rate limits, queue caps and periodic schedules.

pub(crate) mod schedules;

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::{TaskDefaults, status};
use crate::ops::{self, limits};
use crate::queue::limit::Rate;
use crate::queue::schedule::Schedule;
use crate::raft::Replica;

pub struct ControlService {
    replica: Replica,
    defaults: TaskDefaults,
}

impl ControlService {
    pub fn new(replica: Replica, defaults: TaskDefaults) -> Self {
        ControlService { replica, defaults }
    }
}

#[tonic::async_trait]
impl pb::control_server::Control for ControlService {
    async fn set_limit(
        &self,
        request: Request<pb::SetLimitRequest>,
    ) -> Result<Response<pb::SetLimitResponse>, Status> {
        let request = request.into_inner();
        let rate = Rate {
            count: request.count,
            per_ms: request.per_ms,
        };
        limits::set(&self.replica, &request.scope, rate)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::SetLimitResponse {}))
    }

    async fn remove_limit(
        &self,
        request: Request<pb::RemoveLimitRequest>,
    ) -> Result<Response<pb::RemoveLimitResponse>, Status> {
        let removed = limits::remove(&self.replica, &request.into_inner().scope)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::RemoveLimitResponse { removed }))
    }

    async fn set_queue_cap(
        &self,
        request: Request<pb::SetQueueCapRequest>,
    ) -> Result<Response<pb::SetQueueCapResponse>, Status> {
        let request = request.into_inner();
        let cap = request.cap.parse().map_err(status::invalid)?;
        limits::set_cap(&self.replica, &request.scope, cap, request.value)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::SetQueueCapResponse {}))
    }

    async fn list_limits(
        &self,
        request: Request<pb::ListLimitsRequest>,
    ) -> Result<Response<pb::ListLimitsResponse>, Status> {
        let view = limits::list(&self.replica, request.into_inner().linearizable)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::ListLimitsResponse {
            limits: view
                .limits
                .into_iter()
                .map(|limit| pb::RateLimit {
                    scope: limit.scope,
                    count: limit.count,
                    per_ms: limit.per_ms,
                    used: limit.used,
                    frees_at_ms: limit.frees_at_ms.unwrap_or_default(),
                })
                .collect(),
            keys: view
                .keys
                .into_iter()
                .map(|(key, running)| pb::KeyUsage { key, running })
                .collect(),
            now_ms: view.now_ms,
            caps: view
                .caps
                .into_iter()
                .map(|cap| pb::QueueCap {
                    queue: cap.queue,
                    max_length: cap.max_length,
                    max_bytes: cap.max_bytes,
                    length: cap.length,
                    bytes: cap.bytes,
                })
                .collect(),
            store: Some(pb::StoreUsage {
                tasks: view.store.tasks,
                max_tasks: view.store.max_tasks,
                bytes: view.store.bytes,
                max_bytes: view.store.max_bytes,
            }),
        }))
    }

    async fn add_schedule(
        &self,
        request: Request<pb::AddScheduleRequest>,
    ) -> Result<Response<pb::AddScheduleResponse>, Status> {
        let spec = request
            .into_inner()
            .spec
            .ok_or_else(|| status::invalid("a schedule needs a spec"))?;
        let (schedule, replaced) =
            ops::schedules::add(&self.replica, &self.defaults, schedules::input_from_pb(spec)?)
                .await
                .map_err(status::from_op_error)?;
        Ok(Response::new(pb::AddScheduleResponse {
            schedule: Some(schedules::schedule_to_pb(&schedule)),
            replaced,
        }))
    }

    async fn remove_schedule(
        &self,
        request: Request<pb::ScheduleRequest>,
    ) -> Result<Response<pb::RemoveScheduleResponse>, Status> {
        let removed = ops::schedules::remove(&self.replica, request.into_inner().name)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::RemoveScheduleResponse { removed }))
    }

    async fn pause_schedule(
        &self,
        request: Request<pb::ScheduleRequest>,
    ) -> Result<Response<pb::ScheduleResponse>, Status> {
        let schedule = ops::schedules::pause(&self.replica, request.into_inner().name)
            .await
            .map_err(status::from_op_error)?;
        Ok(schedule_response(&schedule))
    }

    async fn resume_schedule(
        &self,
        request: Request<pb::ScheduleRequest>,
    ) -> Result<Response<pb::ScheduleResponse>, Status> {
        let schedule = ops::schedules::resume(&self.replica, request.into_inner().name)
            .await
            .map_err(status::from_op_error)?;
        Ok(schedule_response(&schedule))
    }

    async fn list_schedules(
        &self,
        request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        let (all, now_ms) = ops::schedules::list(&self.replica, request.into_inner().linearizable)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::ListSchedulesResponse {
            schedules: all.iter().map(schedules::schedule_to_pb).collect(),
            now_ms,
        }))
    }
}

fn schedule_response(schedule: &Schedule) -> Response<pb::ScheduleResponse> {
    Response::new(pb::ScheduleResponse {
        schedule: Some(schedules::schedule_to_pb(schedule)),
    })
}
