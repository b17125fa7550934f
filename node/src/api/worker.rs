//! `qraft.v1.Worker`: the lease protocol any worker speaks.

use std::time::Duration;

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::{TaskDefaults, convert, propose_one, status, unexpected};
use crate::queue::validate::{self, MAX_BATCH, MAX_DURATION_MS, MAX_LEASE_WAIT_MS};
use crate::queue::{
    Command, LeaseRequest, LeasedTask, Outcome, Rejection, TaskId, WorkerKind, WorkerRegistration, answer,
};
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

    /// An ack or fail as every worker's is held to it (see `queue::answer`).
    fn within_limits(&self, command: Command) -> Command {
        answer::within_limits(command, self.defaults.max_payload_bytes)
    }

    fn fail_command(&self, id: TaskId, delivery: u32, failure: pb::Failure) -> Result<Command, String> {
        if let Some(ms) = failure.retry_in_ms {
            validate::must_be_duration("retry_in_ms", ms, MAX_DURATION_MS)?;
        }
        Ok(self.within_limits(Command::Fail {
            id,
            delivery,
            error: failure.error,
            retry: !failure.no_retry,
            retry_in_ms: failure.retry_in_ms,
        }))
    }

    /// The command one answer of a batch stands for, or why it is invalid.
    fn answer_command(&self, answer: pb::Answer) -> Result<Command, String> {
        let id = convert::parse_id(&answer.id).map_err(|s| s.message().to_owned())?;
        let delivery = answer.delivery;
        match answer.outcome {
            Some(pb::answer::Outcome::Result(result)) => {
                Ok(self.within_limits(Command::Ack { id, delivery, result }))
            }
            Some(pb::answer::Outcome::Failure(failure)) => self.fail_command(id, delivery, failure),
            Some(pb::answer::Outcome::Release(pb::HandBack {})) => Ok(Command::Release { id, delivery }),
            None => Err(format!(
                "the answer for task {id} says neither result, failure nor release"
            )),
        }
    }

    /// Waits (up to `wait`) until this replica shows work for the lease, then proposes it; a
    /// lease that another worker beat to the work waits for the next change. Proposing only
    /// when there is work keeps an idle long poll from writing to the log.
    async fn lease_with_wait(&self, lease: LeaseRequest, wait: Duration) -> Result<Vec<LeasedTask>, Status> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut applied = self.replica.shared().applied();
        loop {
            let runnable = wait.is_zero()
                || self
                    .replica
                    .shared()
                    .queue()
                    .has_ready(&lease.queues, &lease.names);
            if runnable {
                let tasks = match propose_one(&self.replica, Command::Lease(lease.clone())).await? {
                    Outcome::Leased(tasks) => tasks,
                    other => return Err(unexpected(&other)),
                };
                if !tasks.is_empty() || tokio::time::Instant::now() >= deadline {
                    return Ok(tasks);
                }
            }
            match tokio::time::timeout_at(deadline, applied.changed()).await {
                Err(_) => return Ok(Vec::new()),
                Ok(Err(_)) => return Err(Status::unavailable("this node is shutting down")),
                Ok(Ok(())) => {}
            }
        }
    }
}

/// One answer's outcome, as a batch reports it.
fn answer_result(outcome: Outcome) -> pb::AnswerResult {
    let refused = |refusal: pb::AnswerRefusal, message: String| pb::AnswerResult {
        state: pb::TaskState::Unspecified.into(),
        refusal: refusal.into(),
        message,
    };
    match outcome {
        Outcome::Updated { state, .. } => pb::AnswerResult {
            state: convert::state_to_pb(state).into(),
            refusal: pb::AnswerRefusal::AnswerTaken.into(),
            message: String::new(),
        },
        Outcome::Rejected(rejection) => {
            let message = rejection.to_string();
            match rejection {
                Rejection::StaleLease { .. } => refused(pb::AnswerRefusal::AnswerStaleLease, message),
                Rejection::Revoked(_) => refused(pb::AnswerRefusal::AnswerRevoked, message),
                Rejection::NotFound(_) => refused(pb::AnswerRefusal::AnswerNotFound, message),
                _ => refused(pb::AnswerRefusal::AnswerInvalid, message),
            }
        }
        other => refused(
            pb::AnswerRefusal::AnswerInvalid,
            format!("unexpected outcome {other:?}"),
        ),
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
            names: request.names,
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
        if request.wait_ms > MAX_LEASE_WAIT_MS {
            return Err(status::invalid(format!(
                "a lease waits at most {MAX_LEASE_WAIT_MS} ms for work, not {}",
                request.wait_ms
            )));
        }
        let tasks = self
            .lease_with_wait(lease, Duration::from_millis(request.wait_ms))
            .await?;
        Ok(Response::new(pb::LeaseResponse {
            tasks: tasks.into_iter().map(convert::leased_to_pb).collect(),
        }))
    }

    async fn ack(&self, request: Request<pb::AckRequest>) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let command = self.within_limits(Command::Ack {
            id,
            delivery: request.delivery,
            result: request.result,
        });
        Self::answer(propose_one(&self.replica, command).await?)
    }

    async fn fail(&self, request: Request<pb::FailRequest>) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let failure = pb::Failure {
            error: request.error,
            no_retry: request.no_retry,
            retry_in_ms: request.retry_in_ms,
        };
        let command = self
            .fail_command(id, request.delivery, failure)
            .map_err(status::invalid)?;
        Self::answer(propose_one(&self.replica, command).await?)
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let command = Command::Release {
            id,
            delivery: request.delivery,
        };
        Self::answer(propose_one(&self.replica, command).await?)
    }

    async fn answer_batch(
        &self,
        request: Request<pb::AnswerBatchRequest>,
    ) -> Result<Response<pb::AnswerBatchResponse>, Status> {
        let answers = request.into_inner().answers;
        if answers.is_empty() || answers.len() > MAX_BATCH {
            return Err(status::invalid(format!(
                "a batch holds 1..={MAX_BATCH} answers, not {}",
                answers.len()
            )));
        }
        let mut results: Vec<Option<pb::AnswerResult>> = vec![None; answers.len()];
        let mut commands = Vec::with_capacity(answers.len());
        let mut slots = Vec::with_capacity(answers.len());
        for (slot, answer) in answers.into_iter().enumerate() {
            match self.answer_command(answer) {
                Ok(command) => {
                    commands.push(command);
                    slots.push(slot);
                }
                Err(message) => {
                    results[slot] = Some(pb::AnswerResult {
                        state: pb::TaskState::Unspecified.into(),
                        refusal: pb::AnswerRefusal::AnswerInvalid.into(),
                        message,
                    });
                }
            }
        }
        if !commands.is_empty() {
            let outcomes = self
                .replica
                .propose(commands)
                .await
                .map_err(|e| status::from_propose_error(&e))?;
            for (slot, outcome) in slots.into_iter().zip(outcomes) {
                results[slot] = Some(answer_result(outcome));
            }
        }
        let results = results
            .into_iter()
            .map(|result| result.ok_or_else(|| Status::internal("an answer of the batch got no outcome")))
            .collect::<Result<Vec<_>, Status>>()?;
        Ok(Response::new(pb::AnswerBatchResponse { results }))
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
