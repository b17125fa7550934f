//! `qraft.v1.Tasks`: submit, read, wait for, revoke and list tasks, on [`crate::ops::tasks`].

use std::time::Duration;

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::listing::{fit_in_reply, list_limit};
use super::watch::{FinishedStream, finished_stream};
use super::{TaskDefaults, convert, status};
use crate::auth::Caller;
use crate::ops::tasks::{self, DEFAULT_WAIT, Submitted};
use crate::queue::TaskFilter;
use crate::raft::Replica;

pub use crate::ops::tasks::SUBMITTED_BY;

pub struct TasksService {
    replica: Replica,
    defaults: TaskDefaults,
}

impl TasksService {
    pub fn new(replica: Replica, defaults: TaskDefaults) -> Self {
        TasksService { replica, defaults }
    }
}

/// Who made a request; `Anyone` when no auth layer ran (tests).
fn caller<T>(request: &Request<T>) -> Caller {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Anyone)
}

fn submit_response(submitted: Submitted) -> pb::SubmitResponse {
    pb::SubmitResponse {
        id: submitted.id.to_string(),
        state: convert::state_to_pb(submitted.state).into(),
        duplicate: submitted.duplicate,
    }
}

#[tonic::async_trait]
impl pb::tasks_server::Tasks for TasksService {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let caller = caller(&request);
        let spec = request
            .into_inner()
            .task
            .ok_or_else(|| status::invalid("submit needs a task"))?;
        let input = convert::task_input_from_pb(spec);
        let submitted = tasks::submit(&self.replica, &self.defaults, &caller, input)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(submit_response(submitted)))
    }

    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::SubmitBatchResponse>, Status> {
        let caller = caller(&request);
        let inputs = request
            .into_inner()
            .tasks
            .into_iter()
            .map(convert::task_input_from_pb)
            .collect();
        let submitted = tasks::submit_batch(&self.replica, &self.defaults, &caller, inputs)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::SubmitBatchResponse {
            results: submitted.into_iter().map(submit_response).collect(),
        }))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let (task, applied_index) = tasks::get(&self.replica, &id, request.linearizable)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(convert::task_to_pb(task)),
            applied_index,
        }))
    }

    async fn wait(&self, request: Request<pb::WaitRequest>) -> Result<Response<pb::WaitResponse>, Status> {
        let request = request.into_inner();
        let id = convert::parse_id(&request.id)?;
        let limit = request.timeout_ms.map_or(DEFAULT_WAIT, Duration::from_millis);
        let (task, finished) = tasks::wait(&self.replica, &id, limit)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::WaitResponse {
            task: Some(convert::task_to_pb(task)),
            finished,
        }))
    }

    async fn revoke(
        &self,
        request: Request<pb::RevokeRequest>,
    ) -> Result<Response<pb::RevokeResponse>, Status> {
        let caller = caller(&request);
        let id = convert::parse_id(&request.into_inner().id)?;
        let state = tasks::revoke(&self.replica, &caller, id)
            .await
            .map_err(status::from_op_error)?;
        Ok(Response::new(pb::RevokeResponse {
            state: convert::state_to_pb(state).into(),
        }))
    }

    type WatchFinishedStream = FinishedStream;

    async fn watch_finished(
        &self,
        request: Request<pb::WatchFinishedRequest>,
    ) -> Result<Response<FinishedStream>, Status> {
        let request = request.into_inner();
        let queue = (!request.queue.is_empty()).then_some(request.queue);
        Ok(Response::new(finished_stream(
            self.replica.clone(),
            queue,
            request.after_seq,
            request.with_results,
        )))
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

/// The tasks matching `filter`, as much of them as fits one reply.
pub async fn read_tasks(
    replica: &Replica,
    linearizable: bool,
    filter: &TaskFilter,
) -> Result<Response<pb::ListTasksResponse>, Status> {
    let listed = tasks::list(replica, linearizable, filter)
        .await
        .map_err(status::from_op_error)?;
    let (tasks, truncated) = fit_in_reply(listed.into_iter().map(convert::task_to_pb));
    Ok(Response::new(pb::ListTasksResponse { tasks, truncated }))
}
