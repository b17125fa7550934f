//! `qraft limit set SCOPE RATE`, `qraft limit rm SCOPE`, `qraft limit list`

use std::process::ExitCode;

use serde_json::{Value, json};

use super::output;
use super::{ClusterArgs, ReadArgs};
use qraft_node::queue::limit::{LimitScope, Rate};

#[derive(clap::Args, Debug)]
pub struct LimitArgs {
    #[command(subcommand)]
    pub action: LimitAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum LimitAction {
    /// Set a cluster-wide rate limit, e.g. `qraft limit set task:mail.send 100/s` or
    /// `qraft limit set queue:emails 10/m`. Holds however many workers run; changing a limit
    /// keeps the starts already counted.
    Set {
        /// task:NAME (tasks with this name, any queue) or queue:NAME (every task of the queue).
        #[arg(value_parser = parse_scope)]
        scope: LimitScope,
        /// COUNT/UNIT: 100/s, 10/m, 1000/h, or a duration such as 5/250ms or 3/10s.
        #[arg(value_parser = parse_rate)]
        rate: Rate,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Remove a rate limit.
    Rm {
        #[arg(value_parser = parse_scope)]
        scope: LimitScope,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Show every rate limit and how much of its window is used, and the concurrency keys
    /// (`submit --concurrency-key`) with running tasks.
    List {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
}

fn parse_scope(text: &str) -> Result<LimitScope, String> {
    text.parse()
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    text.parse()
}

pub async fn run(args: LimitArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        LimitAction::Set { scope, rate, cluster } => {
            cluster
                .client()?
                .set_limit(&scope.to_string(), rate.count, rate.per_ms)
                .await?;
            if cluster.json {
                output::print_json(&json!({ "scope": scope.to_string(), "rate": rate.to_string() }));
            } else {
                println!("limit {scope}: {rate}");
            }
            Ok(ExitCode::SUCCESS)
        }
        LimitAction::Rm { scope, cluster } => {
            let removed = cluster.client()?.remove_limit(&scope.to_string()).await?;
            if cluster.json {
                output::print_json(&json!({ "scope": scope.to_string(), "removed": removed }));
            } else if removed {
                println!("limit {scope}: removed");
            } else {
                println!("limit {scope}: there was none");
            }
            Ok(ExitCode::SUCCESS)
        }
        LimitAction::List { cluster, read } => list(cluster, read).await,
    }
}

async fn list(cluster: ClusterArgs, read: ReadArgs) -> anyhow::Result<ExitCode> {
    let response = cluster.client()?.list_limits(read.linearizable()).await?;
    let rate = |count: u32, per_ms: u64| Rate { count, per_ms }.to_string();
    if cluster.json {
        let limits: Vec<Value> = response
            .limits
            .iter()
            .map(|l| {
                json!({
                    "scope": l.scope, "rate": rate(l.count, l.per_ms), "count": l.count,
                    "per_ms": l.per_ms, "used": l.used, "frees_at": output::time(l.frees_at_ms),
                })
            })
            .collect();
        let keys: Vec<Value> = response
            .keys
            .iter()
            .map(|k| json!({ "key": k.key, "running": k.running }))
            .collect();
        output::print_json(&json!({ "limits": limits, "concurrency_keys": keys }));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<40} {:>12} {:>14}", "SCOPE", "RATE", "USED");
    for limit in &response.limits {
        println!(
            "{:<40} {:>12} {:>14}",
            output::clip(&limit.scope, 40),
            rate(limit.count, limit.per_ms),
            format!("{}/{}", limit.used, limit.count),
        );
    }
    if response.limits.is_empty() {
        println!("(no rate limits: `qraft limit set task:NAME 100/s` adds one)");
    }
    if !response.keys.is_empty() {
        println!();
        println!("{:<40} {:>8}", "CONCURRENCY KEY", "RUNNING");
        for key in &response.keys {
            println!("{:<40} {:>8}", output::clip(&key.key, 40), key.running);
        }
    }
    Ok(ExitCode::SUCCESS)
}
