//! `qraft revoke ID`

use std::process::ExitCode;

use serde_json::json;

use super::ClusterArgs;
use super::output;

#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    /// The task id. A waiting task never runs; a running one is stopped by its worker.
    pub id: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: RevokeArgs) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let response = client.revoke(&args.id).await?;
    let state = output::state_name(response.state);
    if args.cluster.json {
        output::print_json(&json!({ "id": args.id, "state": state }));
    } else if state == "REVOKED" {
        println!("{} revoked", args.id);
    } else {
        println!("{} had already finished: {state}", args.id);
    }
    Ok(ExitCode::SUCCESS)
}
