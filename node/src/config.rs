//! Node settings, layered: built-in defaults, then a TOML file (`--config`), then `QRAFT_*`
//! environment variables, then flags. Validated once, at start-up, into a [`NodeConfig`] with
//! messages that say what to change.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub mod defaults;
mod security;
mod settings;
mod values;

pub use self::security::{Listens, Security};
pub use self::settings::{
    DefaultsSection, ExecTask, HttpSection, LimitsSection, RaftSection, Settings, TlsSection, WorkerSection,
};
pub use self::values::{List, Millis, MinMax, parse_duration_ms};
use crate::ops::TaskDefaults;
use crate::queue::validate::{self, DEFAULT_MAX_PAYLOAD, MAX_DURATION_MS, MAX_PAYLOAD_LIMIT};

use crate::queue::cap::StoreCaps;
use crate::raft::RaftSettings;
use crate::worker::PoolSettings;

/// `qraft node`'s command line: the [`Settings`] (each also a `QRAFT_*` variable, overriding
/// the config file key by key) and the switches that only make sense for one start.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NodeArgs {
    /// TOML file with node settings (see node/qraft.example.toml); flags and env override it.
    #[arg(long, env = "QRAFT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
    /// This node lost its data (a wiped disk, a new machine) but keeps its id: rebuild it from
    /// the cluster. It votes again only once it has caught up. Without this flag such a node
    /// refuses to start; joining under a new id (--join) is the other way back.
    #[arg(long, env = "QRAFT_REBUILD")]
    pub rebuild: bool,
    /// Run no worker pool on this node: a pure broker (`[worker] enabled = false` in the file).
    #[arg(long, env = "QRAFT_NO_WORKER")]
    pub no_worker: bool,
    /// Test-only canary: acknowledge writes without syncing the WAL, so a power loss loses
    /// them. qraft-chaos uses it to show its power-loss scenario catches a missing fsync.
    #[arg(long, hide = true)]
    pub unsafe_skip_wal_sync: bool,
}

/// A validated node configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: u64,
    pub listen: SocketAddr,
    pub advertise: String,
    /// Where the HTTP/JSON API (and `/metrics`) is served; `None`: nowhere.
    pub http_listen: Option<SocketAddr>,
    /// Where `/metrics` alone is served, plain and open; `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// What the HTTP API grants one client.
    pub http: HttpLimits,
    /// Client requests handled at once before the node sheds load.
    pub max_requests: usize,
    /// The initial voters; empty when joining.
    pub peers: BTreeMap<u64, String>,
    /// A node of the running cluster to ask to be added through.
    pub join: Option<String>,
    /// The operator says this node lost its data and is to be rebuilt under its id.
    pub rebuild: bool,
    pub data_dir: PathBuf,
    pub raft: RaftSettings,
    pub tasks: TaskDefaults,
    /// `None`: no worker pool on this node.
    pub worker: Option<PoolSettings>,
    /// Task names run by a program: name -> program and its fixed arguments.
    pub exec: BTreeMap<String, Vec<String>>,
    pub security: Security,
}

/// What the server grants one client (`[http]` in the node's settings): a slow or hostile one
/// cannot starve the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, or stay idle between requests.
    pub header_timeout: std::time::Duration,
    /// How long a client may take to send a whole body.
    pub body_timeout: std::time::Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: defaults::HTTP_MAX_CONNECTIONS,
            header_timeout: std::time::Duration::from_millis(defaults::HTTP_HEADER_TIMEOUT_MS),
            body_timeout: std::time::Duration::from_millis(defaults::HTTP_BODY_TIMEOUT_MS),
        }
    }
}
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

impl NodeConfig {
    /// Layers the file under the flags and variables, and validates the result.
    pub fn load(args: &NodeArgs) -> Result<NodeConfig, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => Settings::default(),
        };
        let set = file.under(&args.settings).map_err(invalid)?;
        let id = set.id.ok_or_else(|| {
            invalid("no node id: pass --id N (or set QRAFT_ID, or `id = N` in the config file)")
        })?;
        if id == 0 {
            return Err(invalid("--id must be a positive integer; 0 is reserved"));
        }
        let peers = match &set.peers {
            Some(List(items)) => parse_peers(items.iter().map(|s| s.trim()))?,
            None => BTreeMap::new(),
        };
        let own_peer_addr = peers.get(&id).cloned();
        if !peers.is_empty() && own_peer_addr.is_none() {
            let ids: Vec<String> = peers.keys().map(u64::to_string).collect();
            return Err(invalid(format!(
                "node id {id} is not in --peers (ids {}); add `{id}@HOST:PORT` to the list or fix --id",
                ids.join(", ")
            )));
        }
        let listen_text = set.listen.or_else(|| own_peer_addr.clone()).ok_or_else(|| {
            invalid("no listen address: pass --listen HOST:PORT or --peers including this node")
        })?;
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(format!(
                "--listen {listen_text:?} is not an IP:PORT address, e.g. 127.0.0.1:7071 or 0.0.0.0:7071"
            ))
        })?;
        let advertise = set
            .advertise
            .or(own_peer_addr)
            .unwrap_or_else(|| listen.to_string());
        must_be_host_port("--advertise", &advertise)?;
        let metrics_listen = match set.metrics_listen {
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                invalid(format!(
                    "--metrics-listen {text:?} is not an IP:PORT address, e.g. 127.0.0.1:9071"
                ))
            })?),
            None => None,
        };
        if metrics_listen == Some(listen) {
            return Err(invalid(
                "--metrics-listen must differ from --listen: metrics are served over HTTP/1 on a port of their own",
            ));
        }
        let http_listen = match set.http_listen {
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                invalid(format!(
                    "--http-listen {text:?} is not an IP:PORT address, e.g. 127.0.0.1:8071"
                ))
            })?),
            None => None,
        };
        if http_listen.is_some() && (http_listen == Some(listen) || http_listen == metrics_listen) {
            return Err(invalid(
                "--http-listen must differ from --listen and --metrics-listen: each is a port of its own",
            ));
        }
        let join = set.join;
        if let Some(via) = &join {
            if !peers.is_empty() {
                return Err(invalid(
                    "pass either --peers (the voters of a new cluster) or --join (a node of a running one), not both",
                ));
            }
            must_be_host_port("--join", via)?;
        }
        let peers = if peers.is_empty() && join.is_none() {
            BTreeMap::from([(id, advertise.clone())])
        } else {
            peers
        };
        let cluster_name = set
            .cluster_name
            .unwrap_or_else(|| defaults::CLUSTER_NAME.to_owned());
        validate::must_be_name("cluster name", &cluster_name).map_err(invalid)?;

        let heartbeat_ms = set.raft.heartbeat_ms.unwrap_or(defaults::HEARTBEAT_MS);
        let MinMax(election_min_ms, election_max_ms) = set
            .raft
            .election_timeout_ms
            .unwrap_or(MinMax(defaults::ELECTION_MIN_MS, defaults::ELECTION_MAX_MS));
        if heartbeat_ms == 0 {
            return Err(invalid("heartbeat must be at least 1 ms"));
        }
        if election_min_ms < heartbeat_ms * 2 {
            return Err(invalid(format!(
                "election timeout minimum {election_min_ms} ms must be at least twice the heartbeat ({heartbeat_ms} ms), or followers time out between heartbeats"
            )));
        }
        if election_max_ms <= election_min_ms {
            return Err(invalid(format!(
                "election timeout range {election_min_ms},{election_max_ms} is empty: MAX must be greater than MIN"
            )));
        }
        let snapshot_every = set.raft.snapshot_every.unwrap_or(defaults::SNAPSHOT_EVERY);
        if snapshot_every == 0 {
            return Err(invalid("--snapshot-every must be at least 1"));
        }
        let keep_logs = set.raft.keep_logs.unwrap_or(defaults::KEEP_LOGS);
        let max_payload_bytes = set.limits.max_payload_bytes.unwrap_or(DEFAULT_MAX_PAYLOAD);
        if !(1..=MAX_PAYLOAD_LIMIT).contains(&max_payload_bytes) {
            return Err(invalid(format!(
                "max payload {max_payload_bytes} bytes is out of range 1..={MAX_PAYLOAD_LIMIT}"
            )));
        }
        let task_defaults = TaskDefaults::default();
        let ms = |value: Option<Millis>, default: u64| value.map_or(default, |Millis(ms)| ms);
        let result_ttl_ms = ms(set.defaults.result_ttl, task_defaults.result_ttl_ms);
        let dedup_window_ms = ms(set.defaults.dedup_window, task_defaults.dedup_window_ms);
        let dead_letter_ttl_ms = ms(set.defaults.dead_letter_ttl, task_defaults.dead_letter_ttl_ms);
        for (what, ms) in [
            ("result TTL", result_ttl_ms),
            ("dedup window", dedup_window_ms),
            ("dead letter TTL", dead_letter_ttl_ms),
        ] {
            validate::must_be_duration(what, ms, MAX_DURATION_MS).map_err(invalid)?;
        }
        let delivery_limit = set
            .defaults
            .delivery_limit
            .unwrap_or(task_defaults.delivery_limit);
        validate::must_be_delivery_limit(delivery_limit).map_err(invalid)?;
        let worker = if args.no_worker || set.worker.enabled == Some(false) {
            None
        } else {
            let List(queues) = set
                .worker
                .queues
                .unwrap_or_else(|| List(vec![validate::DEFAULT_QUEUE.to_owned()]));
            if queues.is_empty() {
                return Err(invalid(
                    "the worker has no queues: name at least one, or pass --no-worker",
                ));
            }
            for queue in &queues {
                validate::must_be_name("worker queue", queue).map_err(invalid)?;
            }
            let concurrency = set.worker.concurrency.unwrap_or(defaults::CONCURRENCY);
            if !(1..=1000).contains(&concurrency) {
                return Err(invalid(format!(
                    "concurrency {concurrency} is out of range 1..=1000"
                )));
            }
            let autoscale = match set.worker.autoscale {
                None => None,
                Some(MinMax(min, max)) => {
                    if min == 0 || min > max || max > 1000 {
                        return Err(invalid(format!(
                            "autoscale {min},{max} must have 1 <= MIN <= MAX <= 1000"
                        )));
                    }
                    Some((min as usize, max as usize))
                }
            };
            let concurrency = autoscale.map_or(concurrency, |(_, max)| max);
            Some(PoolSettings {
                queues,
                concurrency,
                autoscale,
                lease_ms: task_defaults.lease_ms,
                grace: std::time::Duration::from_millis(ms(set.worker.grace, defaults::WORKER_GRACE_MS)),
                max_result_bytes: max_payload_bytes,
            })
        };
        let http = http_limits(&set.http)?;
        let max_requests = set.limits.max_requests.unwrap_or(defaults::MAX_REQUESTS);
        if !(1..=1_000_000).contains(&max_requests) {
            return Err(invalid(format!(
                "max requests {max_requests} is out of range 1..=1000000"
            )));
        }
        let mut exec = BTreeMap::new();
        for (name, task) in set.tasks {
            validate::must_be_name("task name", &name)
                .map_err(|e| invalid(format!("[tasks.\"{name}\"]: {e}")))?;
            if name.starts_with("builtin.") {
                return Err(invalid(format!(
                    "[tasks.\"{name}\"]: the builtin. names are reserved"
                )));
            }
            let program = task
                .exec
                .first()
                .ok_or_else(|| invalid(format!("[tasks.\"{name}\"]: exec needs at least a program")))?;
            must_be_runnable(program).map_err(|e| invalid(format!("[tasks.\"{name}\"]: {e}")))?;
            exec.insert(name, task.exec);
        }
        let listens = Listens {
            grpc: listen,
            http: http_listen,
            metrics: metrics_listen,
        };
        let insecure = set.insecure.unwrap_or(false);
        let security = Security::load(&set.tls, &set.tokens, insecure, &listens)?;
        let data_dir = set.data.unwrap_or_else(|| PathBuf::from(format!("data/n{id}")));
        Ok(NodeConfig {
            id,
            listen,
            advertise,
            http_listen,
            metrics_listen,
            http,
            max_requests,
            peers,
            join,
            rebuild: args.rebuild,
            data_dir,
            raft: RaftSettings {
                cluster_name,
                heartbeat_ms,
                election_min_ms,
                election_max_ms,
                snapshot_every,
                keep_logs,
                tls: security.tls.clone(),
                min_free_disk_bytes: set
                    .limits
                    .min_free_disk_bytes
                    .unwrap_or(defaults::MIN_FREE_DISK_BYTES),
                store_caps: StoreCaps {
                    max_tasks: set.limits.max_tasks.unwrap_or(defaults::MAX_TASKS),
                    max_stored_bytes: set.limits.max_stored_bytes.unwrap_or(defaults::MAX_STORED_BYTES),
                },
                skip_wal_sync: args.unsafe_skip_wal_sync,
            },
            tasks: TaskDefaults {
                max_payload_bytes,
                result_ttl_ms,
                dead_letter_ttl_ms,
                dedup_window_ms,
                delivery_limit,
                lease_ms: task_defaults.lease_ms,
            },
            worker,
            exec,
            security,
        })
    }
}

/// The HTTP API's limits, each within a sane range.
fn http_limits(set: &HttpSection) -> Result<HttpLimits, ConfigError> {
    let max_connections = set.max_connections.unwrap_or(defaults::HTTP_MAX_CONNECTIONS);
    if !(1..=100_000).contains(&max_connections) {
        return Err(invalid(format!(
            "http max connections {max_connections} is out of range 1..=100000"
        )));
    }
    let timeout = |what: &str, value: Option<Millis>, default: u64| {
        let ms = value.map_or(default, |Millis(ms)| ms);
        if !(1_000..=600_000).contains(&ms) {
            return Err(invalid(format!(
                "http {what} of {ms} ms is out of range 1s..=10m"
            )));
        }
        Ok(std::time::Duration::from_millis(ms))
    };
    Ok(HttpLimits {
        max_connections,
        header_timeout: timeout(
            "header_timeout",
            set.header_timeout,
            defaults::HTTP_HEADER_TIMEOUT_MS,
        )?,
        body_timeout: timeout("body_timeout", set.body_timeout, defaults::HTTP_BODY_TIMEOUT_MS)?,
    })
}

fn read_file(path: &Path) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Parses `ID@HOST:PORT` items into a map, refusing duplicates.
pub fn parse_peers<'a>(items: impl Iterator<Item = &'a str>) -> Result<BTreeMap<u64, String>, ConfigError> {
    let mut peers = BTreeMap::new();
    for item in items {
        let (id, addr) = item.split_once('@').ok_or_else(|| {
            invalid(format!(
                "peer {item:?} is not ID@HOST:PORT, e.g. 1@127.0.0.1:7071"
            ))
        })?;
        let id: u64 = id
            .parse()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| invalid(format!("peer {item:?}: {id:?} is not a positive integer id")))?;
        must_be_host_port(&format!("peer {item:?}"), addr)?;
        if peers.insert(id, addr.to_string()).is_some() {
            return Err(invalid(format!("peer id {id} appears twice in --peers")));
        }
    }
    let mut seen = BTreeMap::new();
    for (id, addr) in &peers {
        if let Some(other) = seen.insert(addr.clone(), *id) {
            return Err(invalid(format!(
                "peers {other} and {id} have the same address {addr}"
            )));
        }
    }
    Ok(peers)
}

/// The program exists and is executable: found by path, or on `PATH` for a bare name.
fn must_be_runnable(program: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        return if executable(Path::new(program)) {
            Ok(())
        } else {
            Err(format!("{program} does not exist or is not executable"))
        };
    }
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| executable(&dir.join(program))));
    if found {
        Ok(())
    } else {
        Err(format!("{program} is not on PATH"))
    }
}

/// Whether `addr` looks like HOST:PORT with a non-zero port: what peers and clients can dial.
pub fn is_host_port(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}

fn must_be_host_port(what: &str, addr: &str) -> Result<(), ConfigError> {
    if is_host_port(addr) {
        Ok(())
    } else {
        Err(invalid(format!("{what}: {addr:?} is not HOST:PORT")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `qraft node` with these flags, parsed as the binary parses them.
    fn flags(flags: &[&str]) -> NodeArgs {
        try_flags(flags).unwrap_or_else(|e| panic!("{flags:?}: {e}"))
    }

    fn try_flags(flags: &[&str]) -> Result<NodeArgs, clap::Error> {
        #[derive(clap::Parser)]
        struct Node {
            #[command(flatten)]
            args: NodeArgs,
        }
        use clap::Parser;
        Node::try_parse_from(std::iter::once("node").chain(flags.iter().copied())).map(|node| node.args)
    }

    fn args(peers: &str, id: u64) -> NodeArgs {
        flags(&["--id", &id.to_string(), "--peers", peers])
    }

    fn with(extra: &[&str]) -> NodeArgs {
        let mut all = vec!["--id", "1", "--peers", PEERS];
        all.extend_from_slice(extra);
        flags(&all)
    }

    const PEERS: &str = "1@127.0.0.1:7071,2@127.0.0.1:7072,3@127.0.0.1:7073";

    fn error_of(args: &NodeArgs) -> String {
        match NodeConfig::load(args) {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_come_from_the_peer_list() {
        let config = NodeConfig::load(&args(PEERS, 2)).expect("valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:7072");
        assert_eq!(config.advertise, "127.0.0.1:7072");
        assert_eq!(config.peers.len(), 3);
        assert_eq!(config.data_dir, PathBuf::from("data/n2"));
        assert_eq!(config.raft.heartbeat_ms, defaults::HEARTBEAT_MS);
    }

    #[test]
    fn bad_input_says_what_to_fix() {
        assert!(error_of(&args(PEERS, 4)).contains("node id 4 is not in --peers"));
        assert!(error_of(&args("1@127.0.0.1:7071,1@127.0.0.1:7072", 1)).contains("appears twice"));
        assert!(error_of(&args("1-127.0.0.1:7071", 1)).contains("not ID@HOST:PORT"));
        assert!(error_of(&args("x@127.0.0.1:7071", 1)).contains("not a positive integer"));
        assert!(error_of(&args("1@127.0.0.1", 1)).contains("not HOST:PORT"));
        assert!(error_of(&NodeArgs::default()).contains("no node id"));
        assert!(error_of(&with(&["--listen", "localhost"])).contains("--listen"));
        assert!(error_of(&with(&["--autoscale", "5,2"])).contains("MIN <= MAX"));
        let refused = try_flags(&["--autoscale", "many"]).expect_err("not a range");
        assert!(refused.to_string().contains("not MIN,MAX"), "{refused}");
        let refused = try_flags(&["--result-ttl", "soon"]).expect_err("not a duration");
        assert!(
            refused.to_string().contains("not a duration like 30s"),
            "{refused}"
        );
        let pool = NodeConfig::load(&with(&["--autoscale", "2,16"]))
            .expect("valid")
            .worker
            .expect("a pool");
        assert_eq!((pool.autoscale, pool.concurrency), (Some((2, 16)), 16));
        let bad_election = with(&["--heartbeat-ms", "100", "--election-timeout-ms", "150,800"]);
        assert!(error_of(&bad_election).contains("twice the heartbeat"));
    }

    #[test]
    fn file_is_overridden_by_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "id = 1\npeers = [\"1@127.0.0.1:7071\", \"2@127.0.0.1:7072\", \"3@127.0.0.1:7073\"]\n[raft]\nheartbeat_ms = 50\nelection_timeout_ms = \"300,600\"\n[worker]\nqueues = [\"a\", \"b\"]\ngrace = \"2s\"\n",
        )
        .expect("write");
        let path_flag = path.to_str().expect("utf-8 path");
        // Beyond a TOML integer (i64), as a flag: layered whole all the same.
        let huge = flags(&[
            "--config",
            path_flag,
            "--min-free-disk-bytes",
            "18000000000000000000",
        ]);
        let config = NodeConfig::load(&huge).expect("valid");
        assert_eq!(config.raft.min_free_disk_bytes, 18_000_000_000_000_000_000);
        let args = flags(&["--config", path_flag]);
        let config = NodeConfig::load(&args).expect("valid");
        assert_eq!((config.id, config.raft.heartbeat_ms), (1, 50));
        let pool = config.worker.expect("a pool");
        assert_eq!(pool.queues, ["a", "b"]);
        assert_eq!(pool.grace, std::time::Duration::from_secs(2));
        // A flag replaces its key and leaves the rest of its section as the file has it.
        let args = flags(&["--config", path_flag, "--id", "3", "--worker-queues", "c"]);
        let config = NodeConfig::load(&args).expect("valid");
        assert_eq!((config.id, config.raft.heartbeat_ms), (3, 50));
        let pool = config.worker.expect("a pool");
        assert_eq!(pool.queues, ["c"]);
        assert_eq!(pool.grace, std::time::Duration::from_secs(2));
        let args = flags(&["--config", path_flag, "--no-worker"]);
        assert!(NodeConfig::load(&args).expect("valid").worker.is_none());

        std::fs::write(&path, "id = 1\nbogus = true\n").expect("write");
        assert!(error_of(&args).contains("unknown field"));
        std::fs::write(&path, "id = \n").expect("write");
        assert!(error_of(&args).contains("config file"));
    }

    #[test]
    fn tokens_without_tls_are_refused_unless_insecure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            format!(
                "[[tokens]]\nname = \"web\"\nrole = \"producer\"\nsha256 = \"{}\"\n",
                "ab".repeat(32)
            ),
        )
        .expect("write");
        let path = path.to_str().expect("utf-8 path");
        let args = flags(&["--config", path, "--id", "1", "--peers", "1@127.0.0.1:7071"]);
        let refused = error_of(&args);
        assert!(
            refused.contains("leave Raft open") && refused.contains("--insecure"),
            "{refused}"
        );
        let args = flags(&[
            "--config",
            path,
            "--id",
            "1",
            "--peers",
            "1@127.0.0.1:7071",
            "--insecure",
        ]);
        let config = NodeConfig::load(&args).expect("accepted with --insecure");
        assert!(config.security.insecure_exposed, "and warned about at start-up");
    }

    #[test]
    fn the_http_and_metrics_ports_fall_under_the_same_rule_as_grpc() {
        let on_with = |http: &str, metrics: Option<&str>, extra: &[&str]| {
            let mut all = vec!["--id", "1", "--peers", "1@127.0.0.1:7071", "--http-listen", http];
            if let Some(metrics) = metrics {
                all.extend(["--metrics-listen", metrics]);
            }
            all.extend_from_slice(extra);
            flags(&all)
        };
        let on = |http: &str, metrics: Option<&str>| on_with(http, metrics, &[]);
        let config = NodeConfig::load(&on("127.0.0.1:8071", None)).expect("loopback is fine");
        assert_eq!(config.http_listen, Some("127.0.0.1:8071".parse().expect("addr")));
        let refused = error_of(&on("0.0.0.0:8071", None));
        assert!(
            refused.contains("HTTP API on 0.0.0.0:8071 without TLS and tokens"),
            "{refused}"
        );
        let refused = error_of(&on("127.0.0.1:8071", Some("0.0.0.0:9071")));
        assert!(refused.contains("scrape /metrics on --http-listen"), "{refused}");
        let refused = error_of(&on("127.0.0.1:7071", None));
        assert!(refused.contains("--http-listen must differ"), "{refused}");
        let insecure = on_with("0.0.0.0:8071", Some("0.0.0.0:9071"), &["--insecure"]);
        let config = NodeConfig::load(&insecure).expect("accepted with --insecure");
        assert!(config.security.insecure_exposed, "and warned about at start-up");
    }

    #[test]
    fn exec_handlers_must_name_a_runnable_program() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.toml");
        let path_flag = path.to_str().expect("utf-8 path");
        let args = flags(&["--config", path_flag, "--id", "1", "--peers", "1@127.0.0.1:7071"]);
        std::fs::write(&path, "[tasks.\"resize\"]\nexec = [\"sh\", \"-c\", \"cat\"]\n").expect("write");
        assert_eq!(NodeConfig::load(&args).expect("valid").exec["resize"][0], "sh");
        std::fs::write(&path, "[tasks.\"resize\"]\nexec = [\"no-such-program-qraft\"]\n").expect("write");
        assert!(error_of(&args).contains("not on PATH"));
        std::fs::write(&path, "[tasks.\"resize\"]\nexec = [\"/nonexistent/bin/x\"]\n").expect("write");
        assert!(error_of(&args).contains("does not exist"));
        std::fs::write(&path, "[tasks.\"resize\"]\nexec = []\n").expect("write");
        assert!(error_of(&args).contains("at least a program"));
        std::fs::write(&path, "[tasks.\"builtin.echo\"]\nexec = [\"cat\"]\n").expect("write");
        assert!(error_of(&args).contains("reserved"));
    }

    #[test]
    fn shipped_example_config_is_valid() {
        let args = NodeArgs {
            // Tests run in the package's directory; a path compiled in would be wrong for a
            // test binary built in another clone sharing the target dir.
            config: Some(PathBuf::from("qraft.example.toml")),
            ..NodeArgs::default()
        };
        let config = NodeConfig::load(&args).expect("example config loads");
        assert_eq!(config.id, 1);
        assert_eq!(config.peers.len(), 3);
        assert_eq!(config.raft.election_max_ms, defaults::ELECTION_MAX_MS);
    }

    /// The example file shows each default it sets as the value `load` falls back to.
    #[test]
    fn the_example_file_shows_the_defaults() {
        let text = std::fs::read_to_string("qraft.example.toml").expect("example file");
        let file: Settings = toml::from_str(&text).expect("example parses");
        let tasks = TaskDefaults::default();
        let ms = |value: Option<Millis>| value.map(|Millis(ms)| ms);
        assert_eq!(file.raft.heartbeat_ms, Some(defaults::HEARTBEAT_MS));
        assert_eq!(
            file.raft.election_timeout_ms,
            Some(MinMax(defaults::ELECTION_MIN_MS, defaults::ELECTION_MAX_MS))
        );
        assert_eq!(file.raft.snapshot_every, Some(defaults::SNAPSHOT_EVERY));
        assert_eq!(file.raft.keep_logs, Some(defaults::KEEP_LOGS));
        assert_eq!(file.limits.max_payload_bytes, Some(DEFAULT_MAX_PAYLOAD));
        assert_eq!(
            file.limits.min_free_disk_bytes,
            Some(defaults::MIN_FREE_DISK_BYTES)
        );
        assert_eq!(ms(file.defaults.result_ttl), Some(tasks.result_ttl_ms));
        assert_eq!(ms(file.defaults.dedup_window), Some(tasks.dedup_window_ms));
        assert_eq!(file.defaults.delivery_limit, Some(tasks.delivery_limit));
        assert_eq!(ms(file.defaults.dead_letter_ttl), Some(tasks.dead_letter_ttl_ms));
        assert_eq!(file.limits.max_tasks, Some(defaults::MAX_TASKS));
        assert_eq!(file.limits.max_stored_bytes, Some(defaults::MAX_STORED_BYTES));
        assert_eq!(file.limits.max_requests, Some(defaults::MAX_REQUESTS));
        assert_eq!(
            file.worker.queues,
            Some(List(vec![validate::DEFAULT_QUEUE.to_owned()]))
        );
        assert_eq!(file.worker.concurrency, Some(defaults::CONCURRENCY));
        assert_eq!(ms(file.worker.grace), Some(defaults::WORKER_GRACE_MS));
        assert_eq!(file.http.max_connections, Some(defaults::HTTP_MAX_CONNECTIONS));
        assert_eq!(
            ms(file.http.header_timeout),
            Some(defaults::HTTP_HEADER_TIMEOUT_MS)
        );
        assert_eq!(ms(file.http.body_timeout), Some(defaults::HTTP_BODY_TIMEOUT_MS));
        assert!(
            text.contains(&format!("# cluster_name = {:?}", defaults::CLUSTER_NAME)),
            "the example shows the default cluster name"
        );
    }

    /// `qraft node --help` shows each default once, taken from `defaults`, and no flag's own
    /// help writes a default of its own beside it.
    #[test]
    fn the_help_shows_each_default_from_its_one_definition() {
        use clap::Args;
        let plain = NodeArgs::augment_args(clap::Command::new("node"));
        let shown = defaults::with_defaults_in_help(plain.clone());
        for (id, default) in defaults::shown() {
            let help = |command: &clap::Command| {
                command
                    .get_arguments()
                    .find(|arg| arg.get_id() == id)
                    .and_then(|arg| arg.get_help().map(ToString::to_string))
                    .unwrap_or_else(|| panic!("no flag {id}"))
            };
            assert!(!help(&plain).contains("[default:"), "{id} writes its own default");
            assert!(
                help(&shown).ends_with(&format!("[default: {default}]")),
                "{id}: {}",
                help(&shown)
            );
        }
    }

    mod fuzz {
        //! Whatever a config file holds, loading it gives a config or an error that says what is
        //! wrong, never a panic. Files are built from the real keys with values of every kind, so
        //! the checks behind the parser are reached too. Longer runs: `PROPTEST_CASES=100000
        //! cargo test -p qraft-node --lib fuzz_`.

        use proptest::prelude::*;

        use super::super::*;

        const KEYS: &[&str] = &[
            "id",
            "listen",
            "advertise",
            "metrics_listen",
            "http_listen",
            "peers",
            "join",
            "data",
            "cluster_name",
            "insecure",
        ];
        const SECTIONS: &[(&str, &[&str])] = &[
            (
                "raft",
                &[
                    "heartbeat_ms",
                    "election_timeout_ms",
                    "snapshot_every",
                    "keep_logs",
                ],
            ),
            (
                "limits",
                &[
                    "max_payload_bytes",
                    "min_free_disk_bytes",
                    "max_tasks",
                    "max_stored_bytes",
                    "max_requests",
                ],
            ),
            (
                "defaults",
                &["result_ttl", "dedup_window", "delivery_limit", "dead_letter_ttl"],
            ),
            (
                "worker",
                &["enabled", "autoscale", "queues", "concurrency", "grace"],
            ),
            ("http", &["max_connections", "header_timeout", "body_timeout"]),
            ("tls", &["ca", "cert", "key"]),
            ("tasks.\"x\"", &["exec"]),
        ];

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                (0u64..100_000).prop_map(|n| n.to_string()),
                any::<i64>().prop_map(|n| n.to_string()),
                Just("true".to_owned()),
                Just("\"127.0.0.1:7071\"".to_owned()),
                Just("\"0.0.0.0:0\"".to_owned()),
                Just("[\"1@127.0.0.1:7071\", \"1@127.0.0.1:7072\"]".to_owned()),
                Just("[\"sh\", \"-c\"]".to_owned()),
                Just("\"2,1\"".to_owned()),
                Just("\"300,600\"".to_owned()),
                Just("\"30s\"".to_owned()),
                "\"[ -~]{0,20}\"",
                "[ -~]{0,12}",
            ]
        }

        fn file() -> impl Strategy<Value = String> {
            let top = proptest::collection::vec((prop::sample::select(KEYS), value()), 0..6);
            let sections = proptest::collection::vec(
                (
                    prop::sample::select(SECTIONS),
                    any::<prop::sample::Index>(),
                    value(),
                ),
                0..6,
            );
            (top, sections).prop_map(|(top, sections)| {
                let mut text: String = top.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
                for ((section, keys), key, value) in sections {
                    text.push_str(&format!("[{section}]\n{} = {value}\n", key.get(keys)));
                }
                text
            })
        }

        proptest! {
            #[test]
            fn fuzz_any_config_file_loads_or_says_why(text in file(), id in proptest::option::of(0u64..4)) {
                let dir = tempfile::tempdir().expect("tempdir");
                let path = dir.path().join("node.toml");
                std::fs::write(&path, &text).expect("write");
                let args = NodeArgs {
                    config: Some(path),
                    settings: Settings { id, ..Settings::default() },
                    ..NodeArgs::default()
                };
                if let Err(error) = NodeConfig::load(&args) {
                    prop_assert!(!error.to_string().is_empty());
                }
            }
        }
    }
}
