//! `qraft.v1.Tasks`: submit, read, wait for, revoke and list tasks.

use std::time::Duration;

use qraft_proto::pb;
use tokio::sync::broadcast::error::RecvError;
use tonic::{Request, Response, Status};

use super::listing::{fit_in_reply, list_limit};
use super::watch::{FinishedStream, finished_stream};
use super::{TaskDefaults, convert, linearizable, propose_one, status, unexpected};
use crate::auth::Caller;
use crate::clock::wall_ms as now_ms;
use crate::queue::validate::MAX_BATCH;
use crate::queue::{Command, Outcome, SubmitTask, TaskFilter, TaskId};
use crate::raft::Replica;

const DEFAULT_WAIT: Duration = Duration::from_secs(30);
const MAX_WAIT: Duration = Duration::from_secs(600);

pub struct TasksService {
    replica: Replica,
    defaults: TaskDefaults,
}

impl TasksService {
    pub fn new(replica: Replica, defaults: TaskDefaults) -> Self {
        TasksService { replica, defaults }
    }

    fn submit_response(outcome: Outcome) -> Result<pb::SubmitResponse, Status> {
        match outcome {
            Outcome::Submitted { id, state, duplicate } => Ok(pb::SubmitResponse {
                id: id.to_string(),
                state: convert::state_to_pb(state).into(),
                duplicate,
            }),
            Outcome::Rejected(rejection) => Err(status::from_rejection(&rejection)),
            other => Err(unexpected(&other)),
        }
    }

    fn task(&self, id: &TaskId) -> Result<pb::Task, Status> {
        let shared = self.replica.shared();
        let queue = shared.queue();
        queue
            .task(id)
            .map(convert::task_to_pb)
            .ok_or_else(|| Status::not_found(format!("no task {id}")))
    }
}

/// The header marking who submitted a task, when a producer token did: the one that may revoke it.
pub const SUBMITTED_BY: &str = "qraft-submitted-by";

/// The producer token's name behind a request, if one made it.
fn submitter<T>(request: &Request<T>) -> Option<String> {
    request
        .extensions()
        .get::<Caller>()
        .and_then(Caller::producer_name)
        .map(str::to_owned)
}

fn mark_submitter(submit: &mut SubmitTask, producer: Option<&str>) {
    if let Some(producer) = producer {
        submit
            .headers
            .insert(SUBMITTED_BY.to_owned(), producer.to_owned());
    }
}

#[tonic::async_trait]
impl pb::tasks_server::Tasks for TasksService {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let producer = submitter(&request);
        let spec = request
            .into_inner()
            .task
            .ok_or_else(|| status::invalid("submit needs a task"))?;
        let mut submit = convert::submit_from_pb(spec, &self.defaults, now_ms())?;
        mark_submitter(&mut submit, producer.as_deref());
        let outcome = propose_one(&self.replica, Command::Submit(submit)).await?;
        Ok(Response::new(Self::submit_response(outcome)?))
    }

    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::SubmitBatchResponse>, Status> {
        let producer = submitter(&request);
        let specs = request.into_inner().tasks;
        if specs.is_empty() || specs.len() > MAX_BATCH {
            return Err(status::invalid(format!(
                "a batch holds 1..={MAX_BATCH} tasks, not {}",
                specs.len()
            )));
        }
        let now = now_ms();
        let commands = specs
            .into_iter()
            .enumerate()
            .map(|(i, spec)| {
                convert::submit_from_pb(spec, &self.defaults, now)
                    .map(|mut submit| {
                        mark_submitter(&mut submit, producer.as_deref());
                        Command::Submit(submit)
                    })
                    .map_err(|e| status::invalid(format!("task {i} of the batch: {}", e.message())))
            })
            .collect::<Result<Vec<_>, Status>>()?;
        let outcomes = self
            .replica
            .propose(commands)
            .await
            .map_err(|e| status::from_propose_error(&e))?;
        let results = outcomes
            .into_iter()
            .enumerate()
            .map(|(i, outcome)| {
                Self::submit_response(outcome).map_err(|refused| {
                    // Refused in apply (a key reused for another task, say): the batch's other
                    // tasks are stored, and a resend of them with their keys finds them.
                    Status::new(
                        refused.code(),
                        format!(
                            "task {i} of the batch: {} (the others were stored)",
                            refused.message()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, Status>>()?;
        Ok(Response::new(pb::SubmitBatchResponse { results }))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        if request.linearizable {
            linearizable(&self.replica).await?;
        }
        let applied_index = *self.replica.shared().applied().borrow();
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(self.task(&id)?),
            applied_index,
        }))
    }

    /// Served by notification: subscribes to finished tasks before looking, so a finish between
    /// the look and the wait is not missed.
    async fn wait(&self, request: Request<pb::WaitRequest>) -> Result<Response<pb::WaitResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let limit = match request.timeout_ms {
            0 => DEFAULT_WAIT,
            ms => Duration::from_millis(ms).min(MAX_WAIT),
        };
        // Read-your-writes: a wait right after a submit must find the task, even if this
        // replica has not applied the submit yet. Served by the leader (or redirected to it).
        linearizable(&self.replica).await?;
        let mut finished = self.replica.shared().finished();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let task = self.task(&id)?;
            let state = convert::state_from_pb(task.state)?;
            if state.is_some_and(|s| s.is_final()) {
                return Ok(Response::new(pb::WaitResponse {
                    task: Some(task),
                    finished: true,
                }));
            }
            loop {
                match tokio::time::timeout_at(deadline, finished.recv()).await {
                    Err(_) => {
                        return Ok(Response::new(pb::WaitResponse {
                            task: Some(task),
                            finished: false,
                        }));
                    }
                    Ok(Ok(done)) if done != id => continue,
                    // Ours finished, or we lagged and may have missed it: look again.
                    Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => break,
                    Ok(Err(RecvError::Closed)) => {
                        return Err(Status::unavailable("this node is shutting down"));
                    }
                }
            }
        }
    }

    async fn revoke(
        &self,
        request: Request<pb::RevokeRequest>,
    ) -> Result<Response<pb::RevokeResponse>, Status> {
        let producer = submitter(&request);
        let id = convert::parse_id(&request.into_inner().id)?;
        if let Some(producer) = producer {
            // A producer may revoke only what it submitted: read the mark where it is current.
            linearizable(&self.replica).await?;
            let owner = self.task(&id)?.headers.get(SUBMITTED_BY).cloned();
            if owner.as_deref() != Some(producer.as_str()) {
                tracing::warn!(producer, task = %id, "refused: revoke of another's task");
                return Err(Status::permission_denied(format!(
                    "token {producer:?} may revoke only the tasks it submitted"
                )));
            }
        }
        match propose_one(&self.replica, Command::Revoke { id }).await? {
            Outcome::Updated { state, .. } => Ok(Response::new(pb::RevokeResponse {
                state: convert::state_to_pb(state).into(),
            })),
            other => Err(unexpected(&other)),
        }
    }

    type WatchFinishedStream = FinishedStream;

    async fn watch_finished(
        &self,
        request: Request<pb::WatchFinishedRequest>,
    ) -> Result<Response<FinishedStream>, Status> {
        let queue = request.into_inner().queue;
        let queue = (!queue.is_empty()).then_some(queue);
        Ok(Response::new(finished_stream(self.replica.clone(), queue)))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let request = request.into_inner();
        let filter = TaskFilter {
            queue: (!request.queue.is_empty()).then_some(request.queue),
            state: convert::state_from_pb(request.state)?,
            name: (!request.name.is_empty()).then_some(request.name),
            limit: list_limit(request.limit),
        };
        read_tasks(&self.replica, request.linearizable, &filter).await
    }
}

/// The tasks matching `filter`, from this replica; with `linearizable`, after the leader has
/// confirmed it still leads.
pub async fn read_tasks(
    replica: &Replica,
    linearizable: bool,
    filter: &TaskFilter,
) -> Result<Response<pb::ListTasksResponse>, Status> {
    if linearizable {
        super::linearizable(replica).await?;
    }
    let shared = replica.shared();
    let queue = shared.queue();
    let (tasks, truncated) = fit_in_reply(queue.list(filter).into_iter().map(convert::task_to_pb));
    Ok(Response::new(pb::ListTasksResponse { tasks, truncated }))
}
