//! `qraft.v1.Control`: rate limits and periodic schedules.

pub(crate) mod schedules;

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::{TaskDefaults, linearizable, propose_one, status, unexpected};
use crate::ops::limits;
use crate::queue::limit::Rate;
use crate::queue::{Command, Outcome};
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
        let spec = schedules::spec_from_pb(spec, &self.defaults)?;
        let seed = ulid::Ulid::new().random();
        let command = Command::AddSchedule {
            spec: Box::new(spec),
            seed,
        };
        match propose_one(&self.replica, command).await? {
            Outcome::Schedule { schedule, replaced } => Ok(Response::new(pb::AddScheduleResponse {
                schedule: Some(schedules::schedule_to_pb(&schedule)),
                replaced,
            })),
            other => Err(unexpected(&other)),
        }
    }

    async fn remove_schedule(
        &self,
        request: Request<pb::ScheduleRequest>,
    ) -> Result<Response<pb::RemoveScheduleResponse>, Status> {
        let name = schedule_name(request)?;
        match propose_one(&self.replica, Command::RemoveSchedule { name }).await? {
            Outcome::Count(removed) => Ok(Response::new(pb::RemoveScheduleResponse { removed: removed > 0 })),
            other => Err(unexpected(&other)),
        }
    }

    async fn pause_schedule(
        &self,
        request: Request<pb::ScheduleRequest>,
    ) -> Result<Response<pb::ScheduleResponse>, Status> {
        let name = schedule_name(request)?;
        schedule_response(propose_one(&self.replica, Command::PauseSchedule { name }).await?)
    }

    async fn resume_schedule(
        &self,
        request: Request<pb::ScheduleRequest>,
    ) -> Result<Response<pb::ScheduleResponse>, Status> {
        let name = schedule_name(request)?;
        schedule_response(propose_one(&self.replica, Command::ResumeSchedule { name }).await?)
    }

    async fn list_schedules(
        &self,
        request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        if request.into_inner().linearizable {
            linearizable(&self.replica).await?;
        }
        let shared = self.replica.shared();
        let queue = shared.queue();
        Ok(Response::new(pb::ListSchedulesResponse {
            schedules: queue.schedules().map(schedules::schedule_to_pb).collect(),
            now_ms: queue.now_ms(),
        }))
    }
}

fn schedule_name(request: Request<pb::ScheduleRequest>) -> Result<String, Status> {
    let name = request.into_inner().name;
    crate::queue::validate::must_be_name("schedule name", &name).map_err(status::invalid)?;
    Ok(name)
}

fn schedule_response(outcome: Outcome) -> Result<Response<pb::ScheduleResponse>, Status> {
    match outcome {
        Outcome::Schedule { schedule, .. } => Ok(Response::new(pb::ScheduleResponse {
            schedule: Some(schedules::schedule_to_pb(&schedule)),
        })),
        other => Err(unexpected(&other)),
    }
}
