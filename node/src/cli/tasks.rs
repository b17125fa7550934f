//! `qraft tasks [--queue Q] [--state S] [--name N] [--limit N]`

use std::process::ExitCode;

use qraft_proto::pb;
use serde_json::Value;

use super::output;
use super::{ClusterArgs, ReadArgs};

#[derive(clap::Args, Debug)]
pub struct TasksArgs {
    #[arg(long, short)]
    pub queue: Option<String>,
    /// PENDING, SCHEDULED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED or EXPIRED.
    #[arg(long, short, value_parser = parse_state)]
    pub state: Option<pb::TaskState>,
    /// Task name.
    #[arg(long, short)]
    pub name: Option<String>,
    /// Most tasks to show, newest first (at most 10000).
    #[arg(long, short, default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// A state as the API names it, in any case.
fn parse_state(text: &str) -> Result<pb::TaskState, String> {
    pb::TaskState::from_str_name(&text.to_ascii_uppercase())
        .filter(|state| *state != pb::TaskState::Unspecified)
        .ok_or_else(|| {
            format!(
                "unknown state {text:?}; use one of PENDING, SCHEDULED, STARTED, RETRY, SUCCESS, FAILURE, REVOKED, EXPIRED"
            )
        })
}

pub async fn run(args: TasksArgs) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let listed = client
        .list_tasks(pb::ListTasksRequest {
            queue: args.queue.unwrap_or_default(),
            state: args.state.unwrap_or(pb::TaskState::Unspecified).into(),
            name: args.name.unwrap_or_default(),
            limit: args.limit,
            linearizable: args.read.linearizable(),
        })
        .await?;
    print_tasks(&listed.tasks, args.cluster.json);
    output::warn_if_truncated(listed.truncated, listed.tasks.len(), args.limit, "tasks");
    Ok(ExitCode::SUCCESS)
}

/// A task table, or a JSON array of task objects.
pub fn print_tasks(tasks: &[pb::Task], json: bool) {
    if json {
        output::print_json(&Value::Array(tasks.iter().map(output::task_json).collect()));
        return;
    }
    println!(
        "{:<26}  {:<20} {:<12} {:<9} {:>3} {:>8}  {:<24}  ERROR",
        "ID", "NAME", "QUEUE", "STATE", "PRI", "ATTEMPTS", "CREATED"
    );
    for task in tasks {
        let created = output::time(task.created_at_ms);
        println!(
            "{:<26}  {:<20} {:<12} {:<9} {:>3} {:>8}  {:<24}  {}",
            task.id,
            output::clip(&task.name, 20),
            output::clip(&task.queue, 12),
            output::state_name(task.state),
            task.priority,
            task.attempts,
            created.as_str().unwrap_or("-"),
            output::clip(&task.error, 60)
        );
    }
    if tasks.is_empty() {
        println!("(no tasks)");
    }
}
