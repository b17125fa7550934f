//! [`Stage`]: a latency histogram that is exported at `/metrics` and also read back whole, for
//! `NodeStatus` and so for `qraft bench --breakdown`, which subtracts two readings to time one
//! run. (The Prometheus client's own histogram cannot be read back.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bound of the first bucket, in seconds.
pub const FIRST_BOUND_SECONDS: f64 = 0.000_01;
/// Each bucket's bound is the previous one's times this (2^(1/3): a reading is within 26%).
pub const FACTOR: f64 = 1.259_921_049_894_873_2;
/// Buckets with a bound; one more holds what is past the last (about 21 s).
pub const BUCKETS: usize = 64;

/// Durations counted in buckets of exponentially growing bounds. Clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct Stage(Arc<Counts>);

#[derive(Debug)]
struct Counts {
    buckets: [AtomicU64; BUCKETS + 1],
    sum_nanos: AtomicU64,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

/// A stage's counts at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reading {
    /// Per bucket (not cumulative); the last is past every bound.
    pub buckets: Vec<u64>,
    pub sum_seconds: f64,
}

impl Stage {
    pub fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        self.0.buckets[bucket_of(seconds)].fetch_add(1, Ordering::Relaxed);
        self.0
            .sum_nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    }

    pub fn observe_since(&self, started: Instant) {
        self.observe(started.elapsed().as_secs_f64());
    }

    pub fn read(&self) -> Reading {
        Reading {
            buckets: self.0.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
            sum_seconds: self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// Upper bound of bucket `index`, in seconds.
pub fn bound(index: usize) -> f64 {
    FIRST_BOUND_SECONDS * FACTOR.powi(index as i32)
}

fn bucket_of(seconds: f64) -> usize {
    if seconds <= FIRST_BOUND_SECONDS {
        return 0;
    }
    let index = ((seconds / FIRST_BOUND_SECONDS).log2() * 3.0).ceil() as usize;
    // Rounding at a bound may land one off; the bounds themselves decide.
    let index = index.min(BUCKETS);
    if index > 0 && seconds <= bound(index - 1) {
        index - 1
    } else if index < BUCKETS && seconds > bound(index) {
        index + 1
    } else {
        index
    }
}

impl Reading {
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// What happened between `earlier` and this reading.
    pub fn since(&self, earlier: &Reading) -> Reading {
        Reading {
            buckets: self
                .buckets
                .iter()
                .enumerate()
                .map(|(i, now)| now.saturating_sub(earlier.buckets.get(i).copied().unwrap_or(0)))
                .collect(),
            sum_seconds: (self.sum_seconds - earlier.sum_seconds).max(0.0),
        }
    }

    /// Adds another reading's counts (another node's, say).
    pub fn add(&mut self, other: &Reading) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.sum_seconds += other.sum_seconds;
    }

    /// The bound of the bucket holding the `q` quantile (0 to 1), in seconds: an upper
    /// estimate within one bucket. `None` without observations; past the last bound, infinity.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
        let mut seen = 0;
        for (index, in_bucket) in self.buckets.iter().enumerate() {
            seen += in_bucket;
            if seen >= rank {
                return Some(if index < BUCKETS {
                    bound(index)
                } else {
                    f64::INFINITY
                });
            }
        }
        Some(f64::INFINITY)
    }

    pub fn mean(&self) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| self.sum_seconds / count as f64)
    }
}

impl TypedMetric for Stage {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Stage {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let reading = self.read();
        let buckets: Vec<(f64, u64)> = reading
            .buckets
            .iter()
            .enumerate()
            .map(|(index, count)| (if index < BUCKETS { bound(index) } else { f64::MAX }, *count))
            .collect();
        encoder.encode_histogram::<NoLabelSet>(reading.sum_seconds, reading.count(), &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_time_lands_in_the_bucket_whose_bounds_hold_it() {
        for seconds in [
            0.0,
            0.000_001,
            0.000_01,
            0.000_010_1,
            0.000_5,
            0.001,
            0.013,
            1.0,
            20.0,
        ] {
            let index = bucket_of(seconds);
            assert!(seconds <= bound(index), "{seconds} above bucket {index}");
            if index > 0 {
                assert!(seconds > bound(index - 1), "{seconds} fits bucket {}", index - 1);
            }
        }
        assert_eq!(bucket_of(1e6), BUCKETS, "past every bound");
    }

    #[test]
    fn readings_subtract_add_and_give_quantiles() {
        let stage = Stage::default();
        stage.observe(0.5);
        let before = stage.read();
        for _ in 0..98 {
            stage.observe(0.001);
        }
        stage.observe(0.1);
        stage.observe(100.0);
        let run = stage.read().since(&before);
        assert_eq!(run.count(), 100);
        assert!((run.sum_seconds - 100.198).abs() < 1e-6, "{}", run.sum_seconds);
        let p50 = run.quantile(0.5).expect("p50");
        assert!((0.001..0.001 * FACTOR).contains(&p50), "{p50}");
        let p99 = run.quantile(0.99).expect("p99");
        assert!((0.1..0.1 * FACTOR).contains(&p99), "{p99}");
        assert_eq!(run.quantile(1.0), Some(f64::INFINITY));
        let mut both = run.clone();
        both.add(&run);
        assert_eq!(both.count(), 200);
        assert_eq!(both.quantile(0.5), run.quantile(0.5));
        assert_eq!(Reading::default().quantile(0.5), None);
    }
}
