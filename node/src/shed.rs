//! Load shedding: a node handles at most so many client requests at once, gRPC and HTTP
//! together (`[limits] max_requests`). One more is refused at once as overloaded
//! (RESOURCE_EXHAUSTED over gRPC, 503 over HTTP, both marked not applied so clients resend it
//! elsewhere) instead of waiting in a queue without end. Raft's own calls are never shed:
//! replication and elections must go on under any client load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic::metadata::MetadataValue;

/// The requests a node is handling, shared by its gRPC and HTTP servers.
#[derive(Clone, Debug)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    limit: usize,
    shed: Arc<AtomicU64>,
}

impl InFlight {
    pub fn new(limit: usize) -> InFlight {
        InFlight {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            shed: Arc::default(),
        }
    }

    /// A place for one more request, held until it is answered; `None`: the node is full.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.permits.clone().try_acquire_owned().ok();
        if permit.is_none() && self.shed.fetch_add(1, Ordering::Relaxed).is_multiple_of(1_000) {
            tracing::warn!(limit = self.limit, "overloaded: shedding client requests");
        }
        permit
    }

    /// Requests being handled now.
    #[cfg(test)]
    fn current(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    /// Requests refused as overloaded since the node started.
    #[cfg(test)]
    fn shed(&self) -> u64 {
        self.shed.load(Ordering::Relaxed)
    }

    pub fn overloaded(&self) -> String {
        format!(
            "this node is overloaded: it handles {} requests at once (--max-requests) and \
             refused this one unapplied; send it again shortly, or to another node",
            self.limit
        )
    }
}

/// The tower layer in front of a node's gRPC services.
#[derive(Clone)]
pub struct ShedLayer {
    in_flight: InFlight,
}

impl ShedLayer {
    pub fn new(in_flight: InFlight) -> ShedLayer {
        ShedLayer { in_flight }
    }
}

impl<S> tower_layer::Layer<S> for ShedLayer {
    type Service = Shed<S>;

    fn layer(&self, inner: S) -> Shed<S> {
        Shed {
            inner,
            in_flight: self.in_flight.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Shed<S> {
    inner: S,
    in_flight: InFlight,
}

/// The Raft service's path prefix: peers' calls, never shed.
const RAFT: &str = "/qraft.v1.Raft/";

impl<S, B> tower_service::Service<http::Request<B>> for Shed<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path().starts_with(RAFT) {
            return self.inner.call(request).boxed();
        }
        match self.in_flight.admit() {
            Some(permit) => {
                let answer = self.inner.call(request);
                async move {
                    let answered = answer.await;
                    drop(permit);
                    answered
                }
                .boxed()
            }
            None => {
                let mut status = Status::resource_exhausted(self.in_flight.overloaded());
                status.metadata_mut().insert(
                    qraft_proto::metadata::NOT_APPLIED,
                    MetadataValue::from_static("1"),
                );
                futures::future::ready(Ok(status.into_http())).boxed()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_node_admits_nothing_until_a_request_is_answered() {
        let in_flight = InFlight::new(2);
        let first = in_flight.admit().expect("room");
        let _second = in_flight.admit().expect("room");
        assert_eq!(in_flight.current(), 2);
        assert!(in_flight.admit().is_none());
        assert_eq!(in_flight.shed(), 1);
        drop(first);
        assert!(in_flight.admit().is_some());
    }
}
