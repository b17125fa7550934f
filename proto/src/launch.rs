//! The `qraft node` command line, written once for every tool that starts local nodes:
//! `qraft dev`, the integration tests, the console's tests and the chaos harness. A renamed
//! flag is one edit here.
//!
//! ```
//! use qraft_proto::launch::{Membership, NodeLaunch, peers};
//!
//! let addrs = ["127.0.0.1:7071".to_owned(), "127.0.0.1:7072".to_owned()];
//! let node = NodeLaunch::new(1, &addrs[0], Membership::Peers(peers(&addrs)), "/tmp/n1")
//!     .http_listen("127.0.0.1:8071");
//! let args: Vec<String> = node.args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
//! assert_eq!(args[..5], ["node", "--id", "1", "--listen", "127.0.0.1:7071"]);
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// How a node finds its cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Membership {
    /// The voters of a new cluster, `ID@HOST:PORT,...` (see [`peers`]); restarts rejoin.
    Peers(String),
    /// Any node of a running cluster, which is asked to add this one.
    Join(String),
}

/// One `qraft node` process: its id, addresses, data directory and any further flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLaunch {
    pub id: u64,
    pub listen: String,
    pub membership: Membership,
    pub data: PathBuf,
    pub http_listen: Option<String>,
    pub metrics_listen: Option<String>,
    pub config: Option<PathBuf>,
    /// Flags after the others, e.g. `--tls-cert` or `--worker-queues`.
    pub extra: Vec<OsString>,
}

impl NodeLaunch {
    pub fn new(id: u64, listen: &str, membership: Membership, data: impl Into<PathBuf>) -> NodeLaunch {
        NodeLaunch {
            id,
            listen: listen.to_owned(),
            membership,
            data: data.into(),
            http_listen: None,
            metrics_listen: None,
            config: None,
            extra: Vec::new(),
        }
    }

    pub fn http_listen(mut self, addr: &str) -> NodeLaunch {
        self.http_listen = Some(addr.to_owned());
        self
    }

    pub fn metrics_listen(mut self, addr: &str) -> NodeLaunch {
        self.metrics_listen = Some(addr.to_owned());
        self
    }

    pub fn config(mut self, path: &Path) -> NodeLaunch {
        self.config = Some(path.to_owned());
        self
    }

    pub fn extra<I, S>(mut self, flags: I) -> NodeLaunch
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.extra.extend(flags.into_iter().map(Into::into));
        self
    }

    /// The arguments after the program: `node --id ... --listen ... --peers|--join ...`.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["node".into(), "--id".into(), self.id.to_string().into()];
        args.extend(["--listen".into(), self.listen.clone().into()]);
        let (flag, value) = match &self.membership {
            Membership::Peers(peers) => ("--peers", peers),
            Membership::Join(via) => ("--join", via),
        };
        args.extend([flag.into(), value.clone().into()]);
        args.extend(["--data".into(), self.data.clone().into_os_string()]);
        if let Some(http) = &self.http_listen {
            args.extend(["--http-listen".into(), http.clone().into()]);
        }
        if let Some(metrics) = &self.metrics_listen {
            args.extend(["--metrics-listen".into(), metrics.clone().into()]);
        }
        if let Some(config) = &self.config {
            args.extend(["--config".into(), config.clone().into_os_string()]);
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// `program` (the `qraft` binary) with these arguments, ready for its stdio and spawn.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        let mut command = std::process::Command::new(program);
        command.args(self.args());
        command
    }
}

/// `n` distinct free ports on 127.0.0.1 for local nodes. All are held until the last is picked:
/// a port released at once can be handed out again by the very next bind, and two nodes would
/// get the same address.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|addr| addr.port()))
        .collect()
}

/// The `--peers` value for nodes 1, 2, ... at `addrs`, in order: `1@A,2@B,...`.
pub fn peers(addrs: &[String]) -> String {
    addrs
        .iter()
        .enumerate()
        .map(|(i, addr)| format!("{}@{addr}", i + 1))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_becomes_its_flag() {
        let node = NodeLaunch::new(
            4,
            "127.0.0.1:7074",
            Membership::Join("127.0.0.1:7071".into()),
            "/d/n4",
        )
        .http_listen("127.0.0.1:8074")
        .metrics_listen("127.0.0.1:9074")
        .config(Path::new("/d/n4.toml"))
        .extra(["--worker-queues", "a,b"]);
        let args: Vec<String> = node
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "node",
                "--id",
                "4",
                "--listen",
                "127.0.0.1:7074",
                "--join",
                "127.0.0.1:7071",
                "--data",
                "/d/n4",
                "--http-listen",
                "127.0.0.1:8074",
                "--metrics-listen",
                "127.0.0.1:9074",
                "--config",
                "/d/n4.toml",
                "--worker-queues",
                "a,b"
            ]
        );
        assert_eq!(peers(&["a:1".to_owned(), "b:2".to_owned()]), "1@a:1,2@b:2");
    }
}
