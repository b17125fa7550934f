//! Request parts read the API's way: every rejection is a problem+json that says what to fix,
//! and a body that trickles in is cut off.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::problem::Problem;
use crate::config::HttpLimits;

/// A JSON body: `Content-Type: application/json`, within the route's size limit, decoded into
/// `T` with unknown fields refused.
pub struct Body<T>(pub T);

/// The most bytes a route's body may have, when more than axum's default: a body declared
/// larger is refused before any of it is read.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// axum's limit for routes without a [`BodyLimit`] of their own.
const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let limit = request
            .extensions()
            .get::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |limit| limit.0);
        let declared = request
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if let Some(declared) = declared.filter(|declared| *declared > limit) {
            return Err(too_large(format!(
                "the body is {declared} bytes, larger than this route takes ({limit} bytes)"
            )));
        }
        // A slow client cannot hold a connection (and a slot of the connection cap) forever.
        let body_timeout = request
            .extensions()
            .get::<HttpLimits>()
            .copied()
            .unwrap_or_default()
            .body_timeout;
        match tokio::time::timeout(body_timeout, axum::Json::<T>::from_request(request, state)).await {
            Err(_) => Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "body-timeout",
                "DEADLINE_EXCEEDED",
                format!("the body did not arrive within {} s", body_timeout.as_secs()),
            )),
            Ok(Ok(axum::Json(value))) => Ok(Body(value)),
            Ok(Err(rejection)) => Err(json_problem(rejection)),
        }
    }
}

fn json_problem(rejection: JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            Problem::invalid(format!("the JSON body does not fit: {}", e.body_text()))
        }
        JsonRejection::JsonSyntaxError(e) => {
            Problem::invalid(format!("the body is not JSON: {}", e.body_text()))
        }
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "INVALID_ARGUMENT",
            "send the body as JSON, with the header `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(
            format!("the body is larger than this route takes: {}", e.body_text()),
        ),
        other => Problem::invalid(other.body_text()),
    }
}

fn too_large(detail: String) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        "INVALID_ARGUMENT",
        detail,
    )
}

/// Query parameters decoded into `T`.
pub struct Params<T>(pub T);

impl<S, T> FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Params(value))
            .map_err(|rejection: QueryRejection| Problem::invalid(rejection.body_text()))
    }
}

/// The `limit` of a list: 1 to [`MAX_LIST`](crate::ops::MAX_LIST), the default when absent.
pub fn list_limit(limit: Option<usize>) -> Result<usize, Problem> {
    let limit = limit.unwrap_or(crate::ops::DEFAULT_LIST);
    if !(1..=crate::ops::MAX_LIST).contains(&limit) {
        return Err(Problem::invalid(format!(
            "limit={limit} is not within 1..={}",
            crate::ops::MAX_LIST
        )));
    }
    Ok(limit)
}

/// The `Idempotency-Key` header, if sent: 1 to 200 bytes of visible ASCII.
pub struct IdempotencyKey(pub Option<String>);

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(IdempotencyKey(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|key| (1..=crate::queue::validate::MAX_NAME_LEN).contains(&key.len()))
            .ok_or_else(|| {
                Problem::invalid("the Idempotency-Key header must be 1 to 200 visible ASCII characters")
            })?;
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}
