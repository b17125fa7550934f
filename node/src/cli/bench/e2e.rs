//! `qraft bench e2e`: submit N tasks as fast as C clients can, and time until the workers have
//! finished every one of them.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use qraft_proto::pb;

use super::load::{self, Load};
use super::report::{Report, clear_progress, show_progress};
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
    let load = Load {
        tasks: args.tasks,
        clients: args.clients,
        batch: args.batch,
        spec: pb::TaskSpec {
            name: args.name.clone(),
            queue: args.queue.clone(),
            ..Default::default()
        },
        http: None,
        rate: None,
    };
    let started = Instant::now();
    let clients = {
        let tracker = tracker.clone();
        load::start(&client, &load, move |answers, sent| {
            tracker.submitted(answers.into_iter().map(|a| a.id), sent);
        })
    };
    let progress = (!args.cluster.json).then(|| {
        let (submitted, tracker, total) = (clients.submitted.clone(), tracker.clone(), args.tasks);
        tokio::spawn(show_progress(started, move |secs| {
            let finished = tracker.finished_count();
            format!(
                "submitted {}/{total}  finished {finished}  {:.0} tasks/s",
                submitted.load(Ordering::Relaxed),
                finished as f64 / secs
            )
        }))
    });

    let mut report = Report::new("e2e", args.clients, args.batch);
    let expected = clients.finish(&mut report).await?;
    let left = args.timeout.saturating_sub(started.elapsed());
    let finishes = tracker.wait_for(expected, left).await;
    clear_progress(progress);
    report.tasks = expected;
    finishes?.fill(&mut report, started);
    Ok(report.print(args.cluster.json))
}
