//! The security part of a node's configuration: TLS files (`--tls-ca/--tls-cert/--tls-key` or
//! `[tls]`), accepted tokens (`[[tokens]]`, stored hashed) and `--insecure`. A node refuses to
//! listen on a non-loopback address without TLS and tokens unless told `--insecure`.

use std::net::SocketAddr;

use qraft_proto::{Tls, TlsFiles};

use super::{ConfigError, TlsSection, invalid};
use crate::auth::{Policy, TokenEntry};

/// Every address a node listens on, each checked against the rule above.
#[derive(Clone, Copy, Debug)]
pub struct Listens {
    pub grpc: SocketAddr,
    pub http: Option<SocketAddr>,
    pub metrics: Option<SocketAddr>,
}

/// A node's validated security settings.
#[derive(Clone, Debug)]
pub struct Security {
    /// `None`: plain text.
    pub tls: Option<Tls>,
    pub policy: Policy,
    /// Listening beyond loopback without protection, or with tokens but an open Raft port, was
    /// asked for (`--insecure`); the node warns at start-up.
    pub insecure_exposed: bool,
}

impl Security {
    pub fn load(
        tls: &TlsSection,
        tokens: &[TokenEntry],
        insecure: bool,
        listens: &Listens,
    ) -> Result<Security, ConfigError> {
        let files = TlsFiles {
            ca: tls.ca.clone(),
            cert: tls.cert.clone(),
            key: tls.key.clone(),
        };
        if !files.is_empty() && (files.ca.is_none() || files.cert.is_none() || files.key.is_none()) {
            return Err(invalid(
                "TLS needs all three of --tls-ca, --tls-cert and --tls-key (`qraft certs init DIR` makes a set)",
            ));
        }
        let tls = files.load().map_err(|e| invalid(format!("TLS: {e}")))?;
        let policy = Policy::new(tokens, tls.is_some()).map_err(|e| invalid(format!("[[tokens]]: {e}")))?;
        let protected = tls.is_some() && policy.has_tokens();
        let listen = listens.grpc;
        let loopback = listen.ip().is_loopback();
        // Tokens guard the client services, but only a node certificate tells a peer from
        // anyone on the Raft service: without TLS, whoever reaches the port could propose
        // commands or install a snapshot past every token.
        if policy.has_tokens() && tls.is_none() && !insecure {
            return Err(invalid(
                "tokens without TLS protect the client calls but leave Raft open to anyone who \
                 reaches the port (it can propose commands and install snapshots): configure [tls] \
                 too (`qraft certs init DIR`), or pass --insecure to accept an open Raft port on a \
                 trusted host",
            ));
        }
        if !loopback && !protected && !insecure {
            let missing = match (tls.is_some(), policy.has_tokens()) {
                (false, false) => "TLS and tokens",
                (false, true) => "TLS (tokens would cross the network in clear text)",
                _ => "tokens (anyone could submit work and purge queues)",
            };
            return Err(invalid(format!(
                "refusing to listen on {listen} without {missing}: configure [tls] and [[tokens]] \
                 (see `qraft certs init` and `qraft token new`), listen on 127.0.0.1, or pass \
                 --insecure if this network is trusted"
            )));
        }
        if let Some(http) = listens.http.filter(|http| !http.ip().is_loopback())
            && !protected
            && !insecure
        {
            return Err(invalid(format!(
                "refusing to serve the HTTP API on {http} without TLS and tokens: configure [tls] \
                 and [[tokens]] (they cover HTTP too), listen on 127.0.0.1, or pass --insecure if \
                 this network is trusted"
            )));
        }
        // The metrics port speaks plain HTTP and asks for no token, whatever the node's TLS.
        let open_metrics = listens.metrics.is_some_and(|metrics| !metrics.ip().is_loopback());
        if open_metrics && !insecure {
            return Err(invalid(format!(
                "refusing to serve metrics on {} in the clear and without tokens: scrape /metrics \
                 on --http-listen instead (TLS and tokens), listen on 127.0.0.1, or pass --insecure",
                listens.metrics.map(|m| m.to_string()).unwrap_or_default()
            )));
        }
        let open_http = listens.http.is_some_and(|http| !http.ip().is_loopback()) && !protected;
        let open_raft = policy.has_tokens() && tls.is_none();
        Ok(Security {
            tls,
            insecure_exposed: (!loopback && !protected) || open_raft || open_http || open_metrics,
            policy,
        })
    }
}
