//! `qraft bench latency`: single submits at a fixed offered rate (open loop: a slow answer does
//! not delay the next submit), each timed from its scheduled send to its finish, so a stall
//! shows in the figures instead of lowering the rate.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qraft_proto::pb;

use super::report::{Report, clear_progress, show_progress};
use super::tracker::Tracker;
use crate::cli::ClusterArgs;

#[derive(clap::Args, Debug)]
pub struct LatencyBench {
    /// How many tasks to send.
    #[arg(short = 'n', long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub tasks: u64,
    /// Offered rate, tasks per second.
    #[arg(short = 'r', long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub rate: u64,
    /// Task name: a handler every worker of the queue has.
    #[arg(long, default_value = "builtin.noop")]
    pub name: String,
    /// Queue to submit to: one the workers take from.
    #[arg(long, default_value = "default")]
    pub queue: String,
    /// Give up when the last task has not finished this long after the last send.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: LatencyBench) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let tracker = Tracker::start(&client, &args.queue).await?;
    let submitted = Arc::new(AtomicU64::new(0));
    let spec = pb::TaskSpec {
        name: args.name.clone(),
        queue: args.queue.clone(),
        ..Default::default()
    };
    let started = Instant::now();
    let progress = (!args.cluster.json).then(|| {
        let (submitted, tracker, total) = (submitted.clone(), tracker.clone(), args.tasks);
        tokio::spawn(show_progress(started, move |_| {
            format!(
                "sent {}/{total}  finished {}",
                submitted.load(Ordering::Relaxed),
                tracker.finished_count()
            )
        }))
    });
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut sends = Vec::new();
    for i in 0..args.tasks {
        let scheduled = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, tracker, submitted, spec) =
            (client.clone(), tracker.clone(), submitted.clone(), spec.clone());
        sends.push(tokio::spawn(async move {
            let answer = client.submit(spec).await.map_err(|e| e.to_string())?;
            submitted.fetch_add(1, Ordering::Relaxed);
            tracker.submitted([answer.id], scheduled);
            Ok::<(), String>(())
        }));
    }
    let mut report = Report::new("latency", 1, 1);
    report.offered_per_s = Some(args.rate);
    for send in sends {
        if let Err(error) = send.await? {
            report.errors += 1;
            report.last_error = Some(error);
        }
    }
    let expected = submitted.load(Ordering::Relaxed);
    let finishes = tracker.wait_for(expected, args.timeout).await;
    clear_progress(progress);
    report.tasks = expected;
    finishes?.fill(&mut report, started);
    Ok(report.print(args.cluster.json))
}
