//! The `qraft` subcommands. Each lives in its own file under `cli/`; client commands share
//! [`ClusterArgs`] (`--cluster`, `--json`).

mod bench;
mod certs;
mod cluster;
mod cluster_args;
mod dead;
mod demo;
mod dev;
mod flow;
mod limit;
mod output;
mod queues;
mod revoke;
mod schedule;
mod status;
mod submit;
mod task;
mod tasks;
mod token;
mod wait;
mod workers;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use cluster_args::{ClusterArgs, ReadArgs};

use qraft_node::config::{NodeArgs, NodeConfig};
use qraft_node::node::NodeError;

/// qraft: a highly available distributed task queue. One binary, no external broker.
#[derive(Parser, Debug)]
#[command(name = "qraft", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a node (broker and worker) of a cluster.
    Node(Box<NodeArgs>),
    /// Start a local N-node cluster as child processes, for trying qraft out.
    Dev(dev::DevArgs),
    /// Submit a task and print its id (or, with --wait, its result).
    Submit(submit::SubmitArgs),
    /// Show one task.
    Task(task::TaskArgs),
    /// Wait for a task to finish and print its result.
    Wait(wait::WaitArgs),
    /// Revoke a task: a waiting one never runs, a running one is stopped.
    Revoke(revoke::RevokeArgs),
    /// List tasks, newest first, optionally filtered.
    Tasks(tasks::TasksArgs),
    /// Show every queue's tasks by state.
    Queues(queues::QueuesArgs),
    /// Pause a queue: it hands out nothing until resumed.
    Pause(queues::QueueArgs),
    /// Resume a paused queue.
    Resume(queues::QueueArgs),
    /// Delete a queue's waiting tasks.
    Purge(queues::QueueArgs),
    /// List, retry or purge dead letters (tasks that failed for good).
    Dead(dead::DeadArgs),
    /// Workflows: chains, groups and chords of tasks, from a JSON file.
    Flow(flow::FlowArgs),
    /// Periodic tasks (cron or interval), fired by the cluster exactly once per due time.
    Schedule(schedule::ScheduleArgs),
    /// Cluster-wide rate limits per task name or queue (100/s, 10/m, 1000/h).
    Limit(limit::LimitArgs),
    /// Show every registered worker: where it runs, what it consumes, how busy it is.
    Workers(workers::WorkersArgs),
    /// Show every node's Raft role and progress, and who leads.
    Status(status::StatusArgs),
    /// Membership: list, add or remove nodes while the cluster works; move leadership.
    Cluster(cluster::ClusterCommandArgs),
    /// Certificates for TLS: a cluster CA, and node and client certificates signed by it.
    Certs(certs::CertsArgs),
    /// Access tokens for clients, with a role; nodes store only their hashes.
    Token(token::TokenArgs),
    /// Measure a running cluster (throughput and latency).
    Bench(bench::BenchArgs),
    /// Submit a realistic mix of demo tasks for a while, to watch in qraft-tui.
    Demo(demo::DemoArgs),
}

/// Logs go to stderr; a node logs at info by default, client commands only warnings.
pub fn init_tracing(cli: &Cli) {
    let default = match cli.command {
        Command::Node(_) | Command::Dev(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Node logs usually go to files: colour codes only for a terminal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// A node whose Raft stopped on a fatal error leaves without tearing its runtime down. Its tasks
/// may be inside openraft calls that wait for the stopped core, and openraft panics in one of
/// them when another is cancelled mid-wait, as dropping the runtime does (its join of the core
/// is not cancellation-safe; seen in the chaos suite's disk scenario). Everything the node
/// acknowledged is on disk already.
fn leave_at_once(fatal: &NodeError) -> ! {
    eprintln!("error: {fatal}");
    std::process::exit(1)
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Node(args) => {
            let config = NodeConfig::load(&args)?;
            match qraft_node::node::run(config, qraft_node::node::shutdown_signal()).await {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(fatal @ NodeError::Fatal(_)) => leave_at_once(&fatal),
                Err(e) => Err(e.into()),
            }
        }
        // These stop their children or print their totals on a signal themselves.
        Command::Dev(args) => dev::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        client => interruptible(run_client(client)).await,
    }
}

/// The exit code of a command stopped by a signal, as shells report it for Ctrl-C.
const INTERRUPTED: u8 = 130;

/// A client command stops at once on Ctrl-C or SIGTERM, also while it retries against a cluster
/// that does not answer: nothing it would do after is worth waiting for.
async fn interruptible(command: impl Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    tokio::select! {
        outcome = command => outcome,
        () = qraft_node::node::shutdown_signal() => {
            eprintln!("interrupted");
            Ok(ExitCode::from(INTERRUPTED))
        }
    }
}

async fn run_client(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Submit(args) => submit::run(args).await,
        Command::Task(args) => task::run(args).await,
        Command::Wait(args) => wait::run(args).await,
        Command::Revoke(args) => revoke::run(args).await,
        Command::Tasks(args) => tasks::run(args).await,
        Command::Queues(args) => queues::list(args).await,
        Command::Pause(args) => queues::pause(args).await,
        Command::Resume(args) => queues::resume(args).await,
        Command::Purge(args) => queues::purge(args).await,
        Command::Dead(args) => dead::run(args).await,
        Command::Flow(args) => flow::run(args).await,
        Command::Schedule(args) => schedule::run(args).await,
        Command::Limit(args) => limit::run(args).await,
        Command::Workers(args) => workers::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Cluster(args) => cluster::run(args).await,
        Command::Certs(args) => certs::run(args),
        Command::Token(args) => token::run(args),
        Command::Bench(args) => bench::run(args).await,
        Command::Node(_) | Command::Dev(_) | Command::Demo(_) => {
            unreachable!("run() starts nodes, dev clusters and the demo itself")
        }
    }
}
