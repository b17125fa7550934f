//! The HTTP/JSON API: the same operations as gRPC (`crate::ops`), for curl, web apps and any
//! language with an HTTP client, under the same TLS and tokens.
//!
//! - [`json`]: the JSON shapes, in and out.
//! - [`tasks`]: the routes under `/v1/tasks`.
//! - [`worker`]: the lease protocol under `/v1/worker`.
//! - [`queues`]: queues, dead letters and workers.
//! - [`cluster`]: this node's status, the members, membership changes, leadership.
//! - [`flows`]: chains, groups and chords.
//! - [`limits`]: rate limits.
//! - [`schedules`]: periodic tasks.
//! - [`streams`]: Server-Sent Events of finished tasks, resumable on any node.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers.
//! - [`problem`]: errors as RFC 9457 problem+json.
//! - [`extract`]: bodies, query parameters and headers, with problems for rejections.
//! - [`auth`]: tokens and roles, each route as the gRPC method it mirrors.
//! - [`server`]: the accept loop (connection cap, timeouts, TLS, graceful stop).
//! - `tls`: the node's certificate for HTTPS.

pub mod auth;
pub mod cluster;
pub mod extract;
pub mod flows;
#[cfg(test)]
mod fuzz;
pub mod json;
pub mod limits;
pub mod openapi;
pub mod problem;
pub mod queues;
pub mod schedules;
pub mod server;
pub mod shed;
pub mod streams;
pub mod tasks;
mod tls;
pub mod worker;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use prometheus_client::encoding::prometheus_text::{CONTENT_TYPE, encode};
use prometheus_client::registry::Registry;
use qraft_proto::Tls;
use qraft_proto::limits::MAX_MESSAGE;
use tokio::net::TcpListener;

use self::auth::Guard;
use self::extract::BodyLimit;
use self::problem::Problem;
pub use self::server::HttpServer;
use crate::auth::Policy;
use crate::auth::policy::Need;
pub use crate::config::HttpLimits;
use crate::ops::TaskDefaults;
use crate::ops::cluster::NodeInfo;
use crate::ops::rates::RateTracker;
use crate::raft::Replica;

/// What every handler may use.
#[derive(Clone)]
pub struct App {
    pub replica: Replica,
    pub defaults: TaskDefaults,
    node: NodeInfo,
    metrics: Arc<Registry>,
    /// Per-queue rates, sampled while the server runs.
    rates: RateTracker,
}

/// The API's routes, ready to serve.
pub fn router(replica: Replica, defaults: TaskDefaults, node: NodeInfo, policy: Policy) -> Router {
    let mut paths: BTreeMap<&'static str, MethodRouter<App>> = BTreeMap::new();
    for route in routes(&defaults, Arc::new(policy)) {
        let handler = match paths.remove(route.path) {
            Some(before) => before.merge(route.handler),
            None => route.handler,
        };
        paths.insert(route.path, handler);
    }
    let app = App {
        metrics: Arc::new(crate::metrics::registry(replica.clone())),
        rates: RateTracker::start(replica.clone()),
        node,
        replica,
        defaults,
    };
    paths
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        })
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .with_state(app)
}

/// One route: its method and path, and its handler behind the guard of what it mirrors.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<App>,
}

/// Every route, each guarded by the gRPC method it mirrors (so roles match exactly), or by a
/// need of its own where gRPC has no such method.
pub fn routes(defaults: &TaskDefaults, policy: Arc<Policy>) -> Vec<Route> {
    // One task's body: its args (JSON escaping or base64 grow them by up to 2x) and the rest.
    let one_task = 4 * defaults.max_payload_bytes + 1024 * 1024;
    let many = MAX_MESSAGE;
    let limit = |handler: MethodRouter<App>, bytes: usize| -> MethodRouter<App> {
        handler
            .layer::<_, std::convert::Infallible>(DefaultBodyLimit::max(bytes))
            .layer::<_, std::convert::Infallible>(axum::Extension(BodyLimit(bytes)))
    };
    let route = |method: Method, path: &'static str, handler: MethodRouter<App>, guard: Guard| Route {
        method,
        path,
        handler: handler.route_layer(from_fn_with_state(guard, auth::admit)),
    };
    let mirrors = |grpc: &'static str| Guard::mirrors(&policy, grpc);
    vec![
        route(
            Method::POST,
            "/v1/tasks",
            limit(post(tasks::submit), one_task),
            mirrors("/qraft.v1.Tasks/Submit"),
        ),
        route(
            Method::GET,
            "/v1/tasks",
            get(tasks::list),
            mirrors("/qraft.v1.Tasks/ListTasks"),
        ),
        route(
            Method::POST,
            "/v1/tasks/batch",
            limit(post(tasks::submit_batch), many),
            mirrors("/qraft.v1.Tasks/SubmitBatch"),
        ),
        route(
            Method::GET,
            "/v1/tasks/{id}",
            get(tasks::get),
            mirrors("/qraft.v1.Tasks/GetTask"),
        ),
        route(
            Method::GET,
            "/v1/streams/events",
            get(streams::events),
            mirrors("/qraft.v1.Admin/WatchEvents"),
        ),
        route(
            Method::GET,
            "/v1/streams/finished",
            get(streams::finished),
            mirrors("/qraft.v1.Tasks/WatchFinished"),
        ),
        route(
            Method::POST,
            "/v1/tasks/{id}/revoke",
            post(tasks::revoke),
            mirrors("/qraft.v1.Tasks/Revoke"),
        ),
        route(
            Method::POST,
            "/v1/worker/register",
            post(worker::register),
            mirrors("/qraft.v1.Worker/Register"),
        ),
        route(
            Method::POST,
            "/v1/worker/heartbeat",
            post(worker::heartbeat),
            mirrors("/qraft.v1.Worker/Heartbeat"),
        ),
        route(
            Method::POST,
            "/v1/worker/leave",
            post(worker::leave),
            mirrors("/qraft.v1.Worker/Leave"),
        ),
        route(
            Method::POST,
            "/v1/worker/lease",
            post(worker::lease),
            mirrors("/qraft.v1.Worker/Lease"),
        ),
        route(
            Method::POST,
            "/v1/worker/ack",
            limit(post(worker::ack), one_task),
            mirrors("/qraft.v1.Worker/Ack"),
        ),
        route(
            Method::POST,
            "/v1/worker/fail",
            limit(post(worker::fail), one_task),
            mirrors("/qraft.v1.Worker/Fail"),
        ),
        route(
            Method::POST,
            "/v1/worker/release",
            post(worker::release),
            mirrors("/qraft.v1.Worker/Release"),
        ),
        route(
            Method::POST,
            "/v1/worker/extend",
            post(worker::extend),
            mirrors("/qraft.v1.Worker/Extend"),
        ),
        route(
            Method::GET,
            "/v1/queues",
            get(queues::list),
            mirrors("/qraft.v1.Admin/ListQueues"),
        ),
        route(
            Method::POST,
            "/v1/queues/{queue}/pause",
            post(queues::pause),
            mirrors("/qraft.v1.Admin/PauseQueue"),
        ),
        route(
            Method::POST,
            "/v1/queues/{queue}/resume",
            post(queues::resume),
            mirrors("/qraft.v1.Admin/ResumeQueue"),
        ),
        route(
            Method::POST,
            "/v1/queues/{queue}/purge",
            post(queues::purge),
            mirrors("/qraft.v1.Admin/PurgeQueue"),
        ),
        route(
            Method::GET,
            "/v1/dead",
            get(queues::dead),
            mirrors("/qraft.v1.Admin/ListDead"),
        ),
        route(
            Method::POST,
            "/v1/dead/retry",
            post(queues::retry_dead),
            mirrors("/qraft.v1.Admin/RetryDead"),
        ),
        route(
            Method::POST,
            "/v1/dead/purge",
            post(queues::purge_dead),
            mirrors("/qraft.v1.Admin/PurgeDead"),
        ),
        route(
            Method::GET,
            "/v1/status",
            get(cluster::status),
            mirrors("/qraft.v1.Admin/NodeStatus"),
        ),
        route(
            Method::GET,
            "/v1/cluster/members",
            get(cluster::members),
            mirrors("/qraft.v1.Admin/NodeStatus"),
        ),
        route(
            Method::POST,
            "/v1/cluster/members",
            post(cluster::add_node),
            mirrors("/qraft.v1.Admin/AddNode"),
        ),
        route(
            Method::DELETE,
            "/v1/cluster/members/{id}",
            delete(cluster::remove_node),
            mirrors("/qraft.v1.Admin/RemoveNode"),
        ),
        route(
            Method::POST,
            "/v1/cluster/leader",
            post(cluster::transfer_leader),
            mirrors("/qraft.v1.Admin/TransferLeader"),
        ),
        route(
            Method::GET,
            "/v1/workers",
            get(queues::workers),
            mirrors("/qraft.v1.Admin/ListWorkers"),
        ),
        route(
            Method::GET,
            "/v1/limits",
            get(limits::list),
            mirrors("/qraft.v1.Control/ListLimits"),
        ),
        route(
            Method::PUT,
            "/v1/limits/{scope}",
            put(limits::set),
            mirrors("/qraft.v1.Control/SetLimit"),
        ),
        route(
            Method::DELETE,
            "/v1/limits/{scope}",
            delete(limits::remove),
            mirrors("/qraft.v1.Control/RemoveLimit"),
        ),
        route(
            Method::POST,
            "/v1/flows",
            limit(post(flows::submit), many),
            mirrors("/qraft.v1.Flows/SubmitFlow"),
        ),
        route(
            Method::GET,
            "/v1/flows",
            get(flows::list),
            mirrors("/qraft.v1.Flows/ListFlows"),
        ),
        route(
            Method::GET,
            "/v1/flows/{id}",
            get(flows::get),
            mirrors("/qraft.v1.Flows/GetFlow"),
        ),
        route(
            Method::GET,
            "/v1/schedules",
            get(schedules::list),
            mirrors("/qraft.v1.Control/ListSchedules"),
        ),
        route(
            Method::PUT,
            "/v1/schedules/{name}",
            limit(put(schedules::put), one_task),
            mirrors("/qraft.v1.Control/AddSchedule"),
        ),
        route(
            Method::DELETE,
            "/v1/schedules/{name}",
            delete(schedules::remove),
            mirrors("/qraft.v1.Control/RemoveSchedule"),
        ),
        route(
            Method::POST,
            "/v1/schedules/{name}/pause",
            post(schedules::pause),
            mirrors("/qraft.v1.Control/PauseSchedule"),
        ),
        route(
            Method::POST,
            "/v1/schedules/{name}/resume",
            post(schedules::resume),
            mirrors("/qraft.v1.Control/ResumeSchedule"),
        ),
        route(
            Method::GET,
            "/metrics",
            get(metrics),
            Guard::needs(&policy, Need::Read, "/metrics"),
        ),
        route(
            Method::GET,
            "/v1/openapi.json",
            get(openapi::openapi),
            Guard::needs(&policy, Need::Discover, "/v1/openapi.json"),
        ),
    ]
}

/// `GET /metrics`: Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "node",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
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
pub async fn start(
    listen: SocketAddr,
    tls: Option<&Tls>,
    router: Router,
    limits: HttpLimits,
) -> Result<HttpServer, String> {
    let acceptor = tls.map(tls::acceptor).transpose()?;
    let listener = TcpListener::bind(listen).await.map_err(|e| e.to_string())?;
    tracing::info!(
        listen = %listener.local_addr().map_err(|e| e.to_string())?,
        tls = acceptor.is_some(),
        "serving the HTTP API"
    );
    Ok(server::serve(listener, router, acceptor, limits))
}
