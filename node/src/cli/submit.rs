//! `qraft submit NAME [--args JSON] [--queue Q] [--priority N]`

use std::process::ExitCode;

use anyhow::Context;
use qraft_proto::pb;
use serde_json::json;

use super::ClusterArgs;
use super::output;

#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    /// Handler name, e.g. mail.send.
    pub name: String,
    /// Arguments for the handler, as JSON.
    #[arg(long, value_name = "JSON")]
    pub args: Option<String>,
    /// Queue to put the task on.
    #[arg(long, short, default_value = "default")]
    pub queue: String,
    /// 0..=9, higher runs first.
    #[arg(long, short, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub priority: u32,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let payload = match &args.args {
        Some(text) => {
            serde_json::from_str::<serde_json::Value>(text)
                .with_context(|| format!("--args is not valid JSON: {text}"))?;
            text.clone().into_bytes()
        }
        None => Vec::new(),
    };
    let client = args.cluster.client()?;
    let response = client
        .submit(pb::TaskSpec {
            name: args.name,
            queue: args.queue,
            args: payload,
            headers: Default::default(),
            priority: args.priority,
        })
        .await?;
    if args.cluster.json {
        output::print_json(&json!({ "id": response.id, "state": output::state_name(response.state) }));
    } else {
        println!("{}", response.id);
    }
    Ok(ExitCode::SUCCESS)
}
