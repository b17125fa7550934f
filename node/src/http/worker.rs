//! `/v1/worker/*`: the lease protocol over HTTP, so a worker in any language needs only an
//! HTTP client. Shaped like the gRPC `qraft.v1.Worker` calls: one POST each.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use super::App;
use super::auth::Remote;
use super::extract::Body;
use super::json::{StateView, payload, time};
use super::problem::{Details, Problem};
use crate::ops::worker::{self, Answer, LeaseInput};
use crate::queue::{LeasedTask, TaskId, WorkerKind, WorkerRegistration};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterJson {
    worker_id: String,
    /// Where the worker runs, for `qraft workers` (default: the client's IP address).
    node: Option<String>,
    queues: Vec<String>,
    /// Task names it runs; empty or missing: any.
    #[serde(default)]
    names: Vec<String>,
    #[serde(default = "one")]
    concurrency: u32,
}

fn one() -> u32 {
    1
}

/// `POST /v1/worker/register`: 204. Register again after a heartbeat is refused.
#[utoipa::path(post, path = "/v1/worker/register", tag = "worker", request_body = RegisterJson,
    responses((status = 204, description = "Registered"), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn register(
    State(app): State<App>,
    remote: Option<Extension<Remote>>,
    Body(json): Body<RegisterJson>,
) -> Result<StatusCode, Problem> {
    let from = remote.map_or_else(
        || "http".to_owned(),
        |Extension(Remote(addr))| addr.ip().to_string(),
    );
    let registration = WorkerRegistration {
        id: json.worker_id,
        node: json.node.unwrap_or(from),
        kind: WorkerKind::Remote,
        queues: json.queues,
        names: json.names,
        concurrency: json.concurrency,
    };
    worker::register(&app.replica, registration).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatJson {
    worker_id: String,
    /// Tasks it is running now.
    #[serde(default)]
    active: u32,
}

/// `POST /v1/worker/heartbeat`: 204; every few seconds, or the worker is dropped after a minute.
#[utoipa::path(post, path = "/v1/worker/heartbeat", tag = "worker", request_body = HeartbeatJson,
    responses((status = 204, description = "Heard"), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn heartbeat(
    State(app): State<App>,
    Body(json): Body<HeartbeatJson>,
) -> Result<StatusCode, Problem> {
    worker::heartbeat(&app.replica, json.worker_id, json.active).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaveJson {
    worker_id: String,
}

/// `POST /v1/worker/leave`: 204.
#[utoipa::path(post, path = "/v1/worker/leave", tag = "worker", request_body = LeaveJson,
    responses((status = 204, description = "Gone"), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn leave(State(app): State<App>, Body(json): Body<LeaveJson>) -> Result<StatusCode, Problem> {
    worker::leave(&app.replica, json.worker_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseJson {
    worker_id: String,
    queues: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default = "one")]
    max: u32,
    /// Lease length for tasks without a timeout of their own (default: the node's, 30 s).
    lease_ms: Option<u64>,
    /// Wait up to this long for work when there is none (long poll; at most 30 s).
    #[serde(default)]
    wait_ms: u64,
    /// Set on the first lease after one whose answer never arrived (a timeout, a failover):
    /// its tasks were leased to this worker all the same. The answer is then the tasks leased
    /// to this worker id that are not in `held` (what the lost answer carried), or a lease as
    /// usual if there are none. A worker must ignore a task it already runs.
    #[serde(default)]
    recover: bool,
    /// With `recover`: every task this worker holds (leased, its answer not yet confirmed).
    #[serde(default)]
    held: Vec<String>,
}

/// A task handed to a worker: run it, then answer with `id` and `delivery`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeasedView {
    pub id: String,
    /// The fencing token: an answer must carry it, and one for an older delivery is refused.
    pub delivery: u32,
    pub lease_deadline: String,
    pub name: String,
    pub queue: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_base64: Option<String>,
    pub headers: std::collections::BTreeMap<String, String>,
    pub timeout_ms: Option<u64>,
    pub attempts: u32,
}

impl From<LeasedTask> for LeasedView {
    fn from(task: LeasedTask) -> Self {
        let (args, args_base64) = payload(&task.args);
        LeasedView {
            id: task.id.to_string(),
            delivery: task.delivery,
            lease_deadline: time(task.deadline_ms),
            name: task.name,
            queue: task.queue,
            args,
            args_base64,
            headers: task.headers,
            timeout_ms: task.timeout_ms,
            attempts: task.attempts,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeasedList {
    pub tasks: Vec<LeasedView>,
}

/// `POST /v1/worker/lease`: up to `max` tasks; an empty list when none came within `wait_ms`.
#[utoipa::path(post, path = "/v1/worker/lease", tag = "worker", request_body = LeaseJson,
    responses((status = 200, body = LeasedList), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn lease(
    State(app): State<App>,
    Body(json): Body<LeaseJson>,
) -> Result<axum::Json<LeasedList>, Problem> {
    let input = LeaseInput {
        worker: json.worker_id,
        queues: json.queues,
        names: json.names,
        max: json.max,
        lease_ms: json.lease_ms,
        wait_ms: json.wait_ms,
        recover: worker::held_after_lost_answer(json.recover, &json.held)?,
    };
    let tasks = worker::lease(&app.replica, &app.defaults, input).await?;
    Ok(axum::Json(LeasedList {
        tasks: tasks.into_iter().map(LeasedView::from).collect(),
    }))
}

fn parse_id(id: &str) -> Result<TaskId, Problem> {
    id.parse().map_err(Problem::invalid)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckJson {
    id: String,
    delivery: u32,
    /// Any JSON value; bytes that are not JSON as `result_base64`.
    result: Option<serde_json::Value>,
    result_base64: Option<String>,
}

/// `POST /v1/worker/ack`: the task succeeded. 409 `stale-lease` when the lease had expired and
/// the task went to another worker (the answer does not count).
#[utoipa::path(post, path = "/v1/worker/ack", tag = "worker", request_body = AckJson,
    responses((status = 200, description = "The task's state after the answer", body = StateView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn ack(
    State(app): State<App>,
    Body(json): Body<AckJson>,
) -> Result<axum::Json<StateView>, Problem> {
    let result = match (json.result, json.result_base64) {
        (Some(_), Some(_)) => return Err(Problem::invalid("give result or result_base64, not both")),
        (Some(value), None) => serde_json::to_vec(&value).map_err(|e| Problem::invalid(e.to_string()))?,
        (None, Some(text)) => BASE64
            .decode(text.as_bytes())
            .map_err(|e| Problem::invalid(format!("result_base64 is not base64: {e}")))?,
        (None, None) => Vec::new(),
    };
    answer(&app, &json.id, json.delivery, Answer::Ack { result }).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailJson {
    id: String,
    delivery: u32,
    error: String,
    /// Retry if the task has retries left (default true); false makes this failure final.
    #[serde(default = "yes")]
    retry: bool,
    /// Retry after this long instead of the task's backoff.
    retry_in_ms: Option<u64>,
}

fn yes() -> bool {
    true
}

/// `POST /v1/worker/fail`: the attempt failed.
#[utoipa::path(post, path = "/v1/worker/fail", tag = "worker", request_body = FailJson,
    responses((status = 200, description = "The task's state after the answer", body = StateView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn fail(
    State(app): State<App>,
    Body(json): Body<FailJson>,
) -> Result<axum::Json<StateView>, Problem> {
    let failure = Answer::Fail {
        error: json.error,
        retry: json.retry,
        retry_in_ms: json.retry_in_ms,
    };
    answer(&app, &json.id, json.delivery, failure).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryJson {
    id: String,
    delivery: u32,
    lease_ms: Option<u64>,
}

/// `POST /v1/worker/release`: hands the task back unrun (the worker is stopping).
#[utoipa::path(post, path = "/v1/worker/release", tag = "worker", request_body = DeliveryJson,
    responses((status = 200, description = "The task's state after the answer", body = StateView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn release(
    State(app): State<App>,
    Body(json): Body<DeliveryJson>,
) -> Result<axum::Json<StateView>, Problem> {
    if json.lease_ms.is_some() {
        return Err(Problem::invalid("a release takes no lease_ms"));
    }
    answer(&app, &json.id, json.delivery, Answer::Release).await
}

async fn answer(app: &App, id: &str, delivery: u32, said: Answer) -> Result<axum::Json<StateView>, Problem> {
    let id = parse_id(id)?;
    let state = worker::answer(&app.replica, &app.defaults, id, delivery, said).await?;
    Ok(axum::Json(StateView::from(state)))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExtendedView {
    pub lease_deadline: String,
}

/// `POST /v1/worker/extend`: the task runs long; keep the lease. 409 `revoked` when the task was
/// revoked meanwhile: stop it.
#[utoipa::path(post, path = "/v1/worker/extend", tag = "worker", request_body = DeliveryJson,
    responses((status = 200, body = ExtendedView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn extend(
    State(app): State<App>,
    Body(json): Body<DeliveryJson>,
) -> Result<axum::Json<ExtendedView>, Problem> {
    let id = parse_id(&json.id)?;
    let deadline = worker::extend(&app.replica, &app.defaults, id, json.delivery, json.lease_ms).await?;
    Ok(axum::Json(ExtendedView {
        lease_deadline: time(deadline),
    }))
}
