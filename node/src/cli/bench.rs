//! `qraft bench`: load against a running cluster, with a live progress line and a final table
//! (or `--json`). Latencies go into HDR histograms.
//!
//! - [`submit`]: how fast tasks are accepted (stored on a majority, fsynced).
//! - [`e2e`]: how fast tasks are accepted, run by the nodes' workers and finished.
//! - [`latency`]: submit-to-finish time at a fixed offered rate.
//! - [`load`]: the closed-loop submitters `submit` and `e2e` share.
//! - [`http`]: their HTTP/JSON transport (`submit --http`).
//! - [`tracker`]: matches submits with the finishes a node streams back.
//! - [`report`]: the figures, as a table row or JSON.
//! - [`breakdown`]: `--breakdown`, where the run's time went, stage by stage.

mod breakdown;
mod e2e;
mod http;
mod latency;
mod load;
mod report;
mod submit;
mod tracker;

use std::process::ExitCode;

pub use self::e2e::E2eBench;
pub use self::latency::LatencyBench;
pub use self::submit::SubmitBench;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub mode: BenchMode,
    /// After the run, print where its time went: every node's timings of each stage of a
    /// task's path (API, proposer, leader write, fsync, replication, apply, worker lease, run,
    /// answer), read before and after the run.
    #[arg(long, global = true)]
    pub breakdown: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchMode {
    /// Submit N tasks from C concurrent clients; report tasks/s and submit latency.
    Submit(SubmitBench),
    /// Submit N no-op tasks and wait until the workers have finished all of them; report
    /// end-to-end tasks/s and submit-to-finish latency.
    E2e(E2eBench),
    /// Submit tasks one by one at a fixed rate; report submit-to-finish latency.
    Latency(LatencyBench),
}

impl BenchMode {
    fn cluster(&self) -> &crate::cli::ClusterArgs {
        match self {
            BenchMode::Submit(bench) => &bench.cluster,
            BenchMode::E2e(bench) => &bench.cluster,
            BenchMode::Latency(bench) => &bench.cluster,
        }
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let json = args.mode.cluster().json;
    let breakdown = match args.breakdown {
        true => Some(breakdown::Breakdown::start(args.mode.cluster().client()?).await?),
        false => None,
    };
    let code = match args.mode {
        BenchMode::Submit(bench) => submit::run(bench).await,
        BenchMode::E2e(bench) => e2e::run(bench).await,
        BenchMode::Latency(bench) => latency::run(bench).await,
    }?;
    if let Some(breakdown) = breakdown {
        breakdown.finish(json).await?;
    }
    Ok(code)
}
