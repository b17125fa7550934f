//! `qraft workers`: every registered worker, embedded and remote.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::ClusterArgs;
use super::output;

#[derive(clap::Args, Debug)]
pub struct WorkersArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: WorkersArgs) -> anyhow::Result<ExitCode> {
    let answer = args.cluster.client()?.list_workers().await?;
    if args.cluster.json {
        let rows = answer
            .workers
            .iter()
            .map(|w| {
                json!({
                    "id": w.id, "node": w.node, "kind": w.kind, "queues": w.queues, "names": w.names,
                    "concurrency": w.concurrency, "active": w.active, "processed": w.processed,
                    "failed": w.failed, "last_heartbeat": output::time(w.last_seen_ms),
                })
            })
            .collect();
        output::print_json(&Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<22} {:<9} {:<20} {:>5} {:>6} {:>10} {:>7}  LAST HEARTBEAT",
        "ID", "NODE", "KIND", "QUEUES", "CONC", "ACTIVE", "PROCESSED", "FAILED"
    );
    for w in &answer.workers {
        let ago = answer.now_ms.saturating_sub(w.last_seen_ms) / 1000;
        println!(
            "{:<24} {:<22} {:<9} {:<20} {:>5} {:>6} {:>10} {:>7}  {ago}s ago",
            output::clip(&w.id, 24),
            output::clip(&w.node, 22),
            w.kind,
            output::clip(&w.queues.join(","), 20),
            w.concurrency,
            w.active,
            w.processed,
            w.failed
        );
    }
    if answer.workers.is_empty() {
        println!("(no workers registered)");
    }
    Ok(ExitCode::SUCCESS)
}
