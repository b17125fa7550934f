//! `/v1/queues`, `/v1/dead`, `/v1/workers`: what is waiting where, who works on it, and the
//! tasks that failed for good.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::App;
use super::extract::{Body, Params};
use super::json::{TaskListView, TaskView, time};
use super::problem::{Details, Problem};
use crate::ops::queues::{self, QueueView};
use crate::ops::tasks;
use crate::queue::{TaskFilter, TaskState, WorkerInfo};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// Read on the leader after it confirmed it leads (sees every acknowledged write).
    #[serde(default)]
    linearizable: bool,
}

impl ReadParams {
    pub fn linearizable(&self) -> bool {
        self.linearizable
    }
}

/// Waiting tasks of one name that no consumer of the queue declares.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

/// One queue.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueJson {
    pub name: String,
    pub ready: u64,
    pub scheduled: u64,
    pub started: u64,
    pub retry: u64,
    /// Dead letters: tasks that failed for good.
    pub dead: u64,
    pub succeeded: u64,
    pub revoked: u64,
    pub expired: u64,
    pub paused: bool,
    /// Per second, over the last 10 s.
    pub enqueued_per_s: f64,
    pub completed_per_s: f64,
    pub failed_per_s: f64,
    pub enqueued_total: u64,
    pub completed_total: u64,
    pub failed_total: u64,
    /// Registered workers that consume the queue.
    pub consumers: u32,
    pub unhandled: Vec<NameCount>,
}

impl From<QueueView> for QueueJson {
    fn from(q: QueueView) -> Self {
        QueueJson {
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
                .map(|(name, count)| NameCount { name, count })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueueList {
    pub queues: Vec<QueueJson>,
}

/// `GET /v1/queues`: every queue with tasks or a pause.
#[utoipa::path(get, path = "/v1/queues", tag = "queues", params(ReadParams),
    responses((status = 200, body = QueueList), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn list(
    State(app): State<App>,
    Params(params): Params<ReadParams>,
) -> Result<axum::Json<QueueList>, Problem> {
    let views = queues::queues(&app.replica, &app.rates, params.linearizable).await?;
    Ok(axum::Json(QueueList {
        queues: views.into_iter().map(QueueJson::from).collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PausedView {
    pub queue: String,
    pub paused: bool,
}

/// `POST /v1/queues/{queue}/pause`: hands out nothing until resumed; submits are still accepted.
#[utoipa::path(post, path = "/v1/queues/{queue}/pause", tag = "queues",
    params(("queue" = String, Path, description = "The queue's name (percent-encode `/`)")),
    responses((status = 200, body = PausedView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn pause(
    State(app): State<App>,
    Path(queue): Path<String>,
) -> Result<axum::Json<PausedView>, Problem> {
    queues::pause(&app.replica, queue.clone()).await?;
    Ok(axum::Json(PausedView { queue, paused: true }))
}

/// `POST /v1/queues/{queue}/resume`.
#[utoipa::path(post, path = "/v1/queues/{queue}/resume", tag = "queues",
    params(("queue" = String, Path, description = "The queue's name")),
    responses((status = 200, body = PausedView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn resume(
    State(app): State<App>,
    Path(queue): Path<String>,
) -> Result<axum::Json<PausedView>, Problem> {
    queues::resume(&app.replica, queue.clone()).await?;
    Ok(axum::Json(PausedView { queue, paused: false }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CountView {
    pub count: u64,
}

/// `POST /v1/queues/{queue}/purge`: deletes the queue's waiting tasks.
#[utoipa::path(post, path = "/v1/queues/{queue}/purge", tag = "queues",
    params(("queue" = String, Path, description = "The queue's name")),
    responses((status = 200, description = "How many were deleted", body = CountView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn purge(
    State(app): State<App>,
    Path(queue): Path<String>,
) -> Result<axum::Json<CountView>, Problem> {
    let count = queues::purge(&app.replica, queue).await?;
    Ok(axum::Json(CountView { count }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadParams {
    queue: Option<String>,
    /// 1 to 10,000 (default 100).
    limit: Option<usize>,
    #[serde(default)]
    linearizable: bool,
}

/// `GET /v1/dead`: dead letters, newest first.
#[utoipa::path(get, path = "/v1/dead", tag = "queues", params(DeadParams),
    responses((status = 200, body = TaskListView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn dead(
    State(app): State<App>,
    Params(params): Params<DeadParams>,
) -> Result<axum::Json<TaskListView>, Problem> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(Problem::invalid(format!("limit={limit} is not within 1..=10000")));
    }
    let filter = TaskFilter {
        queue: params.queue,
        state: Some(TaskState::Failure),
        name: None,
        limit: limit + 1,
    };
    let listed = tasks::list(&app.replica, params.linearizable, &filter).await?;
    Ok(axum::Json(TaskListView {
        truncated: listed.len() > limit,
        tasks: listed.iter().take(limit).map(TaskView::from).collect(),
    }))
}

/// Which dead letters: exactly one of `id`, `queue` or `"all": true`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeadSelectorJson {
    id: Option<String>,
    queue: Option<String>,
    #[serde(default)]
    all: bool,
}

/// `POST /v1/dead/retry`: back to their queue, attempts reset.
#[utoipa::path(post, path = "/v1/dead/retry", tag = "queues", request_body = DeadSelectorJson,
    responses((status = 200, description = "How many went back", body = CountView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn retry_dead(
    State(app): State<App>,
    Body(json): Body<DeadSelectorJson>,
) -> Result<axum::Json<CountView>, Problem> {
    let selector = queues::dead_selector(json.id.as_deref(), json.queue, json.all)?;
    let count = queues::retry_dead(&app.replica, selector).await?;
    Ok(axum::Json(CountView { count }))
}

/// `POST /v1/dead/purge`: deletes dead letters.
#[utoipa::path(post, path = "/v1/dead/purge", tag = "queues", request_body = DeadSelectorJson,
    responses((status = 200, description = "How many were deleted", body = CountView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn purge_dead(
    State(app): State<App>,
    Body(json): Body<DeadSelectorJson>,
) -> Result<axum::Json<CountView>, Problem> {
    let selector = queues::dead_selector(json.id.as_deref(), json.queue, json.all)?;
    let count = queues::purge_dead(&app.replica, selector).await?;
    Ok(axum::Json(CountView { count }))
}

/// One registered worker: a node's own pool or a remote one.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerJson {
    pub id: String,
    pub node: String,
    /// `pool` (a node's own) or `remote`.
    pub kind: String,
    pub queues: Vec<String>,
    pub names: Vec<String>,
    pub concurrency: u32,
    pub active: u32,
    pub processed: u64,
    pub failed: u64,
    pub registered_at: String,
    pub last_seen: String,
}

impl From<WorkerInfo> for WorkerJson {
    fn from(w: WorkerInfo) -> Self {
        WorkerJson {
            kind: w.kind.name().to_owned(),
            id: w.id,
            node: w.node,
            queues: w.queues,
            names: w.names,
            concurrency: w.concurrency,
            active: w.active,
            processed: w.processed,
            failed: w.failed,
            registered_at: time(w.registered_at_ms),
            last_seen: time(w.last_seen_ms),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerList {
    pub workers: Vec<WorkerJson>,
    /// The cluster time `last_seen` is to be read against.
    pub now: String,
}

/// `GET /v1/workers`.
#[utoipa::path(get, path = "/v1/workers", tag = "queues",
    responses((status = 200, body = WorkerList), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn workers(State(app): State<App>) -> axum::Json<WorkerList> {
    let (workers, now_ms) = queues::workers(&app.replica);
    axum::Json(WorkerList {
        workers: workers.into_iter().map(WorkerJson::from).collect(),
        now: time(now_ms),
    })
}
