//! `qraft demo`: a producer for watching the console. It submits a mix like a real application's
//! at a steady rate: quick tasks and slow ones, failures that succeed on retry and some that end
//! as dead letters, tasks scheduled for later, four queues and several priorities. It stops by
//! itself after `--for`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use qraft_proto::pb;
use rand::Rng;

use super::ClusterArgs;
use qraft_node::config::parse_duration_ms;

/// The queues the demo uses; a worker pool must consume them for the tasks to run.
pub const DEMO_QUEUES: &str = "default,emails,reports,billing";

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Tasks submitted per second.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rate: u32,
    /// Stop after this long, e.g. 90s, 30m.
    #[arg(long = "for", default_value = "30m", value_parser = parse_duration_ms, value_name = "DURATION")]
    pub duration_ms: u64,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let client = args.cluster.client()?;
    let deadline = Instant::now() + Duration::from_millis(args.duration_ms);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / args.rate);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut report = tokio::time::interval(Duration::from_secs(10));
    let (mut submitted, mut refused) = (0u64, 0u64);
    println!(
        "qraft demo: submitting {} tasks/s to queues {DEMO_QUEUES} for {}",
        args.rate,
        humantime::format_duration(Duration::from_millis(args.duration_ms))
    );
    // One signal future for the whole run: a signal that arrives while a submit waits (for a
    // new leader, or a cluster that does not answer) ends the demo there and then.
    let stop = qraft_node::node::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = report.tick() => {
                println!("qraft demo: {submitted} submitted, {refused} refused so far");
                continue;
            }
            () = &mut stop => break,
        }
        if Instant::now() >= deadline {
            break;
        }
        let spec = pick(&mut rand::rng());
        let outcome = tokio::select! {
            outcome = client.submit(spec) => outcome,
            () = &mut stop => break,
        };
        match outcome {
            Ok(_) => submitted += 1,
            Err(e) => {
                refused += 1;
                // During a failover a submit may wait for the new leader; the demo goes on.
                tracing::warn!(error = %e, "demo submit failed");
            }
        }
    }
    println!("qraft demo: done: {submitted} submitted, {refused} refused");
    Ok(ExitCode::SUCCESS)
}

/// One task of the mix, with the odds of each kind in percent.
fn pick(rng: &mut impl Rng) -> pb::TaskSpec {
    // Most tasks run at priority 0; a few are urgent.
    let priority = match rng.random_range(0..10) {
        0 => 9,
        1 | 2 => 5,
        _ => 0,
    };
    let task = |name: &str, queue: &str, args: String| pb::TaskSpec {
        name: name.into(),
        queue: queue.into(),
        args: args.into_bytes(),
        priority,
        // Keyed, so a submit retried across a failover is not stored twice.
        idempotency_key: format!("demo-{}", ulid::Ulid::new()),
        ..Default::default()
    };
    let roll = rng.random_range(0..100);
    match roll {
        0..35 => task("builtin.noop", "default", "{}".into()),
        35..50 => {
            let user = rng.random_range(1..10_000);
            task(
                "builtin.echo",
                "emails",
                format!(r#"{{"to":"user{user}@example.com"}}"#),
            )
        }
        50..65 => {
            let ms = rng.random_range(500..4_000);
            let mut spec = task("builtin.sleep", "reports", format!(r#"{{"ms":{ms}}}"#));
            spec.timeout_ms = 10_000;
            spec
        }
        65..75 => {
            let ms = rng.random_range(20..150);
            task("builtin.cpu", "reports", format!(r#"{{"ms":{ms}}}"#))
        }
        75..85 => {
            // Fails once or twice, then succeeds on a retry.
            let times = rng.random_range(1..=2);
            let mut spec = task("builtin.fail", "emails", format!(r#"{{"times":{times}}}"#));
            spec.max_retries = 3;
            spec.retry_delay_ms = Some(1_000);
            spec
        }
        85..90 => {
            // Keeps failing: retried once, then a dead letter.
            let mut spec = task("builtin.fail", "billing", r#"{"times":99}"#.into());
            spec.max_retries = 1;
            spec.retry_delay_ms = Some(2_000);
            spec
        }
        _ => {
            let mut spec = task("builtin.noop", "default", r#"{"scheduled":true}"#.into());
            spec.countdown_ms = rng.random_range(5_000..60_000);
            spec
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_covers_every_kind_and_queue() {
        let mut rng = rand::rng();
        let specs: Vec<pb::TaskSpec> = (0..2_000).map(|_| pick(&mut rng)).collect();
        for queue in DEMO_QUEUES.split(',') {
            assert!(
                specs.iter().any(|s| s.queue == queue),
                "no task for queue {queue}"
            );
        }
        assert!(specs.iter().any(|s| s.countdown_ms > 0), "nothing scheduled");
        assert!(
            specs
                .iter()
                .any(|s| s.max_retries == 1 && s.name == "builtin.fail"),
            "nothing dies"
        );
        assert!(specs.iter().any(|s| s.max_retries == 3), "nothing retries");
        assert!(specs.iter().any(|s| s.priority == 9), "nothing urgent");
        assert!(specs.iter().all(|s| !s.idempotency_key.is_empty()));
    }
}
