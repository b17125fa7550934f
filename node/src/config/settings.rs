//! Every layered setting of a node, defined once: a field below is at the same time its flag,
//! its `QRAFT_*` variable and its key in the config file (the file's `[sections]` are the
//! flattened groups). [`Settings::under`] layers them: what a flag or variable sets wins over
//! the file, key by key; a key set nowhere falls back to `defaults`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::values::{List, Millis, MinMax};
use crate::auth::TokenEntry;

/// `qraft node`'s settings, from the config file or from flags and variables.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
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
    pub peers: Option<List>,
    /// Join a running cluster through any of its nodes instead of forming one with --peers: the
    /// node asks to be added (a learner that catches up, then a voter). Its --id must be new.
    #[arg(long, env = "QRAFT_JOIN", value_name = "HOST:PORT")]
    pub join: Option<String>,
    /// Directory for this node's database and snapshots [default: ./data/n<ID>].
    #[arg(long, env = "QRAFT_DATA", value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Cluster name; nodes refuse Raft traffic from another cluster.
    #[arg(long, env = "QRAFT_CLUSTER_NAME")]
    pub cluster_name: Option<String>,
    #[command(flatten)]
    #[serde(default)]
    pub raft: RaftSection,
    #[command(flatten)]
    #[serde(default)]
    pub limits: LimitsSection,
    #[command(flatten)]
    #[serde(default)]
    pub defaults: DefaultsSection,
    #[command(flatten)]
    #[serde(default)]
    pub worker: WorkerSection,
    #[command(flatten)]
    #[serde(default)]
    pub http: HttpSection,
    #[command(flatten)]
    #[serde(default)]
    pub tls: TlsSection,
    /// Listen on a non-loopback address without TLS and tokens all the same. Anyone who can
    /// reach the port can then submit work, purge queues and speak Raft to the node.
    #[arg(
        long,
        env = "QRAFT_INSECURE",
        num_args = 0,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub insecure: Option<bool>,
    /// `[tasks."name"]`: task names this node runs with a program (file only).
    #[arg(skip)]
    #[serde(default, skip_serializing)]
    pub tasks: BTreeMap<String, ExecTask>,
    /// `[[tokens]]`: the tokens this node accepts (file only).
    #[arg(skip)]
    #[serde(default, skip_serializing)]
    pub tokens: Vec<TokenEntry>,
}

/// `[raft]`.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct RaftSection {
    /// Leader heartbeat interval in milliseconds.
    #[arg(long, env = "QRAFT_HEARTBEAT_MS")]
    pub heartbeat_ms: Option<u64>,
    /// Election timeout range in milliseconds, `MIN,MAX`.
    #[arg(long, env = "QRAFT_ELECTION_TIMEOUT_MS", value_name = "MIN,MAX")]
    pub election_timeout_ms: Option<MinMax>,
    /// Build a snapshot (and purge the log behind it) every this many log entries, or once per
    /// 4 tasks held if that is more.
    #[arg(long, env = "QRAFT_SNAPSHOT_EVERY")]
    pub snapshot_every: Option<u64>,
    /// Log entries kept behind a snapshot for lagging followers.
    #[arg(long, env = "QRAFT_KEEP_LOGS")]
    pub keep_logs: Option<u64>,
}

/// `[limits]`.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Largest task payload (args) accepted, and largest result stored, in bytes (at most
    /// 16777216).
    #[arg(long, env = "QRAFT_MAX_PAYLOAD_BYTES")]
    pub max_payload_bytes: Option<usize>,
    /// Below this much free space (bytes) on the data disk, new tasks, flows and schedules are
    /// refused (RESOURCE_EXHAUSTED) while answers still drain the queues; 0 turns it off.
    #[arg(long, env = "QRAFT_MIN_FREE_DISK_BYTES")]
    pub min_free_disk_bytes: Option<u64>,
    /// Tasks the cluster holds at most, finished ones (kept for their result TTL) and dead
    /// letters included; submits past it are refused (RESOURCE_EXHAUSTED). Every node holds
    /// every task: size it to the smallest node's memory.
    #[arg(long, env = "QRAFT_MAX_TASKS")]
    pub max_tasks: Option<u64>,
    /// Bytes of args, headers, results and errors the cluster holds at most; submits past it
    /// are refused (RESOURCE_EXHAUSTED).
    #[arg(long, env = "QRAFT_MAX_STORED_BYTES")]
    pub max_stored_bytes: Option<u64>,
    /// Client requests (gRPC and HTTP together) this node handles at once; one more is refused
    /// at once as overloaded, unapplied, for the client to resend (peers' Raft calls are never
    /// refused). A waiting long poll counts.
    #[arg(long, env = "QRAFT_MAX_REQUESTS")]
    pub max_requests: Option<usize>,
}

/// `[defaults]`: settings of tasks whose submit leaves them out.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSection {
    /// How long finished tasks and their results are kept, e.g. 24h, 30m.
    #[arg(long, env = "QRAFT_RESULT_TTL", value_name = "DURATION")]
    pub result_ttl: Option<Millis>,
    /// How long an idempotency key keeps returning its first task.
    #[arg(long, env = "QRAFT_DEDUP_WINDOW", value_name = "DURATION")]
    pub dedup_window: Option<Millis>,
    /// Deliveries after which a task whose lease keeps expiring is dead-lettered.
    #[arg(long, env = "QRAFT_DELIVERY_LIMIT")]
    pub delivery_limit: Option<u32>,
    /// How long a dead letter (a task that failed for good) is kept for `qraft dead` to retry,
    /// e.g. 7d.
    #[arg(long, env = "QRAFT_DEAD_LETTER_TTL", value_name = "DURATION")]
    pub dead_letter_ttl: Option<Millis>,
}

/// `[worker]`: this node's worker pool.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    /// `enabled = false` in the file; `--no-worker` is the flag.
    #[arg(skip)]
    pub enabled: Option<bool>,
    /// Queues this node's worker pool takes tasks from, comma-separated.
    #[arg(long = "worker-queues", env = "QRAFT_WORKER_QUEUES", value_name = "QUEUE,...")]
    pub queues: Option<List>,
    /// Tasks this node's worker pool runs at once.
    #[arg(long, env = "QRAFT_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// Let the pool size itself between MIN and MAX slots by backlog (overrides --concurrency).
    #[arg(long, env = "QRAFT_AUTOSCALE", value_name = "MIN,MAX")]
    pub autoscale: Option<MinMax>,
    /// On shutdown, how long running tasks may finish before they are handed back.
    #[arg(long = "worker-grace", env = "QRAFT_WORKER_GRACE", value_name = "DURATION")]
    pub grace: Option<Millis>,
}

/// `[http]`: what the HTTP/JSON API grants one client.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// HTTP/JSON API: connections served at once; more wait in the kernel's backlog.
    #[arg(long = "http-max-connections", env = "QRAFT_HTTP_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// HTTP/JSON API: how long a client may take to send a request's headers, or stay idle
    /// between requests, before it is disconnected.
    #[arg(
        long = "http-header-timeout",
        env = "QRAFT_HTTP_HEADER_TIMEOUT",
        value_name = "DURATION"
    )]
    pub header_timeout: Option<Millis>,
    /// HTTP/JSON API: how long a client may take to send a whole body (408 after).
    #[arg(
        long = "http-body-timeout",
        env = "QRAFT_HTTP_BODY_TIMEOUT",
        value_name = "DURATION"
    )]
    pub body_timeout: Option<Millis>,
}

/// `[tls]`.
#[derive(clap::Args, Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// CA certificate (PEM) that signed the cluster's certificates. With --tls-cert and
    /// --tls-key the node serves TLS only and speaks mutual TLS to its peers.
    #[arg(long = "tls-ca", env = "QRAFT_TLS_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// This node's certificate (PEM), signed by the CA; `qraft certs init` makes one.
    #[arg(long = "tls-cert", env = "QRAFT_TLS_CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// This node's private key (PEM).
    #[arg(long = "tls-key", env = "QRAFT_TLS_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// `[tasks."name"]`: a task name this node runs with a program.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ExecTask {
    pub exec: Vec<String>,
}

impl Settings {
    /// These settings (the file's) with every key that `over` (flags and variables) sets
    /// replaced by its value there.
    pub fn under(self, over: &Settings) -> Result<Settings, String> {
        let mut merged = keys(&self)?;
        overlay(&mut merged, keys(over)?);
        let mut settings: Settings =
            serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| e.to_string())?;
        settings.tasks = self.tasks;
        settings.tokens = self.tokens;
        Ok(settings)
    }
}

type Keys = serde_json::Map<String, serde_json::Value>;

/// The keys of `settings` by section, as the file would hold them; unset keys are null. (JSON,
/// not TOML, values: a TOML integer stops at i64, and a u64 setting may not.)
fn keys(settings: &Settings) -> Result<Keys, String> {
    match serde_json::to_value(settings).map_err(|e| e.to_string())? {
        serde_json::Value::Object(keys) => Ok(keys),
        other => Err(format!("settings are not a table: {other}")),
    }
}

/// `under` with each key that `over` sets (is not null) taken from `over`.
fn overlay(under: &mut Keys, over: Keys) {
    for (key, value) in over {
        match (under.get_mut(&key), value) {
            (_, serde_json::Value::Null) => {}
            (Some(serde_json::Value::Object(under)), serde_json::Value::Object(over)) => overlay(under, over),
            (_, value) => {
                under.insert(key, value);
            }
        }
    }
}
