//! `qraft queues`, `qraft pause Q`, `qraft resume Q`, `qraft purge Q`

use std::process::ExitCode;

use serde_json::{Value, json};

use super::output;
use super::{ClusterArgs, ReadArgs};

#[derive(clap::Args, Debug)]
pub struct QueuesArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(clap::Args, Debug)]
pub struct QueueArgs {
    /// Queue name.
    pub queue: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn list(args: QueuesArgs) -> anyhow::Result<ExitCode> {
    let queues = args
        .cluster
        .client()?
        .list_queues(args.read.linearizable())
        .await?;
    if args.cluster.json {
        let rows = queues
            .iter()
            .map(|q| {
                json!({
                    "name": q.name, "ready": q.ready, "scheduled": q.scheduled, "started": q.started,
                    "retry": q.retry, "dead": q.dead, "succeeded": q.succeeded, "revoked": q.revoked,
                    "expired": q.expired, "paused": q.paused,
                    "enqueued_per_s": q.enqueued_per_s, "completed_per_s": q.completed_per_s,
                    "failed_per_s": q.failed_per_s, "enqueued_total": q.enqueued_total,
                    "completed_total": q.completed_total, "failed_total": q.failed_total,
                    "consumers": q.consumers,
                    "unhandled": q.unhandled.iter()
                        .map(|u| json!({"name": u.name, "count": u.count}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        output::print_json(&Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<20} {:>8} {:>9} {:>8} {:>7} {:>6} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  PAUSED",
        "QUEUE",
        "READY",
        "SCHEDULED",
        "STARTED",
        "RETRY",
        "DEAD",
        "SUCCEEDED",
        "REVOKED",
        "EXPIRED",
        "IN/S",
        "DONE/S",
        "FAIL/S",
        "WORKERS"
    );
    for q in &queues {
        println!(
            "{:<20} {:>8} {:>9} {:>8} {:>7} {:>6} {:>9} {:>7} {:>7} {:>7.1} {:>7.1} {:>7.1} {:>7}  {}",
            output::clip(&q.name, 20),
            q.ready,
            q.scheduled,
            q.started,
            q.retry,
            q.dead,
            q.succeeded,
            q.revoked,
            q.expired,
            q.enqueued_per_s,
            q.completed_per_s,
            q.failed_per_s,
            q.consumers,
            if q.paused { "yes" } else { "no" }
        );
    }
    if queues.is_empty() {
        println!("(no queues yet: submit a task to create one)");
    }
    for warning in queues.iter().flat_map(unserved) {
        println!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// What in `queue` waits for a worker that is not there: the whole queue when nothing consumes
/// it, else each task name that no consumer declares.
pub fn unserved(queue: &qraft_proto::pb::QueueStats) -> Vec<String> {
    let waiting = queue.ready + queue.scheduled + queue.retry;
    if waiting == 0 {
        return Vec::new();
    }
    if queue.consumers == 0 {
        return vec![format!(
            "queue {}: {waiting} waiting task(s) and no worker consumes it; start one with -Q {} \
             (qraft-worker) or --worker-queues (qraft node)",
            queue.name, queue.name
        )];
    }
    queue
        .unhandled
        .iter()
        .map(|u| {
            format!(
                "queue {}: {} waiting task(s) named {} that no worker of the queue declares",
                queue.name, u.count, u.name
            )
        })
        .collect()
}

pub async fn pause(args: QueueArgs) -> anyhow::Result<ExitCode> {
    args.cluster.client()?.pause_queue(&args.queue).await?;
    report(&args, "paused", None)
}

pub async fn resume(args: QueueArgs) -> anyhow::Result<ExitCode> {
    args.cluster.client()?.resume_queue(&args.queue).await?;
    report(&args, "resumed", None)
}

pub async fn purge(args: QueueArgs) -> anyhow::Result<ExitCode> {
    let count = args.cluster.client()?.purge_queue(&args.queue).await?;
    report(&args, "purged", Some(count))
}

fn report(args: &QueueArgs, what: &str, count: Option<u64>) -> anyhow::Result<ExitCode> {
    if args.cluster.json {
        output::print_json(&json!({ "queue": args.queue, "action": what, "count": count }));
    } else {
        match count {
            Some(count) => println!("queue {}: {what} {count} waiting task(s)", args.queue),
            None => println!("queue {}: {what}", args.queue),
        }
    }
    Ok(ExitCode::SUCCESS)
}
