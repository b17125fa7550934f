//! What a connection to a qraft node carries for security: TLS (the cluster's CA to trust, and
//! optionally a certificate and key to present) and a bearer token. Clients, the console, the
//! bench and the chaos suite load it from `--ca/--cert/--key/--token`; nodes use the same files
//! for the server side and for talking to their peers.

use std::path::{Path, PathBuf};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};
use tonic::{Request, Status};

/// The metadata key a token travels in.
pub const AUTHORIZATION: &str = "authorization";

#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    #[error("cannot read {what} {path}: {error}")]
    Read {
        what: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Paths of the PEM files: the CA every certificate of the cluster is signed by, and this
/// side's own certificate and key (both or neither).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsFiles {
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }

    /// Reads the files; `None` when none are named.
    pub fn load(&self) -> Result<Option<Tls>, SecurityError> {
        if self.is_empty() {
            return Ok(None);
        }
        let ca = self.ca.as_ref().ok_or_else(|| {
            SecurityError::Invalid(
                "a certificate and key were given without --ca: name the CA that signed the cluster's certificates".into(),
            )
        })?;
        let own = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some((read(cert, "certificate")?, read(key, "key")?)),
            (None, None) => None,
            _ => {
                return Err(SecurityError::Invalid(
                    "give --cert and --key together (the certificate and its private key)".into(),
                ));
            }
        };
        let ca_pem = read(ca, "CA certificate")?;
        if !String::from_utf8_lossy(&ca_pem).contains("BEGIN CERTIFICATE") {
            return Err(SecurityError::Invalid(format!(
                "{} holds no PEM certificate",
                ca.display()
            )));
        }
        Ok(Some(Tls {
            ca: Certificate::from_pem(ca_pem),
            identity: own.as_ref().map(|(cert, key)| Identity::from_pem(cert, key)),
            own_pem: own,
        }))
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, SecurityError> {
    std::fs::read(path).map_err(|error| SecurityError::Read {
        what,
        path: path.to_path_buf(),
        error,
    })
}

/// Loaded TLS material.
#[derive(Clone, Debug)]
pub struct Tls {
    ca: Certificate,
    identity: Option<Identity>,
    /// The certificate chain and key of `identity` as PEM, for servers other than tonic's.
    own_pem: Option<(Vec<u8>, Vec<u8>)>,
}

impl Tls {
    /// This side's certificate chain and private key, as PEM.
    pub fn own_pem(&self) -> Option<(&[u8], &[u8])> {
        self.own_pem
            .as_ref()
            .map(|(cert, key)| (cert.as_slice(), key.as_slice()))
    }

    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// For dialling a node: trust only the cluster's CA, and present our certificate if we
    /// have one (nodes must, towards their peers).
    pub fn client_config(&self) -> ClientTlsConfig {
        let config = ClientTlsConfig::new().ca_certificate(self.ca.clone());
        match &self.identity {
            Some(identity) => config.identity(identity.clone()),
            None => config,
        }
    }

    /// For serving: our certificate, and client certificates checked against the CA when
    /// presented. They are optional here because clients authenticate with tokens; the Raft
    /// service refuses any caller without a node certificate.
    pub fn server_config(&self) -> Result<ServerTlsConfig, SecurityError> {
        let identity = self.identity.clone().ok_or_else(|| {
            SecurityError::Invalid("a node serving TLS needs its certificate and key".into())
        })?;
        Ok(ServerTlsConfig::new()
            .identity(identity)
            .client_ca_root(self.ca.clone())
            .client_auth_optional(true)
            .timeout(std::time::Duration::from_secs(10)))
    }
}

/// Everything a client presents: TLS (when the cluster uses it) and a token (when the nodes
/// require one).
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub tls: Option<Tls>,
    pub token: Option<String>,
}

impl Credentials {
    /// Loads the TLS files and checks the token can travel as metadata.
    pub fn load(files: &TlsFiles, token: Option<String>) -> Result<Credentials, SecurityError> {
        let token = token.filter(|t| !t.is_empty());
        if let Some(token) = &token {
            bearer(token)?;
        }
        Ok(Credentials {
            tls: files.load()?,
            token,
        })
    }

    /// What every request gets stamped with.
    pub(crate) fn interceptor(&self) -> Result<Bearer, SecurityError> {
        Ok(Bearer(self.token.as_deref().map(bearer).transpose()?))
    }
}

fn bearer(token: &str) -> Result<MetadataValue<Ascii>, SecurityError> {
    format!("Bearer {token}")
        .parse()
        .map_err(|_| SecurityError::Invalid("a token is printable ASCII without spaces".into()))
}

/// Adds `authorization: Bearer TOKEN` to every request, when there is a token.
#[derive(Clone, Debug)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert(AUTHORIZATION, value.clone());
        }
        Ok(request)
    }
}
