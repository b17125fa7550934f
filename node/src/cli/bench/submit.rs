//! `qraft bench submit`: closed-loop submits from C clients, optionally in batches.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use qraft_proto::pb;

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
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: SubmitBench) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let spec = pb::TaskSpec {
        name: args.name.clone(),
        queue: args.queue.clone(),
        args: vec![b'x'; usize::try_from(args.payload_bytes)?],
        ..Default::default()
    };
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..args.clients.min(args.tasks) {
        let (client, next, done, spec) = (client.clone(), next.clone(), done.clone(), spec.clone());
        let (total, batch) = (args.tasks, args.batch);
        clients.push(tokio::spawn(async move {
            let mut latencies = new_histogram();
            let mut errors = 0;
            let mut last_error = None;
            loop {
                let first = next.fetch_add(batch, Ordering::Relaxed);
                if first >= total {
                    break;
                }
                let size = batch.min(total - first);
                let sent = Instant::now();
                let result = if batch == 1 {
                    client.submit(spec.clone()).await.map(|_| ())
                } else {
                    let specs = (0..size).map(|_| spec.clone()).collect();
                    client.submit_batch(specs).await.map(|_| ())
                };
                match result {
                    Ok(()) => {
                        // Latency of the call that carried the task, recorded once per task.
                        let _ = latencies.record_n(micros(sent.elapsed()), size);
                        done.fetch_add(size, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors += size;
                        last_error = Some(e.to_string());
                    }
                }
            }
            (latencies, errors, last_error)
        }));
    }
    let progress = (!args.cluster.json).then(|| {
        let (done, total) = (done.clone(), args.tasks);
        tokio::spawn(show_progress(started, move |secs| {
            let done = done.load(Ordering::Relaxed);
            format!("submitted {done}/{total}  {:.0} tasks/s", done as f64 / secs)
        }))
    });

    let mut report = Report {
        mode: "submit",
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
        let (latencies, errors, last_error) = client.await?;
        report.latencies.add(&latencies)?;
        report.errors += errors;
        report.last_error = report.last_error.or(last_error);
    }
    report.elapsed = started.elapsed();
    report.tasks = done.load(Ordering::Relaxed);
    clear_progress(progress);
    Ok(report.print(args.cluster.json))
}
