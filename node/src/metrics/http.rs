//! A minimal HTTP/1 server for the scrape endpoint: `GET /metrics` and nothing else.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::prometheus_text::{CONTENT_TYPE, encode};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Binds `listen` and serves `registry` until the returned task is aborted.
pub async fn serve(listen: SocketAddr, registry: Registry) -> std::io::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(listen).await?;
    let registry = Arc::new(registry);
    tracing::info!(listen = %listener.local_addr()?, "serving metrics at /metrics");
    Ok(tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: accept failed");
                    continue;
                }
            };
            let registry = registry.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(request, registry.clone()));
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %e, "metrics: connection ended with an error");
                }
            });
        }
    }))
}

async fn answer(
    request: Request<Incoming>,
    registry: Arc<Registry>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() != Method::GET || request.uri().path() != "/metrics" {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "only GET /metrics is served here\n".into(),
        ));
    }
    let mut body = String::new();
    match encode(&mut body, &registry) {
        Ok(()) => {
            let mut response = plain(StatusCode::OK, body);
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(CONTENT_TYPE),
            );
            Ok(response)
        }
        Err(e) => Ok(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the metrics: {e}\n"),
        )),
    }
}

fn plain(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
}
