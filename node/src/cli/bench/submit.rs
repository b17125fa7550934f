//! `qraft bench submit`: closed-loop submits from C clients, optionally in batches.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use qraft_proto::pb;

use super::load::{self, HttpTarget, Load};
use super::report::{Report, clear_progress, micros, new_histogram, show_progress};
use crate::cli::ClusterArgs;

#[derive(clap::Args, Debug)]
pub struct SubmitBench {
    /// How many tasks to submit.
    #[arg(short = 'n', long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub tasks: u64,
    /// Concurrent clients (each waits for its submit before the next).
    #[arg(short = 'c', long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub clients: u64,
    /// Tasks per submit call (1 = plain submits; more = SubmitBatch, one log entry per call).
    #[arg(short = 'b', long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub batch: u64,
    /// Size of each task's args, in bytes.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub payload_bytes: u64,
    /// Task name to submit (no worker needs to know it: the tasks just wait in their queue).
    #[arg(long, default_value = "bench.noop")]
    pub name: String,
    /// Queue to submit to.
    #[arg(long, default_value = "bench")]
    pub queue: String,
    /// Offer at most this many tasks a second, all clients together, instead of submitting as
    /// fast as answers come: a producer at a steady rate.
    #[arg(long, value_name = "TASKS_PER_S", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub rate: Option<u64>,
    /// Submit over the HTTP/JSON API of these nodes (plain HTTP; client i to node i mod n)
    /// instead of gRPC, e.g. 127.0.0.1:8071,127.0.0.1:8072,127.0.0.1:8073.
    #[arg(long, value_name = "HOST:PORT,...")]
    pub http: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: SubmitBench) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let load = Load {
        tasks: args.tasks,
        clients: args.clients,
        batch: args.batch,
        spec: pb::TaskSpec {
            name: args.name.clone(),
            queue: args.queue.clone(),
            args: vec![b'x'; usize::try_from(args.payload_bytes)?],
            ..Default::default()
        },
        rate: args.rate,
        http: args.http.as_deref().map(|addrs| HttpTarget {
            addrs: addrs
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            token: args.cluster.auth.token.clone(),
        }),
    };
    if load.http.as_ref().is_some_and(|target| target.addrs.is_empty()) {
        anyhow::bail!("--http needs at least one HOST:PORT");
    }
    let latencies = Arc::new(Mutex::new(new_histogram()));
    let started = Instant::now();
    let clients = {
        let latencies = latencies.clone();
        load::start(&client, &load, move |answers, sent| {
            // Latency of the call that carried the task, recorded once per task.
            let mut latencies = latencies.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = latencies.record_n(micros(sent.elapsed()), answers.len() as u64);
        })
    };
    let progress = (!args.cluster.json).then(|| {
        let (submitted, total) = (clients.submitted.clone(), args.tasks);
        tokio::spawn(show_progress(started, move |secs| {
            let done = submitted.load(Ordering::Relaxed);
            format!("submitted {done}/{total}  {:.0} tasks/s", done as f64 / secs)
        }))
    });

    let mode = if load.http.is_some() {
        "submit-http"
    } else {
        "submit"
    };
    let mut report = Report::new(mode, args.clients, args.batch);
    report.offered_per_s = args.rate;
    report.tasks = clients.finish(&mut report).await?;
    report.elapsed = started.elapsed();
    report.latencies = std::mem::replace(
        &mut latencies.lock().unwrap_or_else(PoisonError::into_inner),
        new_histogram(),
    );
    clear_progress(progress);
    Ok(report.print(args.cluster.json))
}
