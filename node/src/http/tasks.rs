//! `/v1/tasks`: submit one or a batch, read (and long-poll for the result), list, revoke.

use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::App;
use super::extract::{Body, IdempotencyKey, Params, list_limit};
use super::json::{BatchJson, BatchView, StateView, SubmittedView, TaskJson, TaskListView, TaskView};
use super::problem::{Details, Problem};
use crate::auth::Caller;
use crate::ops::tasks::{self, MAX_WAIT};
use crate::ops::{OpError, TaskInput};
use crate::queue::{TaskFilter, TaskId, TaskState};

/// Answers to a replayed idempotency key carry this header, as the IETF draft on
/// `Idempotency-Key` suggests.
const REPLAYED: &str = "idempotent-replayed";
/// The index of the log this node had applied when it answered a read.
const APPLIED_INDEX: &str = "x-qraft-applied-index";
/// About the most bytes of JSON one list answers.
const LIST_BUDGET_BYTES: usize = 64 * 1024 * 1024;

pub(super) fn parse_id(id: &str) -> Result<TaskId, Problem> {
    id.parse().map_err(Problem::invalid)
}

/// The status and headers of a submit's answer: 201 and `Location` for something new; 200,
/// `Location` and `Idempotent-Replayed: true` when the idempotency key named an earlier submit.
pub(super) fn created(duplicate: bool, location: &str) -> (StatusCode, HeaderMap) {
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
    if duplicate {
        headers.insert(
            HeaderName::from_static(REPLAYED),
            HeaderValue::from_static("true"),
        );
        return (StatusCode::OK, headers);
    }
    (StatusCode::CREATED, headers)
}

/// `POST /v1/tasks`: 201 and `Location` for a new task; 200 and `Idempotent-Replayed: true`
/// when the idempotency key named a task submitted before.
#[utoipa::path(post, path = "/v1/tasks", tag = "tasks", request_body = TaskJson,
    params(("Idempotency-Key" = Option<String>, Header, description = "A resend with the same key returns the first task")),
    responses((status = 201, description = "Stored on a majority", body = SubmittedView),
        (status = 200, description = "The key named a task submitted before (`Idempotent-Replayed: true`)", body = SubmittedView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn submit(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    IdempotencyKey(key): IdempotencyKey,
    Body(task): Body<TaskJson>,
) -> Result<Response, Problem> {
    let input = task.into_input(key.as_deref())?;
    let submitted = tasks::submit(&app.replica, &app.defaults, &caller, input).await?;
    let (status, headers) = created(submitted.duplicate, &format!("/v1/tasks/{}", submitted.id));
    Ok((status, headers, axum::Json(SubmittedView::from(submitted))).into_response())
}

/// `POST /v1/tasks/batch`: up to 1,000 tasks in one log entry. With an `Idempotency-Key` K,
/// task i without a key of its own gets `K:i`, so the whole batch can be resent safely.
#[utoipa::path(post, path = "/v1/tasks/batch", tag = "tasks", request_body = BatchJson,
    params(("Idempotency-Key" = Option<String>, Header, description = "Task i without a key of its own gets `KEY:i`")),
    responses((status = 200, description = "Every task stored, in the order sent", body = BatchView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn submit_batch(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    IdempotencyKey(key): IdempotencyKey,
    Body(batch): Body<BatchJson>,
) -> Result<axum::Json<BatchView>, Problem> {
    let inputs = batch
        .tasks
        .into_iter()
        .enumerate()
        .map(|(i, task)| {
            let own = task.idempotency_key.is_some();
            let derived = key.as_ref().filter(|_| !own).map(|key| format!("{key}:{i}"));
            task.into_input(derived.as_deref())
                .map_err(|e| OpError::Invalid(format!("task {i} of the batch: {e}")))
        })
        .collect::<Result<Vec<TaskInput>, OpError>>()?;
    let submitted = tasks::submit_batch(&app.replica, &app.defaults, &caller, inputs).await?;
    Ok(axum::Json(BatchView {
        results: submitted.into_iter().map(SubmittedView::from).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GetParams {
    /// Wait until the task is final, at most this long: seconds (`30`) or a duration (`500ms`,
    /// `2m`), up to 10 minutes.
    wait: Option<String>,
    /// Read on the leader after it confirmed it leads (sees every acknowledged write).
    #[serde(default)]
    linearizable: bool,
}

fn parse_wait(text: &str) -> Result<Duration, Problem> {
    let wait = match text.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(text).map_err(|e| {
            Problem::invalid(format!(
                "wait={text:?} is not seconds or a duration like 500ms or 2m: {e}"
            ))
        })?,
    };
    if wait > MAX_WAIT {
        return Err(Problem::invalid(format!(
            "wait={text} is longer than the {} s a wait may last",
            MAX_WAIT.as_secs()
        )));
    }
    Ok(wait)
}

/// `GET /v1/tasks/{id}`: the task; with `?wait=30s`, once it is final or when the wait runs
/// out (`finished` says which).
#[utoipa::path(get, path = "/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "The task's id (a ULID)"), GetParams),
    responses((status = 200, description = "The task (with `wait`: once final, or when the wait ran out)", body = TaskView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
    Params(params): Params<GetParams>,
) -> Result<Response, Problem> {
    let id = parse_id(&id)?;
    if let Some(wait) = params.wait.as_deref() {
        let (task, _) = tasks::wait(&app.replica, &id, parse_wait(wait)?).await?;
        return Ok(axum::Json(TaskView::from(&task)).into_response());
    }
    let found = match tasks::get(&app.replica, &id, params.linearizable).await {
        // This replica may not have applied the submit yet: ask the leader before saying no.
        Err(OpError::NotFound(_)) if !params.linearizable => tasks::get(&app.replica, &id, true).await,
        found => found,
    };
    let (task, applied) = found?;
    let mut headers = HeaderMap::new();
    headers.insert(HeaderName::from_static(APPLIED_INDEX), HeaderValue::from(applied));
    Ok((headers, axum::Json(TaskView::from(&task))).into_response())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    queue: Option<String>,
    /// PENDING, SCHEDULED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED or EXPIRED.
    state: Option<String>,
    name: Option<String>,
    /// 1 to 10,000 (default 100).
    limit: Option<usize>,
    #[serde(default)]
    linearizable: bool,
}

/// `GET /v1/tasks`: newest first.
#[utoipa::path(get, path = "/v1/tasks", tag = "tasks", params(ListParams),
    responses((status = 200, body = TaskListView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn list(
    State(app): State<App>,
    Params(params): Params<ListParams>,
) -> Result<axum::Json<TaskListView>, Problem> {
    let limit = list_limit(params.limit)?;
    let state = params
        .state
        .as_deref()
        .map(str::parse::<TaskState>)
        .transpose()
        .map_err(Problem::invalid)?;
    let filter = TaskFilter {
        queue: params.queue,
        state,
        name: params.name,
        // One more than asked, to tell whether there were more.
        limit: limit + 1,
    };
    let listed = tasks::list(&app.replica, params.linearizable, &filter).await?;
    let mut truncated = listed.len() > limit;
    let mut budget = LIST_BUDGET_BYTES;
    let mut views = Vec::with_capacity(listed.len().min(limit));
    for task in listed.iter().take(limit) {
        // Base64 and JSON escaping at most double a payload; the rest is small.
        let cost = 2 * (task.args.len() + task.result.as_ref().map_or(0, Vec::len)) + 1024;
        if cost > budget {
            truncated = true;
            break;
        }
        budget -= cost;
        views.push(TaskView::from(task));
    }
    Ok(axum::Json(TaskListView {
        tasks: views,
        truncated,
    }))
}

/// `POST /v1/tasks/{id}/revoke`: a producer may revoke only the tasks it submitted.
#[utoipa::path(post, path = "/v1/tasks/{id}/revoke", tag = "tasks",
    params(("id" = String, Path, description = "The task's id")),
    responses((status = 200, description = "The task's state after the revoke", body = StateView), (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"), (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn revoke(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<StateView>, Problem> {
    let id = parse_id(&id)?;
    let state = tasks::revoke(&app.replica, &caller, id).await?;
    Ok(axum::Json(StateView::from(state)))
}
