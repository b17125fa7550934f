//! `qraft wait ID [--timeout 60s]`

use std::process::ExitCode;
use std::time::Duration;

use qraft_proto::{Client, pb};

use super::ClusterArgs;
use super::output;
use qraft_node::config::parse_duration_ms;

#[derive(clap::Args, Debug)]
#[command(after_help = "Exit code: 0 SUCCESS, 1 FAILURE, REVOKED or EXPIRED, 3 unfinished at the timeout.")]
pub struct WaitArgs {
    /// The task id.
    pub id: String,
    /// Give up after this long (at most 10m).
    #[arg(long, default_value = "60s", value_parser = parse_duration_ms, value_name = "DURATION")]
    pub timeout: u64,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: WaitArgs) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    wait_and_print(
        &client,
        &args.id,
        Duration::from_millis(args.timeout),
        args.cluster.json,
    )
    .await
}

/// Waits (in server-side slices, so a long wait survives a failover) and prints the outcome.
pub async fn wait_and_print(
    client: &Client,
    id: &str,
    limit: Duration,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut answer;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let slice = left.min(Duration::from_secs(30)).max(Duration::from_millis(1));
        answer = client.wait(id, u64::try_from(slice.as_millis())?).await?;
        if answer.finished || tokio::time::Instant::now() >= deadline {
            break;
        }
    }
    let task = answer
        .task
        .ok_or_else(|| anyhow::anyhow!("the cluster answered without the task"))?;
    if json {
        output::print_json(&output::task_json(&task));
    } else {
        let state = output::state_name(task.state);
        match pb::TaskState::try_from(task.state) {
            Ok(pb::TaskState::Success) => {
                println!("{state}");
                if !task.result.is_empty() {
                    println!("{}", String::from_utf8_lossy(&task.result));
                }
            }
            _ if answer.finished => println!("{state}: {}", task.error),
            _ => println!("still {state} after {} ms", limit.as_millis()),
        }
    }
    Ok(match pb::TaskState::try_from(task.state) {
        Ok(pb::TaskState::Success) => ExitCode::SUCCESS,
        _ if answer.finished => ExitCode::FAILURE,
        _ => ExitCode::from(3),
    })
}
