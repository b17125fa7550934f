//! The load a run puts on the cluster while the nemesis works: producers that submit uniquely
//! keyed tasks (resending calls of unknown outcome with the same key), remote workers that run
//! and acknowledge them beside the nodes' own pools, a producer of workflows (`flows`), and a
//! sampler that records which node says it leads which term. Everything goes into the history.
//!
//! - `flows`: chords and chains, and the schedule that fires through the whole run.
//! - `timed`: countdowns, expiring tasks and a rate-limited queue, which a stepped clock would
//!   run early, expire early or stall.

pub mod flows;
pub mod timed;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qraft_proto::{Client, ClientError, Credentials, RetryPolicy, pb};
use tokio::task::JoinHandle;

use crate::cluster::{QUEUE, TASK};
use crate::history::{Entry, Recorder, Timing};

/// Submits per second per producer: enough to see a failover to the millisecond, few enough
/// that a run's tasks fit one final listing.
pub const PRODUCER_RATE: u64 = 20;
/// Attempt timeout of a task: with the grace the node adds, a lease lost with its worker runs
/// out after about 7 s and the task is handed out again.
const TASK_TIMEOUT_MS: u64 = 2_000;

/// Keyed submits and reads go to a second node after this long without an answer: a frozen or
/// cut-off leader answers nothing, and the 1 s attempt timeout would otherwise be a producer's
/// failover time. A little under a failover here (about 300 ms), so the second node forwards
/// the call to the next leader as soon as there is one.
const HEDGE_AFTER: Duration = Duration::from_millis(250);

/// The running load; `stop` ends it and waits. Dropped without `stop` (a run that failed
/// half-way), it aborts its tasks, so nothing of it reaches the next run's cluster.
pub struct Workload {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Workload {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Retries inside one call are short: a producer records an unknown outcome and resends the key
/// itself, so the history shows every attempt.
fn call_policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 6,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        deadline: Duration::from_secs(3),
    }
}

impl Workload {
    pub fn start(
        addrs: &[String],
        credentials: &Credentials,
        producers: u64,
        remote_workers: u64,
        history: &Recorder,
    ) -> anyhow::Result<Workload> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for process in 0..producers {
            // Each producer starts at a different node, so writes arrive everywhere.
            let mut rotated = addrs.to_vec();
            rotated.rotate_left(process as usize % addrs.len().max(1));
            let client = Client::with_credentials(&rotated, credentials)?
                .with_timeout(Duration::from_secs(1))
                .with_hedge(HEDGE_AFTER)
                .with_retry(call_policy());
            let producer = Producer {
                process,
                rate: PRODUCER_RATE,
                timing: |_| Timing::Now,
            };
            tasks.push(tokio::spawn(produce(
                producer,
                client,
                history.clone(),
                stop.clone(),
            )));
        }
        let timed = Producer {
            process: producers,
            rate: timed::TIMED_RATE,
            timing: timed::timing,
        };
        let client = Client::with_credentials(addrs, credentials)?
            .with_timeout(Duration::from_secs(1))
            .with_hedge(HEDGE_AFTER)
            .with_retry(call_policy());
        tasks.push(tokio::spawn(produce(
            timed,
            client.clone(),
            history.clone(),
            stop.clone(),
        )));
        tasks.push(tokio::spawn(timed::watch_expired(
            client,
            history.clone(),
            stop.clone(),
        )));
        for n in 0..remote_workers {
            let client = Client::with_credentials(addrs, credentials)?
                .with_timeout(Duration::from_secs(1))
                .with_retry(call_policy());
            tasks.push(tokio::spawn(work(
                format!("remote-{n}"),
                client,
                history.clone(),
                stop.clone(),
            )));
        }
        let client = Client::with_credentials(addrs, credentials)?
            .with_timeout(Duration::from_secs(1))
            .with_hedge(HEDGE_AFTER)
            .with_retry(call_policy());
        tasks.push(tokio::spawn(flows::produce(
            client,
            history.clone(),
            stop.clone(),
        )));
        let client = Client::with_credentials(addrs, credentials)?.with_timeout(Duration::from_millis(300));
        tasks.push(tokio::spawn(sample_leaders(
            client,
            history.clone(),
            stop.clone(),
        )));
        Ok(Workload { stop, tasks })
    }

    /// Stops producing, working and sampling, and waits for every task to finish its call.
    pub async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

fn spec(key: &str, timing: Timing) -> pb::TaskSpec {
    let mut spec = pb::TaskSpec {
        name: TASK.into(),
        queue: QUEUE.into(),
        args: format!(r#"{{"key":"{key}"}}"#).into_bytes(),
        idempotency_key: key.to_owned(),
        timeout_ms: TASK_TIMEOUT_MS,
        // Several deliveries may be lost to kills; the task must still finish.
        max_retries: 10,
        retry_delay_ms: Some(200),
        ..Default::default()
    };
    timed::shape(&mut spec, timing);
    spec
}

/// A producer's number, pace, and what its `n`th task asks of time.
struct Producer {
    process: u64,
    /// Submits per second.
    rate: u64,
    timing: fn(u64) -> Timing,
}

/// Submits `p<process>-<n>` for n = 1, 2, ...; a key whose outcome is unknown is sent again
/// (same key, so it cannot be stored twice) until it is answered or the run ends.
async fn produce(producer: Producer, client: Client, history: Recorder, stop: Arc<AtomicBool>) {
    let Producer {
        process,
        rate,
        timing,
    } = producer;
    let mut tick = tokio::time::interval(Duration::from_millis(1_000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0;
    let mut pending: Option<(String, Timing)> = None;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let (key, timing) = pending.take().unwrap_or_else(|| {
            n += 1;
            (format!("p{process}-{n}"), timing(n))
        });
        let node = client
            .leader_hint()
            .or_else(|| client.addrs().first().cloned())
            .unwrap_or_default();
        history.record(&Entry::Invoke {
            t: history.now(),
            process,
            key: key.clone(),
            node,
            timing,
        });
        let answer = client.submit(spec(&key, timing)).await;
        let t = history.now();
        match answer {
            Ok(response) => history.record(&Entry::Ok {
                t,
                process,
                key,
                task_id: response.id,
            }),
            Err(error) if certainly_not_applied(&error) => history.record(&Entry::Fail {
                t,
                process,
                key,
                error: error.to_string(),
            }),
            Err(error) => {
                history.record(&Entry::Unknown {
                    t,
                    process,
                    key: key.clone(),
                    error: error.to_string(),
                });
                pending = Some((key, timing));
            }
        }
    }
}

/// Only an answer that proves nothing was stored counts as a failure; everything else, timeouts
/// included, may have been applied.
fn certainly_not_applied(error: &ClientError) -> bool {
    matches!(error, ClientError::InvalidArgument(_))
}

/// Longer than the default lease (30 s) that a task acked with an unknown outcome may still
/// hold this worker's name for.
const UNANSWERED_HELD_FOR: Duration = Duration::from_secs(60);

/// A remote worker: lease, record the execution, ack, record whether the ack was accepted.
async fn work(worker: String, client: Client, history: Recorder, stop: Arc<AtomicBool>) {
    let registration = pb::RegisterRequest {
        worker_id: worker.clone(),
        node: "chaos-harness".into(),
        queues: vec![QUEUE.into()],
        names: vec![TASK.into()],
        concurrency: 4,
    };
    let mut registered = false;
    let mut last_heartbeat = tokio::time::Instant::now();
    // After a lease whose answer never came, the next one asks for what it carried; so does
    // the first. Tasks whose ack had an unknown outcome may still be leased to this worker:
    // it holds them, until their lease has surely run out.
    let mut recover = true;
    let mut unanswered: Vec<(String, tokio::time::Instant)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if !registered {
            registered = client.register_worker(registration.clone()).await.is_ok();
            if !registered {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        // A worker silent for a minute is dropped from the registry; one refused heartbeat
        // (it was dropped while cut off) means registering again.
        if last_heartbeat.elapsed() >= Duration::from_secs(5) {
            last_heartbeat = tokio::time::Instant::now();
            if let Err(ClientError::NotFound(_) | ClientError::InvalidArgument(_)) =
                client.heartbeat(&worker, 0).await
            {
                registered = false;
                continue;
            }
        }
        unanswered.retain(|(_, at)| at.elapsed() < UNANSWERED_HELD_FOR);
        let request = pb::LeaseRequest {
            worker_id: worker.clone(),
            queues: vec![QUEUE.into()],
            names: vec![TASK.into()],
            max: 4,
            lease_ms: 0,
            wait_ms: 0,
            recover,
            held: unanswered.iter().map(|(id, _)| id.clone()).collect(),
        };
        let leased = match client.lease(request).await {
            Ok(leased) => leased,
            Err(_) => {
                recover = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        recover = false;
        if leased.is_empty() {
            // Nothing ready: the pools are faster. Look again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        for task in leased {
            history.record(&Entry::Executed {
                t: history.now(),
                task_id: task.id.clone(),
                worker: worker.clone(),
                attempt: task.attempts,
            });
            let answer = client.ack(&task.id, task.delivery, Vec::new()).await;
            let accepted = match answer {
                Ok(_) => Some(true),
                Err(ClientError::Unknown { .. }) => {
                    unanswered.push((task.id.clone(), tokio::time::Instant::now()));
                    None
                }
                Err(_) => Some(false),
            };
            if let Some(accepted) = accepted {
                history.record(&Entry::Acked {
                    t: history.now(),
                    task_id: task.id,
                    worker: worker.clone(),
                    delivery: task.delivery,
                    accepted,
                });
            }
        }
    }
}

/// Every 100 ms, each node's own word on whether it leads; a (node, term) is recorded once.
async fn sample_leaders(client: Client, history: Recorder, stop: Arc<AtomicBool>) {
    let mut seen = std::collections::BTreeSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        for (_, answer) in client.cluster_status().await {
            let Ok(status) = answer else {
                continue;
            };
            if status.role == pb::NodeRole::Leader as i32 && seen.insert((status.id, status.term)) {
                history.record(&Entry::Leader {
                    t: history.now(),
                    node: status.id,
                    term: status.term,
                });
            }
        }
    }
}
