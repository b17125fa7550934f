//! `qraft.v1.Worker`: the lease protocol any worker speaks.

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::{TaskDefaults, convert, propose_one, status, unexpected};
use crate::queue::validate::{self, MAX_ERROR_LEN};
use crate::queue::{Command, LeaseRequest, Outcome, WorkerKind, WorkerRegistration};
use crate::raft::Replica;

pub struct WorkerService {
    replica: Replica,
    defaults: TaskDefaults,
}

impl WorkerService {
    pub fn new(replica: Replica, defaults: TaskDefaults) -> Self {
        WorkerService { replica, defaults }
    }

    fn lease_ms(&self, requested: u64) -> Result<u64, Status> {
        let lease_ms = if requested == 0 {
            self.defaults.lease_ms
        } else {
            requested
        };
        validate::must_be_lease_ms(lease_ms).map_err(status::invalid)?;
        Ok(lease_ms)
    }

    fn answer(outcome: Outcome) -> Result<Response<pb::AnswerResponse>, Status> {
        match outcome {
            Outcome::Updated { state, .. } => Ok(Response::new(pb::AnswerResponse {
                state: convert::state_to_pb(state).into(),
            })),
            other => Err(unexpected(&other)),
        }
    }
}

#[tonic::async_trait]
impl pb::worker_server::Worker for WorkerService {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::WorkerResponse>, Status> {
        let request = request.into_inner();
        let registration = WorkerRegistration {
            id: request.worker_id,
            node: request.node,
            kind: WorkerKind::Remote,
            queues: request.queues,
            concurrency: request.concurrency,
        };
        validate::must_be_valid_registration(&registration).map_err(status::invalid)?;
        propose_one(&self.replica, Command::RegisterWorker(registration)).await?;
        Ok(Response::new(pb::WorkerResponse {}))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::WorkerResponse>, Status> {
        let request = request.into_inner();
        validate::must_be_name("worker id", &request.worker_id).map_err(status::invalid)?;
        let command = Command::WorkerHeartbeat {
            id: request.worker_id,
            active: request.active,
        };
        propose_one(&self.replica, command).await?;
        Ok(Response::new(pb::WorkerResponse {}))
    }

    async fn leave(
        &self,
        request: Request<pb::LeaveRequest>,
    ) -> Result<Response<pb::WorkerResponse>, Status> {
        let id = request.into_inner().worker_id;
        validate::must_be_name("worker id", &id).map_err(status::invalid)?;
        propose_one(&self.replica, Command::LeaveWorker { id }).await?;
        Ok(Response::new(pb::WorkerResponse {}))
    }

    async fn lease(&self, request: Request<pb::LeaseRequest>) -> Result<Response<pb::LeaseResponse>, Status> {
        let request = request.into_inner();
        let lease = LeaseRequest {
            worker: request.worker_id,
            queues: request.queues,
            names: request.names,
            max: request.max,
            lease_ms: self.lease_ms(request.lease_ms)?,
        };
        validate::must_be_valid_lease(&lease).map_err(status::invalid)?;
        match propose_one(&self.replica, Command::Lease(lease)).await? {
            Outcome::Leased(tasks) => Ok(Response::new(pb::LeaseResponse {
                tasks: tasks.into_iter().map(convert::leased_to_pb).collect(),
            })),
            other => Err(unexpected(&other)),
        }
    }

    async fn ack(&self, request: Request<pb::AckRequest>) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        if request.result.len() > self.defaults.max_payload_bytes {
            return Err(status::invalid(format!(
                "result is {} bytes; the limit is {}",
                request.result.len(),
                self.defaults.max_payload_bytes
            )));
        }
        let command = Command::Ack {
            id,
            delivery: request.delivery,
            result: request.result,
        };
        Self::answer(propose_one(&self.replica, command).await?)
    }

    async fn fail(&self, request: Request<pb::FailRequest>) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let mut error = request.error;
        if error.len() > MAX_ERROR_LEN {
            // Keep the tail: that is where the cause usually is.
            let mut cut = error.len() - MAX_ERROR_LEN;
            while !error.is_char_boundary(cut) {
                cut += 1;
            }
            error = format!("...{}", &error[cut..]);
        }
        let command = Command::Fail {
            id,
            delivery: request.delivery,
            error,
            retry: !request.no_retry,
        };
        Self::answer(propose_one(&self.replica, command).await?)
    }

    async fn extend(
        &self,
        request: Request<pb::ExtendRequest>,
    ) -> Result<Response<pb::ExtendResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let command = Command::Extend {
            id,
            delivery: request.delivery,
            lease_ms: self.lease_ms(request.lease_ms)?,
        };
        match propose_one(&self.replica, command).await? {
            Outcome::Extended { deadline_ms, .. } => Ok(Response::new(pb::ExtendResponse { deadline_ms })),
            other => Err(unexpected(&other)),
        }
    }
}
