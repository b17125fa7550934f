//! The API's OpenAPI 3.1 document, generated from the handlers and JSON types themselves
//! (utoipa), served at `/v1/openapi.json` and kept in the repo as `docs/openapi.json`; tests
//! check it against the routes the router really serves and against the file.

use axum::Json;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{cluster, flows, limits, queues, schedules, streams, tasks, worker};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "qraft",
        description = "The HTTP/JSON API of a qraft node: the same operations as its gRPC API, under the same TLS and tokens. Any node answers; a submit is answered once the task is on a majority of disks. Errors are RFC 9457 problem+json.",
    ),
    paths(
        tasks::submit,
        tasks::submit_batch,
        tasks::get,
        tasks::list,
        tasks::revoke,
        streams::finished,
        streams::events,
        worker::register,
        worker::heartbeat,
        worker::leave,
        worker::lease,
        worker::ack,
        worker::fail,
        worker::release,
        worker::extend,
        queues::list,
        queues::pause,
        queues::resume,
        queues::purge,
        queues::dead,
        queues::retry_dead,
        queues::purge_dead,
        queues::workers,
        cluster::status,
        cluster::members,
        cluster::add_node,
        cluster::remove_node,
        cluster::transfer_leader,
        limits::list,
        limits::set,
        limits::remove,
        flows::submit,
        flows::get,
        flows::list,
        schedules::list,
        schedules::put,
        schedules::remove,
        schedules::pause,
        schedules::resume,
        super::metrics,
        openapi,
    ),
    modifiers(&BearerTokens),
    security(("bearer" = [])),
    tags(
        (name = "tasks", description = "Submit, read, wait for, list and revoke tasks"),
        (name = "worker", description = "The lease protocol: run tasks in any language"),
        (name = "queues", description = "Queues, dead letters and workers"),
        (name = "cluster", description = "This node's view of the cluster, membership changes and leadership"),
        (name = "limits", description = "Rate limits per queue or task name"),
        (name = "flows", description = "Chains, groups and chords"),
        (name = "schedules", description = "Periodic tasks, fired by the cluster itself"),
        (name = "node", description = "Metrics and this document"),
    )
)]
struct ApiDoc;

/// Tokens go in `Authorization: Bearer TOKEN`; a node without tokens configured takes none.
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as the file in the repo holds it: pretty JSON and a final newline.
pub fn document_text() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// `GET /v1/openapi.json`.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "node", security(()),
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub async fn openapi() -> impl IntoResponse {
    Json(document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::auth::Policy;
    use crate::ops::TaskDefaults;

    #[test]
    fn the_document_lists_exactly_the_routes_the_router_serves() {
        let served: BTreeSet<(String, String)> =
            crate::http::routes(&TaskDefaults::default(), Arc::new(Policy::default()))
                .into_iter()
                .map(|route| (route.method.as_str().to_lowercase(), route.path.to_owned()))
                .collect();
        let documented: BTreeSet<(String, String)> = document()
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                let methods = [
                    ("get", item.get.is_some()),
                    ("post", item.post.is_some()),
                    ("put", item.put.is_some()),
                    ("delete", item.delete.is_some()),
                    ("patch", item.patch.is_some()),
                ];
                methods
                    .into_iter()
                    .filter(|(_, there)| *there)
                    .map(|(method, _)| (method.to_owned(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(documented, served);
    }

    /// `docs/openapi.json` is the document as the code generates it. After changing a route or
    /// a JSON type: `QRAFT_WRITE_OPENAPI=1 cargo test -p qraft-node --lib openapi`.
    #[test]
    fn the_document_in_the_repo_is_the_generated_one() {
        // Relative to the package, not compiled in: a test binary may be built in another clone.
        let path = std::path::Path::new("../docs/openapi.json");
        let generated = document_text();
        if std::env::var_os("QRAFT_WRITE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("write docs/openapi.json");
        }
        let kept = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            kept == generated,
            "docs/openapi.json differs from the routes' document: regenerate it with \
             QRAFT_WRITE_OPENAPI=1 cargo test -p qraft-node --lib openapi"
        );
        let parsed: serde_json::Value = serde_json::from_str(&kept).expect("JSON");
        assert_eq!(parsed["openapi"], "3.1.0");
    }
}
