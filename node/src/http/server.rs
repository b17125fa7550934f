//! The accept loop: a cap on connections, TLS with a handshake deadline, HTTP/1.1 and HTTP/2 on
//! one port, a deadline on request headers (which also closes idle keep-alive connections), and
//! a graceful stop that lets requests in flight finish.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use super::auth::Remote;
use crate::config::HttpLimits;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Set when the server stops, in every request's extensions: streams end on it, so a stop is
/// not held up by clients that would listen for ever.
#[derive(Clone)]
pub struct Stopping(pub watch::Receiver<bool>);

impl Stopping {
    /// Resolves once the server stops.
    pub async fn stopped(mut self) {
        let _ = self.0.wait_for(|stopping| *stopping).await;
    }
}

/// A running server; [`HttpServer::stop`] ends it.
pub struct HttpServer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// Stops accepting, lets requests in flight finish (at most 5 s), and returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(DRAIN_TIMEOUT + Duration::from_secs(1), self.task)
            .await
            .is_err()
        {
            tracing::warn!("the HTTP server did not stop in time");
        }
    }
}

/// Serves `router` on `listener` until stopped.
pub fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: HttpLimits,
) -> HttpServer {
    // The body deadline is the extractor's to enforce: it finds the limits on every request.
    let router = router.layer(axum::Extension(limits));
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        let graceful = GracefulShutdown::new();
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stopped.changed() => break,
            };
            let (stream, remote) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "HTTP: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Small answers must not wait for a delayed ACK.
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let stopping = Stopping(stopped.clone());
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(Remote(remote));
                    request.extensions_mut().insert(stopping.clone());
                    router.clone().call(request)
                });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(256 * 1024);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(Duration::from_secs(10)))
                .keep_alive_timeout(Duration::from_secs(20))
                .max_concurrent_streams(256);
            let tls = tls.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _slot = slot;
                let served = match tls {
                    None => {
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                    Some(acceptor) => {
                        let stream =
                            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => stream,
                                Ok(Err(e)) => {
                                    tracing::debug!(%remote, error = %e, "HTTP: TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%remote, "HTTP: TLS handshake timed out");
                                    return;
                                }
                            };
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection.into_owned()).await
                    }
                };
                if let Err(e) = served {
                    tracing::debug!(%remote, error = %e, "HTTP: connection ended with an error");
                }
            });
        }
        drop(listener);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                "HTTP: requests still running after {} s; closing them",
                DRAIN_TIMEOUT.as_secs()
            );
        }
    });
    HttpServer { stop, task }
}
