//! The figures of one bench run, printed as a table or as JSON, and the live progress line.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

pub struct Report {
    pub mode: &'static str,
    /// Tasks that made it (submitted, or finished for the modes that wait).
    pub tasks: u64,
    pub clients: u64,
    pub batch: u64,
    /// The offered rate, for modes that pace themselves.
    pub offered_per_s: Option<u64>,
    pub elapsed: Duration,
    pub errors: u64,
    pub latencies: Histogram<u64>,
    pub last_error: Option<String>,
}

impl Report {
    /// An empty report; the mode fills in what it measured.
    pub fn new(mode: &'static str, clients: u64, batch: u64) -> Report {
        Report {
            mode,
            tasks: 0,
            clients,
            batch,
            offered_per_s: None,
            elapsed: Duration::ZERO,
            errors: 0,
            latencies: new_histogram(),
            last_error: None,
        }
    }

    fn rate(&self) -> f64 {
        self.tasks as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn ms(&self, quantile: f64) -> f64 {
        self.latencies.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// Prints the report and says whether the run went without errors.
    pub fn print(&self, as_json: bool) -> ExitCode {
        if as_json {
            println!(
                "{}",
                json!({
                    "mode": self.mode, "tasks": self.tasks, "clients": self.clients, "batch": self.batch,
                    "offered_per_s": self.offered_per_s, "errors": self.errors,
                    "elapsed_s": self.elapsed.as_secs_f64(), "tasks_per_s": self.rate(),
                    "latency_ms": {
                        "p50": self.ms(0.5), "p90": self.ms(0.9), "p99": self.ms(0.99),
                        "max": self.latencies.max() as f64 / 1000.0,
                    },
                    "last_error": self.last_error,
                })
            );
        } else {
            println!(
                "{:<8} {:>9} {:>8} {:>6} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>7}",
                "MODE",
                "TASKS",
                "CLIENTS",
                "BATCH",
                "ELAPSED",
                "TASKS/S",
                "P50 MS",
                "P90 MS",
                "P99 MS",
                "MAX MS",
                "ERRORS"
            );
            println!(
                "{:<8} {:>9} {:>8} {:>6} {:>8.2}s {:>10.0} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7}",
                self.mode,
                self.tasks,
                self.clients,
                self.batch,
                self.elapsed.as_secs_f64(),
                self.rate(),
                self.ms(0.5),
                self.ms(0.9),
                self.ms(0.99),
                self.latencies.max() as f64 / 1000.0,
                self.errors
            );
        }
        match &self.last_error {
            Some(error) => {
                eprintln!("bench {}: {} error(s); last: {error}", self.mode, self.errors);
                ExitCode::FAILURE
            }
            None => ExitCode::SUCCESS,
        }
    }
}

/// Microsecond latencies from 1 µs to 1 hour, three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant histogram bounds are valid")
}

pub fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Rewrites one status line on stderr every half second until aborted.
pub async fn show_progress(started: Instant, line: impl Fn(f64) -> String) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        ticker.tick().await;
        eprint!("\r\x1b[K{}", line(started.elapsed().as_secs_f64().max(0.001)));
    }
}

/// Ends the progress line, if there is one.
pub fn clear_progress(progress: Option<tokio::task::JoinHandle<()>>) {
    if let Some(progress) = progress {
        progress.abort();
        eprint!("\r\x1b[K");
    }
}
