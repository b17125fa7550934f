//! `qraft.v1.Tasks`: submit and read tasks.

use qraft_proto::pb;
use tonic::{Request, Response, Status};

use super::{convert, status};
use crate::queue::validate::{self, DEFAULT_QUEUE};
use crate::queue::{Command, Outcome, SubmitTask, TaskId};
use crate::raft::Replica;

pub struct TasksService {
    replica: Replica,
    max_payload_bytes: usize,
}

impl TasksService {
    pub fn new(replica: Replica, max_payload_bytes: usize) -> Self {
        TasksService {
            replica,
            max_payload_bytes,
        }
    }

    /// Checks a client's task and gives it an id, before anything is proposed.
    fn to_submit(&self, spec: pb::TaskSpec) -> Result<SubmitTask, Status> {
        let priority = u8::try_from(spec.priority)
            .ok()
            .filter(|p| *p <= validate::MAX_PRIORITY)
            .ok_or_else(|| status::invalid(format!("priority {} is out of range 0..=9", spec.priority)))?;
        let task = SubmitTask {
            id: TaskId::generate(),
            name: spec.name,
            queue: if spec.queue.is_empty() {
                DEFAULT_QUEUE.to_string()
            } else {
                spec.queue
            },
            args: spec.args,
            headers: spec.headers.into_iter().collect(),
            priority,
        };
        validate::must_be_valid_submit(&task, self.max_payload_bytes).map_err(status::invalid)?;
        Ok(task)
    }
}

#[tonic::async_trait]
impl pb::tasks_server::Tasks for TasksService {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let spec = request
            .into_inner()
            .task
            .ok_or_else(|| status::invalid("submit needs a task"))?;
        let submit = self.to_submit(spec)?;
        let outcomes = self
            .replica
            .propose(vec![Command::Submit(submit)])
            .await
            .map_err(|e| status::from_propose_error(&e))?;
        match outcomes.into_iter().next() {
            Some(Outcome::Submitted { id, state }) => Ok(Response::new(pb::SubmitResponse {
                id: id.to_string(),
                state: convert::state_to_pb(state).into(),
            })),
            Some(Outcome::Rejected(rejection)) => Err(status::from_rejection(&rejection)),
            None => Err(Status::internal(
                "the state machine gave no outcome for the submit",
            )),
        }
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        let request = request.into_inner();
        let id: TaskId = request.id.parse().map_err(status::invalid)?;
        if request.linearizable {
            self.replica
                .ensure_linearizable()
                .await
                .map_err(|e| status::from_propose_error(&e))?;
        }
        let shared = self.replica.shared();
        let applied_index = *shared.applied().borrow();
        let queue = shared.queue();
        let task = queue
            .task(&id)
            .ok_or_else(|| Status::not_found(format!("no task {id}")))?;
        Ok(Response::new(pb::GetTaskResponse {
            task: Some(convert::task_to_pb(task)),
            applied_index,
        }))
    }
}
