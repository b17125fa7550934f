//! Flags every client command shares.

use qraft_proto::Client;

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
        Ok(Client::new(self.addrs())?)
    }
}
