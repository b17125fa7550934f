//! `/v1/flows`: submit a chain, group or chord (the JSON of `qraft flow submit`), read, list.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::App;
use super::extract::{Body, IdempotencyKey, Params, list_limit};
use super::json::flow::{FlowJson, FlowListView, FlowStatusView, FlowSubmittedView};
use super::problem::{Details, Problem};
use super::queues::ReadParams;
use super::tasks::{created, parse_id};
use crate::ops::flows;

/// `POST /v1/flows`: 201 and `Location` for a new flow; 200 and `Idempotent-Replayed: true` when
/// the idempotency key named a flow submitted before.
#[utoipa::path(post, path = "/v1/flows", tag = "flows", request_body = FlowJson,
    params(("Idempotency-Key" = Option<String>, Header, description = "A resend with the same key returns the first flow")),
    responses((status = 201, description = "Stored on a majority, its first tasks enqueued", body = FlowSubmittedView),
        (status = 200, description = "The key named a flow submitted before (`Idempotent-Replayed: true`)", body = FlowSubmittedView),
        (status = "4XX", description = "A problem: what went wrong and what to do", body = Details, content_type = "application/problem+json"),
        (status = "5XX", description = "No leader, an unknown outcome (resend with the same key), or a bug", body = Details, content_type = "application/problem+json")))]
pub async fn submit(
    State(app): State<App>,
    IdempotencyKey(key): IdempotencyKey,
    Body(flow): Body<FlowJson>,
) -> Result<Response, Problem> {
    let input = flow.into_input(key.as_deref())?;
    let submitted = flows::submit(&app.replica, &app.defaults, input).await?;
    let (status, headers) = created(submitted.duplicate, &format!("/v1/flows/{}", submitted.id));
    let view = FlowSubmittedView {
        id: submitted.id.to_string(),
        duplicate: submitted.duplicate,
    };
    Ok((status, headers, axum::Json(view)).into_response())
}

/// `GET /v1/flows/{id}`: the flow, each part with its task's state and result.
#[utoipa::path(get, path = "/v1/flows/{id}", tag = "flows",
    params(("id" = String, Path, description = "The flow's id (a ULID)"), ReadParams),
    responses((status = 200, body = FlowStatusView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn get(
    State(app): State<App>,
    Path(id): Path<String>,
    Params(params): Params<ReadParams>,
) -> Result<axum::Json<FlowStatusView>, Problem> {
    let id = parse_id(&id)?;
    let flow = flows::get(&app.replica, &id, params.linearizable()).await?;
    Ok(axum::Json(FlowStatusView::from(flow)))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FlowListParams {
    /// 1 to 10,000 (default 100).
    limit: Option<usize>,
    /// Read on the leader after it confirmed it leads (sees every acknowledged write).
    #[serde(default)]
    linearizable: bool,
}

/// `GET /v1/flows`: the newest flows first.
#[utoipa::path(get, path = "/v1/flows", tag = "flows", params(FlowListParams),
    responses((status = 200, body = FlowListView), (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn list(
    State(app): State<App>,
    Params(params): Params<FlowListParams>,
) -> Result<axum::Json<FlowListView>, Problem> {
    let limit = list_limit(params.limit)?;
    let newest = flows::list(&app.replica, limit, params.linearizable).await?;
    Ok(axum::Json(FlowListView {
        flows: newest.into_iter().map(FlowStatusView::from).collect(),
    }))
}
