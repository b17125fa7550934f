//! `qraft dead [--queue Q]`, `qraft dead retry ID|--all [--queue Q]`, `qraft dead purge [--queue Q]`

use std::process::ExitCode;

use anyhow::bail;
use qraft_proto::DeadLetters;
use serde_json::json;

use super::output;
use super::{ClusterArgs, ReadArgs};

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeadArgs {
    #[command(subcommand)]
    pub action: Option<DeadAction>,
    /// Only this queue's dead letters.
    #[arg(long, short)]
    pub queue: Option<String>,
    /// Most to show, newest first.
    #[arg(long, short, default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum DeadAction {
    /// Put dead letters back in their queue with attempts reset.
    Retry(DeadTarget),
    /// Delete dead letters.
    Purge(DeadTarget),
}

#[derive(clap::Args, Debug)]
pub struct DeadTarget {
    /// One dead task's id.
    pub id: Option<String>,
    /// Every dead letter (of --queue, if given).
    #[arg(long)]
    pub all: bool,
    /// Only this queue's dead letters.
    #[arg(long, short)]
    pub queue: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

impl DeadTarget {
    fn letters(&self, purge: bool) -> anyhow::Result<DeadLetters> {
        Ok(match (&self.id, self.all, &self.queue) {
            (Some(id), false, None) => DeadLetters::Task(id.clone()),
            (None, _, Some(queue)) => DeadLetters::Queue(queue.clone()),
            (None, true, None) => DeadLetters::All,
            // Purging every dead letter is the common case and needs no flag; retrying them all
            // sends a flood of work, so it must be asked for.
            (None, false, None) if purge => DeadLetters::All,
            (None, false, None) => bail!("name a task id, --queue Q, or --all"),
            _ => bail!("name either a task id, or --all / --queue, not both"),
        })
    }
}

pub async fn run(args: DeadArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        None => {
            let client = args.cluster.client()?;
            let listed = client
                .list_dead(
                    args.queue.as_deref().unwrap_or_default(),
                    args.limit,
                    args.read.linearizable(),
                )
                .await?;
            super::tasks::print_tasks(&listed.tasks, args.cluster.json);
            let shown = listed.tasks.len();
            output::warn_if_truncated(listed.truncated, shown, args.limit, "dead letters");
            Ok(ExitCode::SUCCESS)
        }
        Some(DeadAction::Retry(target)) => {
            let count = target
                .cluster
                .client()?
                .retry_dead(&target.letters(false)?)
                .await?;
            report(&target, "retried", count)
        }
        Some(DeadAction::Purge(target)) => {
            let count = target
                .cluster
                .client()?
                .purge_dead(&target.letters(true)?)
                .await?;
            report(&target, "purged", count)
        }
    }
}

fn report(target: &DeadTarget, what: &str, count: u64) -> anyhow::Result<ExitCode> {
    if target.cluster.json {
        output::print_json(&json!({ "action": what, "count": count }));
    } else {
        println!("{what} {count} dead letter(s)");
    }
    Ok(ExitCode::SUCCESS)
}
