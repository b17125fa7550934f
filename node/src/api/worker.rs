//! `qraft.v1.Worker`: the lease protocol any worker speaks, on [`crate::ops::worker`].

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::{TaskDefaults, convert, status};
use crate::ops::worker::{self, Answer, LeaseInput};
use crate::queue::validate::MAX_BATCH;
use crate::queue::{Outcome, Rejection, TaskState, WorkerKind, WorkerRegistration};
use crate::raft::Replica;

pub struct WorkerService {
    replica: Replica,
    defaults: TaskDefaults,
}

impl WorkerService {
    pub fn new(replica: Replica, defaults: TaskDefaults) -> Self {
        WorkerService { replica, defaults }
    }

    fn answered(state: TaskState) -> Response<pb::AnswerResponse> {
        Response::new(pb::AnswerResponse {
            state: convert::state_to_pb(state).into(),
        })
    }
}

/// A failure as proto3 sends it.
fn failure(failure: pb::Failure) -> Answer {
    Answer::Fail {
        error: failure.error,
        retry: !failure.no_retry,
        retry_in_ms: failure.retry_in_ms,
    }
}

/// What one answer of a batch says, or why it is invalid.
fn batch_answer(answer: pb::Answer) -> Result<(crate::queue::TaskId, u32, Answer), String> {
    let id = convert::parse_id(&answer.id).map_err(|s| s.message().to_owned())?;
    let said = match answer.outcome {
        Some(pb::answer::Outcome::Result(result)) => Answer::Ack { result },
        Some(pb::answer::Outcome::Failure(f)) => failure(f),
        Some(pb::answer::Outcome::Release(pb::HandBack {})) => Answer::Release,
        None => {
            return Err(format!(
                "the answer for task {id} says neither result, failure nor release"
            ));
        }
    };
    Ok((id, answer.delivery, said))
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
        worker::register(&self.replica, registration)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::WorkerResponse {}))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::WorkerResponse>, Status> {
        let request = request.into_inner();
        worker::heartbeat(&self.replica, request.worker_id, request.active)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::WorkerResponse {}))
    }

    async fn leave(
        &self,
        request: Request<pb::LeaveRequest>,
    ) -> Result<Response<pb::WorkerResponse>, Status> {
        worker::leave(&self.replica, request.into_inner().worker_id)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::WorkerResponse {}))
    }

    async fn lease(&self, request: Request<pb::LeaseRequest>) -> Result<Response<pb::LeaseResponse>, Status> {
        let request = request.into_inner();
        let input = LeaseInput {
            worker: request.worker_id,
            queues: request.queues,
            names: request.names,
            max: request.max,
            lease_ms: (request.lease_ms > 0).then_some(request.lease_ms),
            wait_ms: request.wait_ms,
            recover: worker::held_after_lost_answer(request.recover, &request.held)
                .map_err(status::from_op_error)?,
        };
        let tasks = worker::lease(&self.replica, &self.defaults, input)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::LeaseResponse {
            tasks: tasks.into_iter().map(convert::leased_to_pb).collect(),
        }))
    }

    async fn ack(&self, request: Request<pb::AckRequest>) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let answer = Answer::Ack {
            result: request.result,
        };
        worker::answer(&self.replica, &self.defaults, id, request.delivery, answer)
            .await
            .map(Self::answered)
            .map_err(status::from_op_error)
    }

    async fn fail(&self, request: Request<pb::FailRequest>) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let answer = failure(pb::Failure {
            error: request.error,
            no_retry: request.no_retry,
            retry_in_ms: request.retry_in_ms,
        });
        worker::answer(&self.replica, &self.defaults, id, request.delivery, answer)
            .await
            .map(Self::answered)
            .map_err(status::from_op_error)
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::AnswerResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        worker::answer(
            &self.replica,
            &self.defaults,
            id,
            request.delivery,
            Answer::Release,
        )
        .await
        .map(Self::answered)
        .map_err(status::from_op_error)
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
            let command = batch_answer(answer).and_then(|(id, delivery, said)| {
                worker::answer_command(&self.defaults, id, delivery, said).map_err(|e| e.to_string())
            });
            match command {
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
        let lease_ms = (request.lease_ms > 0).then_some(request.lease_ms);
        let deadline_ms = worker::extend(&self.replica, &self.defaults, id, request.delivery, lease_ms)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::ExtendResponse { deadline_ms }))
    }
}
