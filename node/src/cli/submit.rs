//! `qraft submit NAME [options] [--wait [TIMEOUT]]`

use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, bail};
use qraft_proto::pb;
use serde_json::json;

use super::ClusterArgs;
use super::output;
use qraft_node::clock::wall_ms as now_ms;
use qraft_node::config::parse_duration_ms;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "With --wait, the exit code says how the task ended: 0 SUCCESS, 1 FAILURE, REVOKED or \
                  EXPIRED, 3 still unfinished when the wait timed out."
)]
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
    /// Not runnable before this much time has passed, e.g. 10s, 5m.
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION", conflicts_with = "eta")]
    pub countdown: Option<u64>,
    /// Not runnable before this time (RFC 3339, e.g. 2026-11-25T12:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub eta: Option<String>,
    /// Expire if not started within this long, e.g. 1h.
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION")]
    pub expires: Option<u64>,
    /// Failed attempts to retry before the task fails for good.
    #[arg(long, default_value_t = 0)]
    pub max_retries: u32,
    /// Delay before the first retry (doubling after each, with jitter), e.g. 1s.
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION")]
    pub retry_delay: Option<u64>,
    /// Hard time limit of one attempt, e.g. 30s.
    #[arg(long, value_parser = parse_duration_ms, value_name = "DURATION")]
    pub timeout: Option<u64>,
    /// Makes the submit safe to repeat: a second submit with this key returns the first task.
    /// A unique key is made up when none is given, so retries after a failover never duplicate.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// At most --concurrency tasks with this key run at once, cluster-wide (e.g. a customer id).
    #[arg(long, value_name = "KEY")]
    pub concurrency_key: Option<String>,
    /// How many tasks with the same --concurrency-key may run at once.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "concurrency_key")]
    pub concurrency: u32,
    /// Wait for the task to finish (at most TIMEOUT, default 60s) and print its result.
    #[arg(long, value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "60s", value_parser = parse_duration_ms)]
    pub wait: Option<u64>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn eta_ms(text: &str) -> anyhow::Result<u64> {
    let at = humantime::parse_rfc3339_weak(text)
        .with_context(|| format!("--eta {text:?} is not an RFC 3339 time like 2026-11-25T12:00:00Z"))?;
    let ms = at
        .duration_since(UNIX_EPOCH)
        .context("--eta is before 1970")?
        .as_millis();
    Ok(u64::try_from(ms)?)
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
    let eta_ms = args.eta.as_deref().map(eta_ms).transpose()?;
    if eta_ms.is_some_and(|eta| eta.saturating_add(1000) < now_ms()) {
        bail!("--eta {} is in the past", args.eta.unwrap_or_default());
    }
    let client = args.cluster.client()?;
    let response = client
        .submit(pb::TaskSpec {
            name: args.name,
            queue: args.queue,
            args: payload,
            priority: args.priority,
            countdown_ms: args.countdown.unwrap_or(0),
            eta_ms: eta_ms.unwrap_or(0),
            expires_in_ms: args.expires.unwrap_or(0),
            max_retries: args.max_retries,
            retry_delay_ms: args.retry_delay,
            timeout_ms: args.timeout.unwrap_or(0),
            idempotency_key: args
                .idempotency_key
                .unwrap_or_else(|| format!("cli-{}", ulid::Ulid::new())),
            concurrency_key: args.concurrency_key.unwrap_or_default(),
            concurrency_limit: args.concurrency,
            ..Default::default()
        })
        .await?;
    let Some(wait_ms) = args.wait else {
        if args.cluster.json {
            output::print_json(&json!({ "id": response.id, "state": output::state_name(response.state) }));
        } else {
            println!("{}", response.id);
        }
        return Ok(ExitCode::SUCCESS);
    };
    if !args.cluster.json {
        println!("{}", response.id);
    }
    super::wait::wait_and_print(
        &client,
        &response.id,
        Duration::from_millis(wait_ms),
        args.cluster.json,
    )
    .await
}
