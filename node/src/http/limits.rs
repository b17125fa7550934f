//! `/v1/limits`: rate limits per queue or task name, and queue caps, as `qraft limit` sets them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::App;
use super::extract::{Body, Params};
use super::json::time;
use super::problem::{Details, Problem};
use super::queues::ReadParams;
use crate::ops::limits;
use crate::queue::cap::CapKind;
use crate::queue::limit::Rate;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LimitJson {
    /// `queue:NAME` or `task:NAME`.
    pub scope: String,
    /// At most `count` tasks start per `per_ms`.
    pub count: u32,
    pub per_ms: u64,
    /// Starts inside the current window.
    pub used: u32,
    /// When the window next has room, if it is full.
    pub frees_at: Option<String>,
}

/// A concurrency key with tasks running now.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyJson {
    pub key: String,
    pub running: u32,
}

/// A queue's caps (0: none) and what it holds now: unfinished tasks and their bytes.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapJson {
    pub queue: String,
    pub max_length: u64,
    pub max_bytes: u64,
    pub length: u64,
    pub bytes: u64,
}

/// What the whole cluster holds, against the answering node's cluster-wide caps.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoreJson {
    pub tasks: u64,
    pub max_tasks: u64,
    pub bytes: u64,
    pub max_bytes: u64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LimitList {
    pub limits: Vec<LimitJson>,
    pub caps: Vec<CapJson>,
    pub store: StoreJson,
    pub keys: Vec<KeyJson>,
    /// The cluster time the windows are read at.
    pub now: String,
}

/// `GET /v1/limits`.
#[utoipa::path(get, path = "/v1/limits", tag = "limits", params(ReadParams),
    responses((status = 200, body = LimitList), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn list(
    State(app): State<App>,
    Params(params): Params<ReadParams>,
) -> Result<axum::Json<LimitList>, Problem> {
    let view = limits::list(&app.replica, params.linearizable()).await?;
    Ok(axum::Json(LimitList {
        limits: view
            .limits
            .into_iter()
            .map(|limit| LimitJson {
                scope: limit.scope,
                count: limit.count,
                per_ms: limit.per_ms,
                used: limit.used,
                frees_at: limit.frees_at_ms.map(time),
            })
            .collect(),
        caps: view
            .caps
            .into_iter()
            .map(|cap| CapJson {
                queue: cap.queue,
                max_length: cap.max_length,
                max_bytes: cap.max_bytes,
                length: cap.length,
                bytes: cap.bytes,
            })
            .collect(),
        store: StoreJson {
            tasks: view.store.tasks,
            max_tasks: view.store.max_tasks,
            bytes: view.store.bytes,
            max_bytes: view.store.max_bytes,
        },
        keys: view
            .keys
            .into_iter()
            .map(|(key, running)| KeyJson { key, running })
            .collect(),
        now: time(view.now_ms),
    }))
}

/// What to set, any of: a rate (at most `count` starts per `per_ms`, both given), and for a
/// `queue:NAME` scope its caps, `max_length` (unfinished tasks) and `max_bytes` (their args and
/// headers). A cap of 0 removes it; what the body leaves out stays as it is.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitSetJson {
    count: Option<u32>,
    per_ms: Option<u64>,
    max_length: Option<u64>,
    max_bytes: Option<u64>,
}

/// `PUT /v1/limits/{scope}`: sets or replaces the rate and the caps the body names; 204.
#[utoipa::path(put, path = "/v1/limits/{scope}", tag = "limits", request_body = LimitSetJson,
    params(("scope" = String, Path, description = "`queue:NAME` or `task:NAME`")),
    responses((status = 204, description = "Set"), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn set(
    State(app): State<App>,
    Path(scope): Path<String>,
    Body(json): Body<LimitSetJson>,
) -> Result<StatusCode, Problem> {
    let rate = match (json.count, json.per_ms) {
        (Some(count), Some(per_ms)) => Some(Rate { count, per_ms }),
        (None, None) => None,
        _ => return Err(Problem::invalid("a rate needs both count and per_ms")),
    };
    let caps: Vec<(CapKind, u64)> = [
        (CapKind::MaxLength, json.max_length),
        (CapKind::MaxBytes, json.max_bytes),
    ]
    .into_iter()
    .filter_map(|(cap, value)| value.map(|value| (cap, value)))
    .collect();
    limits::change(&app.replica, &scope, rate, &caps).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RemovedView {
    /// False when there was no such limit.
    pub removed: bool,
}

/// `DELETE /v1/limits/{scope}`.
#[utoipa::path(delete, path = "/v1/limits/{scope}", tag = "limits",
    params(("scope" = String, Path, description = "`queue:NAME` or `task:NAME`")),
    responses((status = 200, body = RemovedView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn remove(
    State(app): State<App>,
    Path(scope): Path<String>,
) -> Result<axum::Json<RemovedView>, Problem> {
    let removed = limits::remove(&app.replica, &scope).await?;
    Ok(axum::Json(RemovedView { removed }))
}
