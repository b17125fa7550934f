//! The HTTP/JSON API: the same operations as gRPC (`crate::ops`), for curl, web apps and any
//! language with an HTTP client, under the same TLS and tokens.
//!
//! - [`json`]: the JSON shapes, in and out.
//! - [`tasks`]: the routes under `/v1/tasks`.
//! - [`worker`]: the lease protocol under `/v1/worker`.
//! - [`problem`]: errors as RFC 9457 problem+json.
//! - [`extract`]: bodies, query parameters and headers, with problems for rejections.
//! - [`auth`]: tokens and roles, each route as the gRPC method it mirrors.
//! - [`server`]: the accept loop (connection cap, timeouts, TLS, graceful stop).
//! - `tls`: the node's certificate for HTTPS.

pub mod auth;
pub mod extract;
pub mod json;
pub mod problem;
pub mod server;
pub mod tasks;
mod tls;
pub mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use prometheus_client::encoding::prometheus_text::{CONTENT_TYPE, encode};
use prometheus_client::registry::Registry;
use qraft_proto::Tls;
use qraft_proto::limits::MAX_MESSAGE;
use tokio::net::TcpListener;

use self::auth::Guard;
use self::problem::Problem;
pub use self::server::HttpServer;
use crate::api::TaskDefaults;
use crate::auth::Policy;
use crate::auth::policy::Need;
use crate::raft::Replica;

/// What every handler may use.
#[derive(Clone)]
pub struct App {
    pub replica: Replica,
    pub defaults: TaskDefaults,
    metrics: Arc<Registry>,
}

/// The API's routes. Each is guarded by the gRPC method it mirrors, so roles match exactly.
pub fn router(replica: Replica, defaults: TaskDefaults, policy: Policy) -> Router {
    let policy = Arc::new(policy);
    // One task's body: its args (JSON escaping or base64 grow them by up to 2x) and the rest.
    let one_task = DefaultBodyLimit::max(4 * defaults.max_payload_bytes + 1024 * 1024);
    let app = App {
        metrics: Arc::new(crate::metrics::registry(replica.clone())),
        replica,
        defaults,
    };
    let guard = |route: MethodRouter<App>, path: &'static str| {
        route.route_layer(from_fn_with_state(Guard::mirrors(&policy, path), auth::admit))
    };
    Router::new()
        .route(
            "/v1/tasks",
            guard(post(tasks::submit).layer(one_task), "/qraft.v1.Tasks/Submit")
                .merge(guard(get(tasks::list), "/qraft.v1.Tasks/ListTasks")),
        )
        .route(
            "/v1/tasks/batch",
            guard(
                post(tasks::submit_batch).layer(DefaultBodyLimit::max(MAX_MESSAGE)),
                "/qraft.v1.Tasks/SubmitBatch",
            ),
        )
        .route(
            "/v1/tasks/{id}",
            guard(get(tasks::get), "/qraft.v1.Tasks/GetTask"),
        )
        .route(
            "/v1/tasks/{id}/revoke",
            guard(post(tasks::revoke), "/qraft.v1.Tasks/Revoke"),
        )
        .route(
            "/v1/worker/register",
            guard(post(worker::register), "/qraft.v1.Worker/Register"),
        )
        .route(
            "/v1/worker/heartbeat",
            guard(post(worker::heartbeat), "/qraft.v1.Worker/Heartbeat"),
        )
        .route(
            "/v1/worker/leave",
            guard(post(worker::leave), "/qraft.v1.Worker/Leave"),
        )
        .route(
            "/v1/worker/lease",
            guard(post(worker::lease), "/qraft.v1.Worker/Lease"),
        )
        .route(
            "/v1/worker/ack",
            guard(post(worker::ack).layer(one_task), "/qraft.v1.Worker/Ack"),
        )
        .route(
            "/v1/worker/fail",
            guard(post(worker::fail).layer(one_task), "/qraft.v1.Worker/Fail"),
        )
        .route(
            "/v1/worker/release",
            guard(post(worker::release), "/qraft.v1.Worker/Release"),
        )
        .route(
            "/v1/worker/extend",
            guard(post(worker::extend), "/qraft.v1.Worker/Extend"),
        )
        .route(
            "/metrics",
            get(metrics).route_layer(from_fn_with_state(
                Guard::needs(&policy, Need::Read, "/metrics"),
                auth::admit,
            )),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .with_state(app)
}

/// `GET /metrics`: Prometheus text.
async fn metrics(State(app): State<App>) -> Response {
    let mut body = String::new();
    match encode(&mut body, &app.metrics) {
        Ok(()) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(e) => Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "INTERNAL",
            format!("cannot encode the metrics: {e}"),
        )
        .into_response(),
    }
}

async fn no_route() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no-route",
        "UNIMPLEMENTED",
        "no such route: the API is under /v1 (see the README's HTTP section)",
    )
}

async fn no_method() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "UNIMPLEMENTED",
        "this route does not take that method",
    )
}

/// Binds `listen` and serves the API on it (over TLS when `tls` is given).
pub async fn start(listen: SocketAddr, tls: Option<&Tls>, router: Router) -> Result<HttpServer, String> {
    let acceptor = tls.map(tls::acceptor).transpose()?;
    let listener = TcpListener::bind(listen).await.map_err(|e| e.to_string())?;
    tracing::info!(
        listen = %listener.local_addr().map_err(|e| e.to_string())?,
        tls = acceptor.is_some(),
        "serving the HTTP API"
    );
    Ok(server::serve(listener, router, acceptor))
}
