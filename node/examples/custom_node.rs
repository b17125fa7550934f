//! A node binary of your own, with Rust task handlers next to the built-in ones.
//!
//! ```sh
//! cargo run --example custom_node -- --id 1 --peers 1@127.0.0.1:7071 --data /tmp/qraft-custom
//! qraft submit text.reverse --args '"hello"' --wait          # prints "olleh"
//! qraft submit math.add --args '{"a":2,"b":40}' --wait        # prints {"sum":42}
//! ```
//!
//! It takes every flag of `qraft node` (and `--config`, and the `QRAFT_*` variables).

use clap::Parser;
use qraft_node::config::{NodeArgs, NodeConfig};
use qraft_node::worker::{Registry, TaskContext, TaskError};

#[derive(Parser)]
#[command(about = "A qraft node with custom Rust handlers")]
struct Args {
    #[command(flatten)]
    node: NodeArgs,
}

async fn reverse(task: TaskContext) -> Result<Vec<u8>, TaskError> {
    let text: String = serde_json::from_slice(&task.args)
        .map_err(|e| TaskError::permanent(format!("args must be a JSON string: {e}")))?;
    let reversed: String = text.chars().rev().collect();
    serde_json::to_vec(&reversed).map_err(|e| TaskError::permanent(e.to_string()))
}

#[derive(serde::Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

async fn add(task: TaskContext) -> Result<Vec<u8>, TaskError> {
    let Add { a, b } = serde_json::from_slice(&task.args)
        .map_err(|e| TaskError::permanent(format!("args must be {{\"a\":N,\"b\":N}}: {e}")))?;
    let sum = a
        .checked_add(b)
        .ok_or_else(|| TaskError::permanent("the sum overflows"))?;
    Ok(format!("{{\"sum\":{sum}}}").into_bytes())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = NodeConfig::load(&args.node)?;
    let mut registry = Registry::with_builtins();
    registry
        .register("text.reverse", reverse)
        .register("math.add", add);
    qraft_node::node::run_with(config, registry, qraft_node::node::shutdown_signal()).await?;
    Ok(())
}
