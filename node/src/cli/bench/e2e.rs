//! `qraft bench e2e`: submit N tasks as fast as C clients can, and time until the workers have
//! finished every one of them.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qraft_proto::pb;

use super::report::{Report, clear_progress, new_histogram, show_progress};
use super::tracker::Tracker;
use crate::cli::ClusterArgs;

#[derive(clap::Args, Debug)]
pub struct E2eBench {
    /// How many tasks to run.
    #[arg(short = 'n', long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub tasks: u64,
    /// Concurrent submitting clients.
    #[arg(short = 'c', long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub clients: u64,
    /// Tasks per submit call.
    #[arg(short = 'b', long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub batch: u64,
    /// Task name: a handler every worker of the queue has.
    #[arg(long, default_value = "builtin.noop")]
    pub name: String,
    /// Queue to submit to: one the workers take from.
    #[arg(long, default_value = "default")]
    pub queue: String,
    /// Give up when the last task has not finished this long after the start.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: E2eBench) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let tracker = Tracker::start(&client, &args.queue).await?;
    let next = Arc::new(AtomicU64::new(0));
    let submitted = Arc::new(AtomicU64::new(0));
    let spec = pb::TaskSpec {
        name: args.name.clone(),
        queue: args.queue.clone(),
        ..Default::default()
    };
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..args.clients.min(args.tasks) {
        let (client, next, submitted, tracker) =
            (client.clone(), next.clone(), submitted.clone(), tracker.clone());
        let (total, batch, spec) = (args.tasks, args.batch, spec.clone());
        clients.push(tokio::spawn(async move {
            let mut errors = 0;
            let mut last_error = None;
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= total {
                    break;
                }
                let size = batch.min(total - first);
                let sent = Instant::now();
                let specs = (0..size).map(|_| spec.clone()).collect();
                match client.submit_batch(specs).await {
                    Ok(answers) => {
                        submitted.fetch_add(size, Ordering::Relaxed);
                        tracker.submitted(answers.into_iter().map(|a| a.id), sent);
                    }
                    Err(e) => {
                        errors += size;
                        last_error = Some(e.to_string());
                    }
                }
            }
            (errors, last_error)
        }));
    }
    let progress = (!args.cluster.json).then(|| {
        let (submitted, tracker, total) = (submitted.clone(), tracker.clone(), args.tasks);
        tokio::spawn(show_progress(started, move |secs| {
            let finished = tracker.finished_count();
            format!(
                "submitted {}/{total}  finished {finished}  {:.0} tasks/s",
                submitted.load(Ordering::Relaxed),
                finished as f64 / secs
            )
        }))
    });

    let mut report = Report {
        mode: "e2e",
        tasks: 0,
        clients: args.clients,
        batch: args.batch,
        offered_per_s: None,
        elapsed: Default::default(),
        errors: 0,
        latencies: new_histogram(),
        last_error: None,
    };
    for client in clients {
        let (errors, last_error) = client.await?;
        report.errors += errors;
        report.last_error = report.last_error.or(last_error);
    }
    let expected = submitted.load(Ordering::Relaxed);
    let left = args.timeout.saturating_sub(started.elapsed());
    let finishes = tracker.wait_for(expected, left).await;
    clear_progress(progress);
    let finishes = finishes?;
    report.tasks = expected;
    report.elapsed = finishes.last_finish.saturating_duration_since(started);
    report.latencies = finishes.latencies;
    if finishes.unsuccessful > 0 {
        report.errors += finishes.unsuccessful;
        report.last_error = Some(format!("{} tasks did not succeed", finishes.unsuccessful));
    }
    Ok(report.print(args.cluster.json))
}
