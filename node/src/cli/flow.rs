//! `qraft flow submit FILE`, `qraft flow show ID`, `qraft flow list`: chains, groups and chords.

mod file;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use qraft_proto::{Client, pb};
use serde_json::{Value, json};

use super::output;
use super::{ClusterArgs, ReadArgs};
use qraft_node::config::parse_duration_ms;

#[derive(clap::Args, Debug)]
pub struct FlowArgs {
    #[command(subcommand)]
    pub action: FlowAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum FlowAction {
    /// Submit a workflow from a JSON file (`-` reads stdin):
    /// {"chain": [STEP, ...]}, {"group": [STEP, ...]}, or
    /// {"chord": {"group": [STEP, ...], "callback": STEP, "on_failure": "fail_chord"|"run_callback"}};
    /// a STEP is {"task": NAME, "args": ..., "queue": Q, "timeout": "30s", "immutable": true, ...}.
    Submit {
        /// The workflow file.
        file: String,
        /// Wait for the flow to finish (at most TIMEOUT, default 60s) and print it.
        #[arg(long, value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "60s", value_parser = parse_duration_ms)]
        wait: Option<u64>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Show a flow: its state, every part's task and state, and the result.
    Show {
        id: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
    /// List flows, newest first.
    List {
        /// Most to show.
        #[arg(long, short, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        read: ReadArgs,
    },
}

pub async fn run(args: FlowArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        FlowAction::Submit { file, wait, cluster } => submit(&file, wait, cluster).await,
        FlowAction::Show { id, cluster, read } => {
            let flow = cluster.client()?.get_flow(&id, read.linearizable()).await?;
            print_flow(&flow, cluster.json);
            Ok(exit_code(&flow))
        }
        FlowAction::List { limit, cluster, read } => {
            let listed = cluster.client()?.list_flows(limit, read.linearizable()).await?;
            let flows = listed.flows;
            if cluster.json {
                output::print_json(&Value::Array(flows.iter().map(flow_json).collect()));
            } else {
                print_flow_table(&flows);
            }
            output::warn_if_truncated(listed.truncated, flows.len(), limit, "flows");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_flow_table(flows: &[pb::Flow]) {
    println!(
        "{:<26} {:<6} {:<10} {:>9}  CREATED",
        "FLOW", "KIND", "STATE", "DONE"
    );
    for flow in flows {
        println!(
            "{:<26} {:<6} {:<10} {:>9}  {}",
            flow.id,
            kind_name(flow.kind),
            state_name(flow.state),
            format!("{}/{}", flow.done, flow.total),
            output::time(flow.created_at_ms).as_str().unwrap_or("-"),
        );
    }
    if flows.is_empty() {
        println!("(no flows: `qraft flow submit FILE` starts one)");
    }
}

async fn submit(path: &str, wait: Option<u64>, cluster: ClusterArgs) -> anyhow::Result<ExitCode> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the workflow from stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?
    };
    let mut spec = file::parse(&text).with_context(|| format!("{path} is not a valid workflow"))?;
    if spec.idempotency_key.is_empty() {
        // Made up so that a resend after a failover can never start the flow twice.
        spec.idempotency_key = format!("cli-{}", ulid::Ulid::new());
    }
    let client = cluster.client()?;
    let response = client.submit_flow(spec).await?;
    let Some(wait_ms) = wait else {
        if cluster.json {
            output::print_json(&json!({ "id": response.id, "duplicate": response.duplicate }));
        } else {
            println!("{}", response.id);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let flow = wait_for_flow(&client, &response.id, Duration::from_millis(wait_ms)).await?;
    print_flow(&flow, cluster.json);
    Ok(exit_code(&flow))
}

/// Polls the flow until it finishes: flows have no push stream of their own.
async fn wait_for_flow(client: &Client, id: &str, limit: Duration) -> anyhow::Result<pb::Flow> {
    let started = Instant::now();
    loop {
        // Linearizable: a replica that has not applied the submit yet would say "no flow".
        let flow = client.get_flow(id, true).await?;
        if flow.state != pb::FlowState::FlowRunning as i32 {
            return Ok(flow);
        }
        if started.elapsed() > limit {
            anyhow::bail!(
                "flow {id} still running after {limit:?} ({} of {} parts done)",
                flow.done,
                flow.total
            );
        }
        // Poll interval; the state read above decides.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn exit_code(flow: &pb::Flow) -> ExitCode {
    if flow.state == pb::FlowState::FlowFailed as i32 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn kind_name(kind: i32) -> &'static str {
    match pb::FlowKind::try_from(kind) {
        Ok(pb::FlowKind::Chain) => "chain",
        Ok(pb::FlowKind::Group) => "group",
        Ok(pb::FlowKind::Chord) => "chord",
        _ => "?",
    }
}

fn state_name(state: i32) -> &'static str {
    match pb::FlowState::try_from(state) {
        Ok(pb::FlowState::FlowRunning) => "RUNNING",
        Ok(pb::FlowState::FlowSucceeded) => "SUCCEEDED",
        Ok(pb::FlowState::FlowFailed) => "FAILED",
        _ => "UNKNOWN",
    }
}

fn part_json(part: &pb::FlowPart) -> Value {
    json!({
        "task_id": (!part.task_id.is_empty()).then_some(&part.task_id),
        "name": part.name,
        "state": (part.state != 0).then(|| output::state_name(part.state)),
        "result": output::payload(&part.result),
        "error": (!part.error.is_empty()).then_some(&part.error),
    })
}

fn flow_json(flow: &pb::Flow) -> Value {
    json!({
        "id": flow.id,
        "kind": kind_name(flow.kind),
        "state": state_name(flow.state),
        "done": flow.done,
        "total": flow.total,
        "parts": flow.parts.iter().map(part_json).collect::<Vec<_>>(),
        "callback": flow.callback.as_ref().map(part_json),
        "result": output::payload(&flow.result),
        "error": (!flow.error.is_empty()).then_some(&flow.error),
        "idempotency_key": (!flow.idempotency_key.is_empty()).then_some(&flow.idempotency_key),
        "created_at": output::time(flow.created_at_ms),
        "finished_at": output::time(flow.finished_at_ms),
    })
}

fn print_flow(flow: &pb::Flow, as_json: bool) {
    if as_json {
        output::print_json(&flow_json(flow));
        return;
    }
    println!(
        "flow {} ({}): {}, {}/{} parts done",
        flow.id,
        kind_name(flow.kind),
        state_name(flow.state),
        flow.done,
        flow.total
    );
    let parts = flow.parts.iter().enumerate().map(|(i, p)| (i.to_string(), p));
    for (label, part) in parts.chain(flow.callback.iter().map(|p| ("callback".to_string(), p))) {
        let state = if part.state == 0 {
            "-"
        } else {
            output::state_name(part.state)
        };
        let task = if part.task_id.is_empty() {
            "(not enqueued)"
        } else {
            part.task_id.as_str()
        };
        println!(
            "  {label:>8}  {:<24} {task:<26} {state}",
            output::clip(&part.name, 24)
        );
    }
    if !flow.error.is_empty() {
        println!("error: {}", flow.error);
    }
    if !flow.result.is_empty() {
        println!("result: {}", output::payload(&flow.result));
    }
}
