//! `/v1/schedules`: periodic tasks, as `qraft schedule` manages them.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::App;
use super::extract::{Body, Params};
use super::json::schedule::{ScheduleAddedView, ScheduleJson, ScheduleListView, ScheduleView};
use super::json::time;
use super::limits::RemovedView;
use super::problem::{Details, Problem};
use super::queues::ReadParams;
use crate::ops::schedules;

/// `GET /v1/schedules`: every schedule with its next and last run.
#[utoipa::path(get, path = "/v1/schedules", tag = "schedules", params(ReadParams),
    responses((status = 200, body = ScheduleListView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn list(
    State(app): State<App>,
    Params(params): Params<ReadParams>,
) -> Result<axum::Json<ScheduleListView>, Problem> {
    let (all, now_ms) = schedules::list(&app.replica, params.linearizable()).await?;
    Ok(axum::Json(ScheduleListView {
        schedules: all.iter().map(ScheduleView::from).collect(),
        now: time(now_ms),
    }))
}

/// `PUT /v1/schedules/{name}`: adds the schedule (201), or replaces the one with this name,
/// keeping its run history (200). Each due time submits one task, exactly once, whichever node
/// leads; resending the same schedule is safe.
#[utoipa::path(put, path = "/v1/schedules/{name}", tag = "schedules", request_body = ScheduleJson,
    params(("name" = String, Path, description = "Letters, digits and . _ - : / @")),
    responses((status = 201, description = "Added", body = ScheduleAddedView), (status = 200, description = "Replaced", body = ScheduleAddedView),
        (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn put(
    State(app): State<App>,
    Path(name): Path<String>,
    Body(json): Body<ScheduleJson>,
) -> Result<(StatusCode, axum::Json<ScheduleAddedView>), Problem> {
    let (schedule, replaced) = schedules::add(&app.replica, &app.defaults, json.into_input(name)?).await?;
    let status = if replaced {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        axum::Json(ScheduleAddedView {
            schedule: ScheduleView::from(&schedule),
            replaced,
        }),
    ))
}

/// `DELETE /v1/schedules/{name}`: tasks it already submitted stay.
#[utoipa::path(delete, path = "/v1/schedules/{name}", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses((status = 200, body = RemovedView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn remove(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<axum::Json<RemovedView>, Problem> {
    let removed = schedules::remove(&app.replica, name).await?;
    Ok(axum::Json(RemovedView { removed }))
}

/// `POST /v1/schedules/{name}/pause`: fires nothing until resumed.
#[utoipa::path(post, path = "/v1/schedules/{name}/pause", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses((status = 200, body = ScheduleView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn pause(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<axum::Json<ScheduleView>, Problem> {
    let schedule = schedules::pause(&app.replica, name).await?;
    Ok(axum::Json(ScheduleView::from(&schedule)))
}

/// `POST /v1/schedules/{name}/resume`: fires again from its next due time on.
#[utoipa::path(post, path = "/v1/schedules/{name}/resume", tag = "schedules",
    params(("name" = String, Path, description = "The schedule's name")),
    responses((status = 200, body = ScheduleView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn resume(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<axum::Json<ScheduleView>, Problem> {
    let schedule = schedules::resume(&app.replica, name).await?;
    Ok(axum::Json(ScheduleView::from(&schedule)))
}
