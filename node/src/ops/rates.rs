//! Per-queue rates over a sliding window: the replicated totals sampled once a second on this
//! node, and the difference across the window divided by its length.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use crate::queue::QueueTotals;
use crate::raft::Replica;

/// The window rates are averaged over.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Per second over the window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QueueRates {
    pub enqueued: f64,
    pub completed: f64,
    pub failed: f64,
}

type Sample = (Instant, BTreeMap<String, QueueTotals>);

/// Shared by the admin service and its sampling task; the task stops once the service is gone.
#[derive(Clone)]
pub struct RateTracker {
    samples: Arc<Mutex<VecDeque<Sample>>>,
}

impl RateTracker {
    pub fn start(replica: Replica) -> RateTracker {
        let tracker = RateTracker {
            samples: Arc::default(),
        };
        let weak = Arc::downgrade(&tracker.samples);
        tokio::spawn(sample(replica, weak));
        tracker
    }

    /// Each queue's rates, from the oldest sample inside the window to the newest; an empty map
    /// until two samples exist.
    pub fn rates(&self) -> BTreeMap<String, QueueRates> {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let (Some(newest), Some(oldest)) = (samples.back(), samples.front()) else {
            return BTreeMap::new();
        };
        rates_between(oldest, newest)
    }
}

async fn sample(replica: Replica, samples: Weak<Mutex<VecDeque<Sample>>>) {
    let mut interval = tokio::time::interval(SAMPLE_EVERY);
    loop {
        interval.tick().await;
        let Some(samples) = samples.upgrade() else {
            return;
        };
        let totals = replica.shared().queue().totals().clone();
        let now = Instant::now();
        let mut samples = samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.push_back((now, totals));
        while samples
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
        {
            samples.pop_front();
        }
    }
}

fn rates_between(oldest: &Sample, newest: &Sample) -> BTreeMap<String, QueueRates> {
    let seconds = newest.0.duration_since(oldest.0).as_secs_f64();
    if seconds <= 0.0 {
        return BTreeMap::new();
    }
    let per_second = |new: u64, old: u64| new.saturating_sub(old) as f64 / seconds;
    newest
        .1
        .iter()
        .map(|(queue, new)| {
            let old = oldest.1.get(queue).copied().unwrap_or_default();
            let rates = QueueRates {
                enqueued: per_second(new.enqueued, old.enqueued),
                completed: per_second(new.completed, old.completed),
                failed: per_second(new.failed, old.failed),
            };
            (queue.clone(), rates)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(enqueued: u64, completed: u64, failed: u64) -> QueueTotals {
        QueueTotals {
            enqueued,
            completed,
            failed,
        }
    }

    #[test]
    fn rates_are_the_difference_over_the_time_between_samples() {
        let start = Instant::now();
        let oldest = (start, BTreeMap::from([("a".to_string(), totals(100, 50, 5))]));
        let newest = (
            start + Duration::from_secs(4),
            BTreeMap::from([
                ("a".to_string(), totals(140, 70, 9)),
                ("new".to_string(), totals(8, 0, 0)),
            ]),
        );
        let rates = rates_between(&oldest, &newest);
        assert_eq!(
            rates["a"],
            QueueRates {
                enqueued: 10.0,
                completed: 5.0,
                failed: 1.0
            }
        );
        assert_eq!(
            rates["new"].enqueued, 2.0,
            "a queue born inside the window counts from zero"
        );
        assert!(rates_between(&oldest, &oldest).is_empty(), "no time, no rate");
    }
}
