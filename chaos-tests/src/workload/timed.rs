//! Tasks that depend on cluster time, so that a stepped clock shows: countdowns that must not
//! run early, tasks in a queue nobody serves that must expire on time (neither early nor
//! never), and a rate-limited queue that must keep moving. One producer sends the three in turn.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qraft_proto::{Client, ClientError, pb};

use crate::cluster::{EXPIRING_QUEUE, LIMITED_QUEUE};
use crate::history::{Entry, Recorder, Timing};

/// Submits per second of the timed producer, the three kinds in turn.
pub const TIMED_RATE: u64 = 6;
/// Long enough that a clock step forward of minutes would release it at once.
const COUNTDOWN_MS: u64 = 3_000;
/// Short enough that most of a run's expiring tasks expire while the faults go on.
const EXPIRES_IN_MS: u64 = 4_000;
/// The limited queue's rate: above the two tasks a second it is sent, so it keeps up unless
/// its windows stop rolling over.
const LIMIT_COUNT: u32 = 3;
const LIMIT_PER_MS: u64 = 1_000;

/// The `n`th task of the timed producer: countdown, expiring, limited, in turn.
pub fn timing(n: u64) -> Timing {
    match n % 3 {
        0 => Timing::Countdown {
            countdown_ms: COUNTDOWN_MS,
        },
        1 => Timing::Expiring {
            expires_in_ms: EXPIRES_IN_MS,
        },
        _ => Timing::Limited,
    }
}

/// Gives the spec of a task that runs at once what `timing` asks.
pub fn shape(spec: &mut pb::TaskSpec, timing: Timing) {
    match timing {
        Timing::Now => {}
        Timing::Countdown { countdown_ms } => spec.countdown_ms = countdown_ms,
        Timing::Expiring { expires_in_ms } => {
            spec.queue = EXPIRING_QUEUE.into();
            spec.expires_in_ms = expires_in_ms;
        }
        Timing::Limited => spec.queue = LIMITED_QUEUE.into(),
    }
}

/// Puts the rate limit on the limited queue (before the first fault).
pub async fn set_limit(client: &Client) -> Result<(), ClientError> {
    client
        .set_limit(&format!("queue:{LIMITED_QUEUE}"), LIMIT_COUNT, LIMIT_PER_MS)
        .await
}

/// Every 200 ms, the expired tasks of the queue nobody serves, read from any node; each is
/// recorded the first time it is seen. A replica a moment behind only makes a sighting later,
/// never earlier, so an early expiry cannot hide.
pub async fn watch_expired(client: Client, history: Recorder, stop: Arc<AtomicBool>) {
    let mut seen = BTreeSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let request = pb::ListTasksRequest {
            queue: EXPIRING_QUEUE.into(),
            state: pb::TaskState::Expired as i32,
            // The most one list answers; a run expires a few hundred.
            limit: 10_000,
            linearizable: false,
            ..Default::default()
        };
        let Ok(listed) = client.list_tasks(request).await else {
            continue;
        };
        let t = history.now();
        for task in listed.tasks {
            if seen.insert(task.id.clone()) {
                history.record(&Entry::SeenExpired { t, task_id: task.id });
            }
        }
    }
}
