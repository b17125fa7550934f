//! Tokens and roles on the HTTP API: each route names the gRPC method it mirrors, so a role is
//! allowed exactly the same calls on both edges (`auth::policy::need`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use crate::auth::Policy;
use crate::auth::policy::{Need, Refusal, need};

/// What one route needs: the gRPC method it mirrors (or, for `/metrics`, a need of its own).
#[derive(Clone)]
pub struct Guard {
    policy: Arc<Policy>,
    need: Need,
    what: &'static str,
}

impl Guard {
    /// The route mirrors gRPC method `path` (`/qraft.v1.Tasks/Submit`).
    pub fn mirrors(policy: &Arc<Policy>, path: &'static str) -> Guard {
        Guard {
            policy: policy.clone(),
            need: need(path),
            what: path,
        }
    }

    pub fn needs(policy: &Arc<Policy>, need: Need, what: &'static str) -> Guard {
        Guard {
            policy: policy.clone(),
            need,
            what,
        }
    }
}

/// The remote address of a connection, put into every request by the server.
#[derive(Clone, Copy, Debug)]
pub struct Remote(pub SocketAddr);

/// Admits the request (the [`Caller`](crate::auth::Caller) goes into its extensions) or answers
/// 401 or 403 itself.
pub async fn admit(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_owned);
    match guard.policy.admit_token(guard.need, guard.what, token.as_deref()) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(refusal) => {
            let remote = request.extensions().get::<Remote>().map(|remote| remote.0);
            let path = request.uri().path().to_owned();
            match refusal {
                Refusal::Unauthenticated(why) => {
                    tracing::warn!(?remote, path, reason = %why, "refused: not authenticated");
                    let detail = if token.is_none() {
                        "this node requires a token: send the header `Authorization: Bearer TOKEN`".to_owned()
                    } else {
                        why
                    };
                    Problem::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "UNAUTHENTICATED",
                        detail,
                    )
                    .into_response()
                }
                Refusal::Denied(why) => {
                    tracing::warn!(?remote, path, reason = %why, "refused: not allowed");
                    Problem::new(StatusCode::FORBIDDEN, "forbidden", "PERMISSION_DENIED", why).into_response()
                }
            }
        }
    }
}
