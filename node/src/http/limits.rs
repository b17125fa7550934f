//! `/v1/limits`: rate limits per queue or task name, as `qraft limit` sets them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::App;
use super::extract::{Body, Params};
use super::json::time;
use super::problem::{Details, Problem};
use super::queues::ReadParams;
use crate::ops::limits;
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

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LimitList {
    pub limits: Vec<LimitJson>,
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
        keys: view
            .keys
            .into_iter()
            .map(|(key, running)| KeyJson { key, running })
            .collect(),
        now: time(view.now_ms),
    }))
}

/// A limit to set: at most `count` starts per `per_ms`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateJson {
    count: u32,
    per_ms: u64,
}

/// `PUT /v1/limits/{scope}`: sets or replaces the limit; 204.
#[utoipa::path(put, path = "/v1/limits/{scope}", tag = "limits", request_body = RateJson,
    params(("scope" = String, Path, description = "`queue:NAME` or `task:NAME`")),
    responses((status = 204, description = "Set"), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn set(
    State(app): State<App>,
    Path(scope): Path<String>,
    Body(json): Body<RateJson>,
) -> Result<StatusCode, Problem> {
    let rate = Rate {
        count: json.count,
        per_ms: json.per_ms,
    };
    limits::set(&app.replica, &scope, rate).await?;
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
