//! `qraft bench`: load against a running cluster, with a live progress line and a final table.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use qraft_proto::pb;
use serde_json::json;

use super::ClusterArgs;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub mode: BenchMode,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchMode {
    /// Submit N tasks from C concurrent clients; report tasks/s and submit latency.
    Submit(SubmitBench),
}

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
    #[arg(long, default_value_t = 0)]
    pub payload_bytes: usize,
    /// Task name to submit.
    #[arg(long, default_value = "bench.noop")]
    pub name: String,
    /// Queue to submit to.
    #[arg(long, default_value = "bench")]
    pub queue: String,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.mode {
        BenchMode::Submit(submit) => run_submit(submit).await,
    }
}

struct Counters {
    next: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
}

async fn run_submit(args: SubmitBench) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let counters = Arc::new(Counters {
        next: AtomicU64::new(0),
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let payload = vec![b'x'; args.payload_bytes];
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.clients.min(args.tasks) {
        let client = client.clone();
        let counters = counters.clone();
        let spec = pb::TaskSpec {
            name: args.name.clone(),
            queue: args.queue.clone(),
            args: payload.clone(),
            ..Default::default()
        };
        let total = args.tasks;
        let batch = args.batch;
        workers.push(tokio::spawn(async move {
            let mut latencies = new_histogram();
            let mut last_error = None;
            loop {
                let first = counters.next.fetch_add(batch, Ordering::Relaxed);
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
                        counters.done.fetch_add(size, Ordering::Relaxed);
                    }
                    Err(e) => {
                        counters.errors.fetch_add(size, Ordering::Relaxed);
                        last_error = Some(e.to_string());
                    }
                }
            }
            (latencies, last_error)
        }));
    }
    let progress =
        (!args.cluster.json).then(|| tokio::spawn(show_progress(counters.clone(), args.tasks, started)));

    let mut latencies = new_histogram();
    let mut last_error = None;
    for worker in workers {
        let (histogram, error) = worker.await?;
        latencies.add(&histogram)?;
        last_error = last_error.or(error);
    }
    let elapsed = started.elapsed();
    if let Some(progress) = progress {
        progress.abort();
        eprint!("\r\x1b[K");
    }

    let done = counters.done.load(Ordering::Relaxed);
    let errors = counters.errors.load(Ordering::Relaxed);
    let rate = done as f64 / elapsed.as_secs_f64();
    let quantile = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    if args.cluster.json {
        println!(
            "{}",
            json!({
                "mode": "submit", "tasks": done, "clients": args.clients, "batch": args.batch, "errors": errors,
                "elapsed_s": elapsed.as_secs_f64(), "tasks_per_s": rate,
                "latency_ms": {"p50": quantile(0.5), "p90": quantile(0.9), "p99": quantile(0.99), "max": latencies.max() as f64 / 1000.0},
            })
        );
    } else {
        println!(
            "{:<8} {:>9} {:>8} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "MODE",
            "TASKS",
            "CLIENTS",
            "ELAPSED",
            "TASKS/S",
            "P50 MS",
            "P90 MS",
            "P99 MS",
            "MAX MS",
            "ERRORS"
        );
        println!(
            "{:<8} {:>9} {:>8} {:>8.2}s {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>7}",
            "submit",
            done,
            args.clients,
            elapsed.as_secs_f64(),
            rate,
            quantile(0.5),
            quantile(0.9),
            quantile(0.99),
            latencies.max() as f64 / 1000.0,
            errors
        );
    }
    if let Some(error) = last_error {
        eprintln!("bench: {errors} submit(s) failed; last error: {error}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

async fn show_progress(counters: Arc<Counters>, total: u64, started: Instant) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        ticker.tick().await;
        let done = counters.done.load(Ordering::Relaxed);
        let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
        eprint!("\r\x1b[Ksubmitted {done}/{total}  {rate:.0} tasks/s");
    }
}

/// Microsecond latencies from 1 µs to 1 hour, three significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX).max(1)
}
