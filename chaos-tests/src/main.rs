//! `qraft-chaos`: parses flags and runs the scenarios; see the library for how.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = qraft_chaos::run::Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    // Interrupted, the run is dropped: its cluster stops the nodes and removes the namespaces
    // and mounts it made, which ending the process at once would leave behind.
    tokio::select! {
        result = qraft_chaos::run::run(args) => match result {
            Ok(code) => code,
            Err(e) => {
                eprintln!("qraft-chaos: {e:#}");
                ExitCode::from(2)
            }
        },
        signal = interrupted() => {
            eprintln!("qraft-chaos: {signal}; stopped the nodes and cleaned up");
            ExitCode::from(130)
        }
    }
}

/// Waits for Ctrl-C or SIGTERM and names which came.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return "interrupted";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted",
        _ = terminate.recv() => "terminated",
    }
}
