//! Node settings, layered: built-in defaults, then a TOML file (`--config`), then `QRAFT_*`
//! environment variables, then flags. Validated once, at start-up, into a [`NodeConfig`] with
//! messages that say what to change.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod defaults;
mod security;

use self::security::FileTls;
pub use self::security::{Listens, Security, SecurityArgs};
use crate::auth::TokenEntry;
use crate::ops::TaskDefaults;
use crate::queue::validate::{self, DEFAULT_MAX_PAYLOAD, MAX_DURATION_MS, MAX_PAYLOAD_LIMIT};

use crate::raft::RaftSettings;
use crate::worker::PoolSettings;

/// Flags of `qraft node`; each also reads a `QRAFT_*` variable and overrides the config file.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct NodeArgs {
    /// TOML file with node settings (see node/qraft.example.toml); flags and env override it.
    #[arg(long, env = "QRAFT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// This node's id: a positive integer, unique in the cluster, one of the ids in --peers.
    #[arg(long, env = "QRAFT_ID")]
    pub id: Option<u64>,
    /// Address to serve gRPC on [default: this node's address in --peers].
    #[arg(long, env = "QRAFT_LISTEN", value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Address peers and clients reach this node at [default: this node's address in --peers].
    #[arg(long, env = "QRAFT_ADVERTISE", value_name = "HOST:PORT")]
    pub advertise: Option<String>,
    /// Serve the HTTP/JSON API (and Prometheus metrics at /metrics) at HOST:PORT, under the
    /// same TLS and tokens as gRPC [default: off].
    #[arg(long, env = "QRAFT_HTTP_LISTEN", value_name = "HOST:PORT")]
    pub http_listen: Option<String>,
    /// Serve Prometheus metrics alone at http://HOST:PORT/metrics, in plain text and without
    /// tokens (so loopback only, unless --insecure); /metrics on --http-listen is the secure
    /// way [default: off].
    #[arg(long, env = "QRAFT_METRICS_LISTEN", value_name = "HOST:PORT")]
    pub metrics_listen: Option<String>,
    /// Every voter of the initial cluster, this node included: `ID@HOST:PORT,...`. Start every
    /// node with the same list; the cluster forms once, and restarts just rejoin.
    #[arg(
        long,
        env = "QRAFT_PEERS",
        value_name = "ID@HOST:PORT,...",
        conflicts_with = "join"
    )]
    pub peers: Option<String>,
    /// Join a running cluster through any of its nodes instead of forming one with --peers: the
    /// node asks to be added (a learner that catches up, then a voter). Its --id must be new.
    #[arg(long, env = "QRAFT_JOIN", value_name = "HOST:PORT")]
    pub join: Option<String>,
    /// This node lost its data (a wiped disk, a new machine) but keeps its id: rebuild it from
    /// the cluster. It votes again only once it has caught up. Without this flag such a node
    /// refuses to start; joining under a new id (--join) is the other way back.
    #[arg(long, env = "QRAFT_REBUILD")]
    pub rebuild: bool,
    /// Test-only canary: acknowledge writes without syncing the WAL, so a power loss loses
    /// them. qraft-chaos uses it to show its power-loss scenario catches a missing fsync.
    #[arg(long, hide = true)]
    pub unsafe_skip_wal_sync: bool,
    /// Directory for this node's database and snapshots [default: ./data/n<ID>].
    #[arg(long, env = "QRAFT_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Cluster name; nodes refuse Raft traffic from another cluster.
    #[arg(long, env = "QRAFT_CLUSTER_NAME")]
    pub cluster_name: Option<String>,
    /// Leader heartbeat interval in milliseconds.
    #[arg(long, env = "QRAFT_HEARTBEAT_MS")]
    pub heartbeat_ms: Option<u64>,
    /// Election timeout range in milliseconds, `MIN,MAX`.
    #[arg(long, env = "QRAFT_ELECTION_TIMEOUT_MS", value_name = "MIN,MAX")]
    pub election_timeout_ms: Option<String>,
    /// Build a snapshot (and purge the log behind it) every this many log entries, or once per
    /// 4 tasks held if that is more.
    #[arg(long, env = "QRAFT_SNAPSHOT_EVERY")]
    pub snapshot_every: Option<u64>,
    /// Log entries kept behind a snapshot for lagging followers.
    #[arg(long, env = "QRAFT_KEEP_LOGS")]
    pub keep_logs: Option<u64>,
    /// Largest task payload (args) accepted, and largest result stored, in bytes (at most
    /// 16777216).
    #[arg(long, env = "QRAFT_MAX_PAYLOAD_BYTES")]
    pub max_payload_bytes: Option<usize>,
    /// Below this much free space (bytes) on the data disk, new tasks, flows and schedules are
    /// refused (RESOURCE_EXHAUSTED) while answers still drain the queues; 0 turns it off.
    #[arg(long, env = "QRAFT_MIN_FREE_DISK_BYTES")]
    pub min_free_disk_bytes: Option<u64>,
    /// How long finished tasks and their results are kept, e.g. 24h, 30m.
    #[arg(long, env = "QRAFT_RESULT_TTL", value_parser = parse_duration_ms, value_name = "DURATION")]
    pub result_ttl: Option<u64>,
    /// How long an idempotency key keeps returning its first task.
    #[arg(long, env = "QRAFT_DEDUP_WINDOW", value_parser = parse_duration_ms, value_name = "DURATION")]
    pub dedup_window: Option<u64>,
    /// Deliveries after which a task whose lease keeps expiring is dead-lettered.
    #[arg(long, env = "QRAFT_DELIVERY_LIMIT")]
    pub delivery_limit: Option<u32>,
    /// Queues this node's worker pool takes tasks from, comma-separated.
    #[arg(long, env = "QRAFT_WORKER_QUEUES", value_name = "QUEUE,...")]
    pub worker_queues: Option<String>,
    /// Tasks this node's worker pool runs at once.
    #[arg(long, env = "QRAFT_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// Let the pool size itself between MIN and MAX slots by backlog (overrides --concurrency).
    #[arg(long, env = "QRAFT_AUTOSCALE", value_name = "MIN,MAX")]
    pub autoscale: Option<String>,
    /// On shutdown, how long running tasks may finish before they are handed back.
    #[arg(long, env = "QRAFT_WORKER_GRACE", value_parser = parse_duration_ms, value_name = "DURATION")]
    pub worker_grace: Option<u64>,
    /// HTTP/JSON API: connections served at once; more wait in the kernel's backlog.
    #[arg(long, env = "QRAFT_HTTP_MAX_CONNECTIONS")]
    pub http_max_connections: Option<usize>,
    /// HTTP/JSON API: how long a client may take to send a request's headers, or stay idle
    /// between requests, before it is disconnected.
    #[arg(long, env = "QRAFT_HTTP_HEADER_TIMEOUT", value_parser = parse_duration_ms, value_name = "DURATION")]
    pub http_header_timeout: Option<u64>,
    /// HTTP/JSON API: how long a client may take to send a whole body (408 after).
    #[arg(long, env = "QRAFT_HTTP_BODY_TIMEOUT", value_parser = parse_duration_ms, value_name = "DURATION")]
    pub http_body_timeout: Option<u64>,
    /// Run no worker pool on this node: a pure broker.
    #[arg(long, env = "QRAFT_NO_WORKER")]
    pub no_worker: bool,
    #[command(flatten)]
    pub security: SecurityArgs,
}

/// Parses `30s`, `5m`, `24h`, `1h 30m`, ... into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration like 30s, 5m or 24h: {e}"))?;
    u64::try_from(duration.as_millis()).map_err(|_| format!("{text:?} is too long"))
}

/// The TOML file's shape; every key is optional.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    id: Option<u64>,
    listen: Option<String>,
    advertise: Option<String>,
    http_listen: Option<String>,
    metrics_listen: Option<String>,
    peers: Option<Vec<String>>,
    join: Option<String>,
    data: Option<PathBuf>,
    cluster_name: Option<String>,
    #[serde(default)]
    raft: FileRaft,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    defaults: FileDefaults,
    #[serde(default)]
    tasks: BTreeMap<String, FileTask>,
    #[serde(default)]
    worker: FileWorker,
    #[serde(default)]
    http: FileHttp,
    #[serde(default)]
    tls: FileTls,
    #[serde(default)]
    tokens: Vec<TokenEntry>,
    insecure: Option<bool>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileRaft {
    heartbeat_ms: Option<u64>,
    election_timeout_min_ms: Option<u64>,
    election_timeout_max_ms: Option<u64>,
    snapshot_every: Option<u64>,
    keep_logs: Option<u64>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_payload_bytes: Option<usize>,
    min_free_disk_bytes: Option<u64>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileWorker {
    enabled: Option<bool>,
    autoscale: Option<String>,
    queues: Option<Vec<String>>,
    concurrency: Option<usize>,
    grace: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    max_connections: Option<usize>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileDefaults {
    result_ttl: Option<String>,
    dedup_window: Option<String>,
    delivery_limit: Option<u32>,
}

/// `[tasks."name"]`: a task name this node runs with a program.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct FileTask {
    exec: Vec<String>,
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
    /// Merges the layers and validates the result.
    pub fn load(args: &NodeArgs) -> Result<NodeConfig, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let id = args.id.or(file.id).ok_or_else(|| {
            invalid("no node id: pass --id N (or set QRAFT_ID, or `id = N` in the config file)")
        })?;
        if id == 0 {
            return Err(invalid("--id must be a positive integer; 0 is reserved"));
        }
        let peers = match (&args.peers, &file.peers) {
            (Some(flag), _) => parse_peers(flag.split(',').map(str::trim).filter(|s| !s.is_empty()))?,
            (None, Some(list)) => parse_peers(list.iter().map(|s| s.trim()))?,
            (None, None) => BTreeMap::new(),
        };
        let own_peer_addr = peers.get(&id).cloned();
        if !peers.is_empty() && own_peer_addr.is_none() {
            let ids: Vec<String> = peers.keys().map(u64::to_string).collect();
            return Err(invalid(format!(
                "node id {id} is not in --peers (ids {}); add `{id}@HOST:PORT` to the list or fix --id",
                ids.join(", ")
            )));
        }
        let listen_text = args
            .listen
            .clone()
            .or(file.listen)
            .or_else(|| own_peer_addr.clone())
            .ok_or_else(|| {
                invalid("no listen address: pass --listen HOST:PORT or --peers including this node")
            })?;
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            invalid(format!(
                "--listen {listen_text:?} is not an IP:PORT address, e.g. 127.0.0.1:7071 or 0.0.0.0:7071"
            ))
        })?;
        let advertise = args
            .advertise
            .clone()
            .or(file.advertise)
            .or(own_peer_addr)
            .unwrap_or_else(|| listen.to_string());
        must_be_host_port("--advertise", &advertise)?;
        let metrics_listen = match args.metrics_listen.clone().or(file.metrics_listen) {
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
        let http_listen = match args.http_listen.clone().or(file.http_listen) {
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
        let join = args.join.clone().or(file.join);
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
        let cluster_name = args
            .cluster_name
            .clone()
            .or(file.cluster_name)
            .unwrap_or_else(|| defaults::CLUSTER_NAME.to_owned());
        validate::must_be_name("cluster name", &cluster_name).map_err(invalid)?;

        let heartbeat_ms = args
            .heartbeat_ms
            .or(file.raft.heartbeat_ms)
            .unwrap_or(defaults::HEARTBEAT_MS);
        let (election_min_ms, election_max_ms) = match &args.election_timeout_ms {
            Some(range) => parse_range(range)?,
            None => (
                file.raft
                    .election_timeout_min_ms
                    .unwrap_or(defaults::ELECTION_MIN_MS),
                file.raft
                    .election_timeout_max_ms
                    .unwrap_or(defaults::ELECTION_MAX_MS),
            ),
        };
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
        let snapshot_every = args
            .snapshot_every
            .or(file.raft.snapshot_every)
            .unwrap_or(defaults::SNAPSHOT_EVERY);
        if snapshot_every == 0 {
            return Err(invalid("--snapshot-every must be at least 1"));
        }
        let keep_logs = args
            .keep_logs
            .or(file.raft.keep_logs)
            .unwrap_or(defaults::KEEP_LOGS);
        let max_payload_bytes = args
            .max_payload_bytes
            .or(file.limits.max_payload_bytes)
            .unwrap_or(DEFAULT_MAX_PAYLOAD);
        if !(1..=MAX_PAYLOAD_LIMIT).contains(&max_payload_bytes) {
            return Err(invalid(format!(
                "max payload {max_payload_bytes} bytes is out of range 1..={MAX_PAYLOAD_LIMIT}"
            )));
        }
        let task_defaults = TaskDefaults::default();
        let file_duration = |what: &str, text: &Option<String>| -> Result<Option<u64>, ConfigError> {
            text.as_deref()
                .map(|t| parse_duration_ms(t).map_err(|e| invalid(format!("{what}: {e}"))))
                .transpose()
        };
        let result_ttl_ms = match args.result_ttl {
            Some(ms) => ms,
            None => {
                file_duration("result_ttl", &file.defaults.result_ttl)?.unwrap_or(task_defaults.result_ttl_ms)
            }
        };
        let dedup_window_ms = match args.dedup_window {
            Some(ms) => ms,
            None => file_duration("dedup_window", &file.defaults.dedup_window)?
                .unwrap_or(task_defaults.dedup_window_ms),
        };
        for (what, ms) in [("result TTL", result_ttl_ms), ("dedup window", dedup_window_ms)] {
            validate::must_be_duration(what, ms, MAX_DURATION_MS).map_err(invalid)?;
        }
        let delivery_limit = args
            .delivery_limit
            .or(file.defaults.delivery_limit)
            .unwrap_or(task_defaults.delivery_limit);
        validate::must_be_delivery_limit(delivery_limit).map_err(invalid)?;
        let worker = if args.no_worker || file.worker.enabled == Some(false) {
            None
        } else {
            let queues: Vec<String> = match (&args.worker_queues, file.worker.queues) {
                (Some(flag), _) => flag
                    .split(',')
                    .map(|q| q.trim().to_string())
                    .filter(|q| !q.is_empty())
                    .collect(),
                (None, Some(list)) => list,
                (None, None) => vec![validate::DEFAULT_QUEUE.to_string()],
            };
            if queues.is_empty() {
                return Err(invalid(
                    "the worker has no queues: name at least one, or pass --no-worker",
                ));
            }
            for queue in &queues {
                validate::must_be_name("worker queue", queue).map_err(invalid)?;
            }
            let concurrency = args
                .concurrency
                .or(file.worker.concurrency)
                .unwrap_or(defaults::CONCURRENCY);
            if !(1..=1000).contains(&concurrency) {
                return Err(invalid(format!(
                    "concurrency {concurrency} is out of range 1..=1000"
                )));
            }
            let autoscale = match args.autoscale.as_deref().or(file.worker.autoscale.as_deref()) {
                None => None,
                Some(text) => {
                    let (min, max) = parse_range(text)
                        .map_err(|_| invalid(format!("autoscale {text:?} is not MIN,MAX, e.g. 2,16")))?;
                    let (min, max) = (min as usize, max as usize);
                    if min == 0 || min > max || max > 1000 {
                        return Err(invalid(format!(
                            "autoscale {min},{max} must have 1 <= MIN <= MAX <= 1000"
                        )));
                    }
                    Some((min, max))
                }
            };
            let concurrency = autoscale.map_or(concurrency, |(_, max)| max);
            let grace_ms = match args.worker_grace {
                Some(ms) => ms,
                None => {
                    file_duration("worker grace", &file.worker.grace)?.unwrap_or(defaults::WORKER_GRACE_MS)
                }
            };
            Some(PoolSettings {
                queues,
                concurrency,
                autoscale,
                lease_ms: task_defaults.lease_ms,
                grace: std::time::Duration::from_millis(grace_ms),
                max_result_bytes: max_payload_bytes,
            })
        };
        let http = http_limits(args, &file.http)?;
        let mut exec = BTreeMap::new();
        for (name, task) in file.tasks {
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
        let security = Security::load(&args.security, file.tls, &file.tokens, file.insecure, &listens)?;
        let data_dir = args
            .data
            .clone()
            .or(file.data)
            .unwrap_or_else(|| PathBuf::from(format!("data/n{id}")));
        Ok(NodeConfig {
            id,
            listen,
            advertise,
            http_listen,
            metrics_listen,
            http,
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
                min_free_disk_bytes: args
                    .min_free_disk_bytes
                    .or(file.limits.min_free_disk_bytes)
                    .unwrap_or(defaults::MIN_FREE_DISK_BYTES),
                skip_wal_sync: args.unsafe_skip_wal_sync,
            },
            tasks: TaskDefaults {
                max_payload_bytes,
                result_ttl_ms,
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

/// The HTTP API's limits: flags, then `[http]`, then the defaults; each within a sane range.
fn http_limits(args: &NodeArgs, file: &FileHttp) -> Result<HttpLimits, ConfigError> {
    let max_connections = args
        .http_max_connections
        .or(file.max_connections)
        .unwrap_or(defaults::HTTP_MAX_CONNECTIONS);
    if !(1..=100_000).contains(&max_connections) {
        return Err(invalid(format!(
            "http max connections {max_connections} is out of range 1..=100000"
        )));
    }
    let timeout = |what: &str, flag: Option<u64>, text: &Option<String>, default: u64| {
        let ms = match (flag, text) {
            (Some(ms), _) => ms,
            (None, Some(text)) => {
                parse_duration_ms(text).map_err(|e| invalid(format!("[http] {what}: {e}")))?
            }
            (None, None) => default,
        };
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
            args.http_header_timeout,
            &file.header_timeout,
            defaults::HTTP_HEADER_TIMEOUT_MS,
        )?,
        body_timeout: timeout(
            "body_timeout",
            args.http_body_timeout,
            &file.body_timeout,
            defaults::HTTP_BODY_TIMEOUT_MS,
        )?,
    })
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
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

fn parse_range(text: &str) -> Result<(u64, u64), ConfigError> {
    let parsed = text
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
    parsed.ok_or_else(|| {
        invalid(format!(
            "--election-timeout-ms {text:?} is not MIN,MAX in milliseconds, e.g. 300,600"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(peers: &str, id: u64) -> NodeArgs {
        NodeArgs {
            id: Some(id),
            peers: Some(peers.into()),
            ..NodeArgs::default()
        }
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
        assert_eq!(config.raft.heartbeat_ms, 100);
    }

    #[test]
    fn bad_input_says_what_to_fix() {
        assert!(error_of(&args(PEERS, 4)).contains("node id 4 is not in --peers"));
        assert!(error_of(&args("1@127.0.0.1:7071,1@127.0.0.1:7072", 1)).contains("appears twice"));
        assert!(error_of(&args("1-127.0.0.1:7071", 1)).contains("not ID@HOST:PORT"));
        assert!(error_of(&args("x@127.0.0.1:7071", 1)).contains("not a positive integer"));
        assert!(error_of(&args("1@127.0.0.1", 1)).contains("not HOST:PORT"));
        assert!(error_of(&NodeArgs::default()).contains("no node id"));
        let mut bad_listen = args(PEERS, 1);
        bad_listen.listen = Some("localhost".into());
        assert!(error_of(&bad_listen).contains("--listen"));
        let mut bad_autoscale = args(PEERS, 1);
        bad_autoscale.autoscale = Some("5,2".into());
        assert!(error_of(&bad_autoscale).contains("MIN <= MAX"));
        bad_autoscale.autoscale = Some("many".into());
        assert!(error_of(&bad_autoscale).contains("not MIN,MAX"));
        let mut autoscale = args(PEERS, 1);
        autoscale.autoscale = Some("2,16".into());
        let pool = NodeConfig::load(&autoscale)
            .expect("valid")
            .worker
            .expect("a pool");
        assert_eq!((pool.autoscale, pool.concurrency), (Some((2, 16)), 16));
        let mut bad_election = args(PEERS, 1);
        bad_election.election_timeout_ms = Some("100,800".into());
        assert!(error_of(&bad_election).contains("twice the heartbeat"));
    }

    #[test]
    fn file_is_overridden_by_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "id = 1\npeers = [\"1@127.0.0.1:7071\", \"2@127.0.0.1:7072\", \"3@127.0.0.1:7073\"]\n[raft]\nheartbeat_ms = 50\nelection_timeout_min_ms = 300\nelection_timeout_max_ms = 600\n",
        )
        .expect("write");
        let mut args = NodeArgs {
            config: Some(path.clone()),
            ..NodeArgs::default()
        };
        let config = NodeConfig::load(&args).expect("valid");
        assert_eq!((config.id, config.raft.heartbeat_ms), (1, 50));
        args.id = Some(3);
        assert_eq!(NodeConfig::load(&args).expect("valid").id, 3);

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
        let mut args = NodeArgs {
            config: Some(path),
            ..args("1@127.0.0.1:7071", 1)
        };
        let refused = error_of(&args);
        assert!(
            refused.contains("leave Raft open") && refused.contains("--insecure"),
            "{refused}"
        );
        args.security.insecure = true;
        let config = NodeConfig::load(&args).expect("accepted with --insecure");
        assert!(config.security.insecure_exposed, "and warned about at start-up");
    }

    #[test]
    fn the_http_and_metrics_ports_fall_under_the_same_rule_as_grpc() {
        let on = |http: &str, metrics: Option<&str>| NodeArgs {
            http_listen: Some(http.to_owned()),
            metrics_listen: metrics.map(str::to_owned),
            ..args("1@127.0.0.1:7071", 1)
        };
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
        let mut insecure = on("0.0.0.0:8071", Some("0.0.0.0:9071"));
        insecure.security.insecure = true;
        let config = NodeConfig::load(&insecure).expect("accepted with --insecure");
        assert!(config.security.insecure_exposed, "and warned about at start-up");
    }

    #[test]
    fn exec_handlers_must_name_a_runnable_program() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("node.toml");
        let args = NodeArgs {
            config: Some(path.clone()),
            id: Some(1),
            peers: Some("1@127.0.0.1:7071".into()),
            ..NodeArgs::default()
        };
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
        let file: FileConfig = toml::from_str(&text).expect("example parses");
        let tasks = TaskDefaults::default();
        let ms = |text: &Option<String>| text.as_deref().map(|t| parse_duration_ms(t).expect("duration"));
        assert_eq!(file.raft.heartbeat_ms, Some(defaults::HEARTBEAT_MS));
        assert_eq!(file.raft.election_timeout_min_ms, Some(defaults::ELECTION_MIN_MS));
        assert_eq!(file.raft.election_timeout_max_ms, Some(defaults::ELECTION_MAX_MS));
        assert_eq!(file.raft.snapshot_every, Some(defaults::SNAPSHOT_EVERY));
        assert_eq!(file.raft.keep_logs, Some(defaults::KEEP_LOGS));
        assert_eq!(file.limits.max_payload_bytes, Some(DEFAULT_MAX_PAYLOAD));
        assert_eq!(
            file.limits.min_free_disk_bytes,
            Some(defaults::MIN_FREE_DISK_BYTES)
        );
        assert_eq!(ms(&file.defaults.result_ttl), Some(tasks.result_ttl_ms));
        assert_eq!(ms(&file.defaults.dedup_window), Some(tasks.dedup_window_ms));
        assert_eq!(file.defaults.delivery_limit, Some(tasks.delivery_limit));
        assert_eq!(file.worker.queues, Some(vec![validate::DEFAULT_QUEUE.to_owned()]));
        assert_eq!(file.worker.concurrency, Some(defaults::CONCURRENCY));
        assert_eq!(ms(&file.worker.grace), Some(defaults::WORKER_GRACE_MS));
        assert_eq!(file.http.max_connections, Some(defaults::HTTP_MAX_CONNECTIONS));
        assert_eq!(
            ms(&file.http.header_timeout),
            Some(defaults::HTTP_HEADER_TIMEOUT_MS)
        );
        assert_eq!(ms(&file.http.body_timeout), Some(defaults::HTTP_BODY_TIMEOUT_MS));
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
                    "election_timeout_min_ms",
                    "election_timeout_max_ms",
                    "snapshot_every",
                    "keep_logs",
                ],
            ),
            ("limits", &["max_payload_bytes", "min_free_disk_bytes"]),
            ("defaults", &["result_ttl", "dedup_window", "delivery_limit"]),
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
                    id,
                    ..NodeArgs::default()
                };
                if let Err(error) = NodeConfig::load(&args) {
                    prop_assert!(!error.to_string().is_empty());
                }
            }
        }
    }
}
