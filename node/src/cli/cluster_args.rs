//! Flags every client command shares.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use qraft_proto::{Client, Credentials, TlsFiles};

/// A command's call that is safe to repeat (a read, a keyed submit) goes to a second node after
/// this long without an answer, rather than waiting out the 5 s attempt timeout on a leader
/// that froze. Several times the slowest commit seen here, so a busy cluster is not asked twice.
const HEDGE_AFTER: Duration = Duration::from_millis(500);

/// The addresses `qraft dev` uses with its default base port.
pub const DEV_CLUSTER: &str = "127.0.0.1:7071,127.0.0.1:7072,127.0.0.1:7073";

#[derive(clap::Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Node addresses, comma-separated; any one reachable node is enough.
    #[arg(long, env = "QRAFT_CLUSTER", default_value = DEV_CLUSTER, value_name = "HOST:PORT,...")]
    pub cluster: String,
    /// Print JSON instead of text, for scripts.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// How a client proves itself to a secured cluster.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AuthArgs {
    /// CA certificate (PEM) of the cluster: connect with TLS and trust only it.
    #[arg(long, env = "QRAFT_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) to present, if the cluster asks for one.
    #[arg(long, env = "QRAFT_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, env = "QRAFT_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Access token (sent as a bearer token); its role decides what this client may do.
    #[arg(long, env = "QRAFT_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

impl AuthArgs {
    pub fn credentials(&self) -> anyhow::Result<Credentials> {
        let files = TlsFiles {
            ca: self.ca.clone(),
            cert: self.cert.clone(),
            key: self.key.clone(),
        };
        Credentials::load(&files, self.token.clone()).context("TLS or token settings")
    }
}

/// For commands that read: where the answer comes from.
#[derive(clap::Args, Debug, Clone)]
pub struct ReadArgs {
    /// Read from the first node that answers, which may be a moment behind the leader, instead
    /// of from the leader (which sees every acknowledged write).
    #[arg(long)]
    pub local: bool,
}

impl ReadArgs {
    pub fn linearizable(&self) -> bool {
        !self.local
    }
}

impl ClusterArgs {
    pub fn addrs(&self) -> Vec<String> {
        self.cluster
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    pub fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::with_credentials(self.addrs(), &self.auth.credentials()?)?.with_hedge(HEDGE_AFTER))
    }
}
