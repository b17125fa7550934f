//! The tower layer in front of every service: reads the token and the peer certificate, asks
//! the [`Policy`], and either passes the request on (with the [`Caller`] as an extension) or
//! answers the refusal itself.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use rustls_pki_types::{CertificateDer, ServerName};
use tonic::Status;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use super::policy::{NODE_CERT_NAME, Policy, Refusal};

#[derive(Clone)]
pub struct AuthLayer {
    policy: Arc<Policy>,
}

impl AuthLayer {
    pub fn new(policy: Policy) -> AuthLayer {
        AuthLayer {
            policy: Arc::new(policy),
        }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            policy: self.policy.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S, B> tower_service::Service<http::Request<B>> for Auth<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Self::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let token = request
            .headers()
            .get(qraft_proto::security::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::to_owned);
        let node_cert = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|info| info.peer_certs())
            .is_some_and(|certs| certs.first().is_some_and(is_node_cert));
        match self.policy.admit(&path, token.as_deref(), node_cert) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Either::Left(self.inner.call(request))
            }
            Err(refusal) => {
                let remote = request
                    .extensions()
                    .get::<TlsConnectInfo<TcpConnectInfo>>()
                    .and_then(|info| info.get_ref().remote_addr())
                    .or_else(|| {
                        request
                            .extensions()
                            .get::<TcpConnectInfo>()
                            .and_then(TcpConnectInfo::remote_addr)
                    });
                let status = match refusal {
                    Refusal::Unauthenticated(why) => {
                        tracing::warn!(?remote, path, reason = %why, "refused: not authenticated");
                        Status::unauthenticated(why)
                    }
                    Refusal::Denied(why) => {
                        tracing::warn!(?remote, path, reason = %why, "refused: not allowed");
                        Status::permission_denied(why)
                    }
                };
                Either::Right(ready(Ok(status.into_http())))
            }
        }
    }
}

/// Whether a certificate (already verified against the cluster's CA by TLS) names a node.
fn is_node_cert(cert: &CertificateDer<'_>) -> bool {
    let Ok(cert) = webpki::EndEntityCert::try_from(cert) else {
        return false;
    };
    let Ok(name) = ServerName::try_from(NODE_CERT_NAME) else {
        return false;
    };
    cert.verify_is_valid_for_subject_name(&name).is_ok()
}
