//! Every node setting's default, defined once: `NodeConfig::load` falls back to these,
//! `qraft node --help` shows them ([`with_defaults_in_help`]), and a test holds the example
//! file (`node/qraft.example.toml`) to them.

use super::Millis;
use crate::ops::TaskDefaults;
use crate::queue::validate::{DEFAULT_MAX_PAYLOAD, DEFAULT_QUEUE};

pub const CLUSTER_NAME: &str = "qraft";
/// Tuned for peers on one network (round trips of a millisecond or less): a follower that
/// hears nothing for 300–400 ms campaigns (see `RaftSettings::silence_before_election`), so a
/// dead leader is replaced in about 0.4 s. Peers further apart need the timeouts raised to
/// many round trips.
pub const HEARTBEAT_MS: u64 = 50;
pub const ELECTION_MIN_MS: u64 = 100;
pub const ELECTION_MAX_MS: u64 = 200;
pub const SNAPSHOT_EVERY: u64 = 5_000;
pub const KEEP_LOGS: u64 = 1_000;
/// Free space on the data disk below which growing writes are refused.
pub const MIN_FREE_DISK_BYTES: u64 = 128 * 1024 * 1024;
/// Cluster-wide caps on what the state holds. Every node keeps a small entry per task in memory
/// (10 M queued tasks held about 1.2 GiB per node, measured) and every task's bytes on disk.
pub const MAX_TASKS: u64 = 10_000_000;
pub const MAX_STORED_BYTES: u64 = 10 * 1024 * 1024 * 1024;
/// Client requests a node handles at once before it sheds load.
pub const MAX_REQUESTS: usize = 4_096;
pub const CONCURRENCY: usize = 8;
/// How long running tasks may finish on shutdown before they are handed back.
pub const WORKER_GRACE_MS: u64 = 10_000;

/// HTTP/JSON API: connections served at once, and how long a client may take to send a
/// request's headers (or stay idle between requests) and its body.
pub const HTTP_MAX_CONNECTIONS: usize = 1_024;
pub const HTTP_HEADER_TIMEOUT_MS: u64 = 10_000;
pub const HTTP_BODY_TIMEOUT_MS: u64 = 30_000;

/// Each `qraft node` setting with a default (by its field name in `Settings`), and that
/// default as `--help` shows it.
pub fn shown() -> Vec<(&'static str, String)> {
    let tasks = TaskDefaults::default();
    vec![
        ("cluster_name", CLUSTER_NAME.to_owned()),
        ("heartbeat_ms", HEARTBEAT_MS.to_string()),
        (
            "election_timeout_ms",
            format!("{ELECTION_MIN_MS},{ELECTION_MAX_MS}"),
        ),
        ("snapshot_every", SNAPSHOT_EVERY.to_string()),
        ("keep_logs", KEEP_LOGS.to_string()),
        ("max_payload_bytes", DEFAULT_MAX_PAYLOAD.to_string()),
        ("min_free_disk_bytes", MIN_FREE_DISK_BYTES.to_string()),
        ("max_tasks", MAX_TASKS.to_string()),
        ("max_stored_bytes", MAX_STORED_BYTES.to_string()),
        ("max_requests", MAX_REQUESTS.to_string()),
        ("result_ttl", duration(tasks.result_ttl_ms)),
        ("dedup_window", duration(tasks.dedup_window_ms)),
        ("delivery_limit", tasks.delivery_limit.to_string()),
        ("dead_letter_ttl", duration(tasks.dead_letter_ttl_ms)),
        ("queues", DEFAULT_QUEUE.to_owned()),
        ("concurrency", CONCURRENCY.to_string()),
        ("grace", duration(WORKER_GRACE_MS)),
        ("max_connections", HTTP_MAX_CONNECTIONS.to_string()),
        ("header_timeout", duration(HTTP_HEADER_TIMEOUT_MS)),
        ("body_timeout", duration(HTTP_BODY_TIMEOUT_MS)),
    ]
}

/// A duration as a flag takes it: `24h`, `10s`, `500ms`.
fn duration(ms: u64) -> String {
    Millis(ms).to_string()
}

/// `command` (the `qraft node` subcommand) with each flag's default at the end of its help.
pub fn with_defaults_in_help(command: clap::Command) -> clap::Command {
    shown().into_iter().fold(command, |command, (id, default)| {
        command.mut_arg(id, |arg| {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            arg.help(format!("{help} [default: {default}]"))
        })
    })
}
