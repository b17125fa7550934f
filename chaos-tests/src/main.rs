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
    match qraft_chaos::run::run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("qraft-chaos: {e:#}");
            ExitCode::from(2)
        }
    }
}
