//! `qraft-tui`: parses flags, sets up file logging and runs the console.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// qraft's live console: cluster, queues, workers, tasks, events, schedules, limits and flows.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Node addresses, comma-separated host:port; any reachable one is enough, the rest are
    /// found from the membership. The default is where `qraft dev` and scripts/cluster.sh listen.
    #[arg(
        long,
        env = "QRAFT_CLUSTER",
        default_value = "127.0.0.1:7071,127.0.0.1:7072,127.0.0.1:7073",
        value_name = "HOST:PORT,..."
    )]
    cluster: String,
    /// How often to refresh, e.g. 500ms, 2s.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    refresh: Duration,
    /// Hide and refuse every action that changes the cluster.
    #[arg(long)]
    read_only: bool,
    /// Where to log (RUST_LOG filters; default info). The screen is the console's own.
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// CA certificate (PEM) of a TLS cluster.
    #[arg(long, env = "QRAFT_CA", value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Client certificate (PEM), if the cluster asks for one.
    #[arg(long, env = "QRAFT_CERT", value_name = "FILE")]
    cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, env = "QRAFT_KEY", value_name = "FILE")]
    key: Option<PathBuf>,
    /// Access token: `viewer` is enough with --read-only, actions need `admin`.
    #[arg(long, env = "QRAFT_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    token: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut options = qraft_tui::Options::new(&args.cluster, args.refresh, args.read_only)?;
    let files = qraft_proto::TlsFiles {
        ca: args.ca,
        cert: args.cert,
        key: args.key,
    };
    options.credentials =
        qraft_proto::Credentials::load(&files, args.token).context("TLS or token settings")?;
    let log_file = args
        .log_file
        .unwrap_or_else(|| std::env::temp_dir().join("qraft-tui.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .with_context(|| format!("could not open the log file {}", log_file.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(file)
        .with_ansi(false)
        .try_init()
        .map_err(|error| anyhow::anyhow!("could not set up logging: {error}"))?;
    tracing::info!(cluster = ?options.cluster, "console starting");
    qraft_tui::run(options).await
}
