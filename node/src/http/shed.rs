//! The HTTP side of load shedding ([`crate::shed`]): past the node's request limit, 503
//! `overloaded`, not applied, with `Retry-After`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use crate::shed::InFlight;

pub async fn shed(State(in_flight): State<InFlight>, request: Request, next: Next) -> Response {
    match in_flight.admit() {
        Some(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        None => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "RESOURCE_EXHAUSTED",
            in_flight.overloaded(),
        )
        .retry_after(1)
        .not_applied()
        .into_response(),
    }
}
