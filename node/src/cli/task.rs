//! `qraft task ID`

use std::process::ExitCode;

use super::output;
use super::{ClusterArgs, ReadArgs};

#[derive(clap::Args, Debug)]
pub struct TaskArgs {
    /// The task id printed by `qraft submit`.
    pub id: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub async fn run(args: TaskArgs) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let task = client.get_task(&args.id, args.read.linearizable()).await?;
    let json = output::task_json(&task);
    if args.cluster.json {
        output::print_json(&json);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(fields) = json.as_object() {
        for (key, value) in fields {
            let text = match value {
                serde_json::Value::Null => "-".to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("{key:<12} {text}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
