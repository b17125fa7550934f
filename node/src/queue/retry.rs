//! Backoff delays: exponential, capped, with jitter derived from the task id and attempt (never
//! from randomness, so every replica computes the same retry time).

use super::task::{RetryPolicy, TaskId};

/// Delay before retry number `retry` (1 for the first retry).
pub fn backoff_ms(policy: &RetryPolicy, id: TaskId, retry: u32) -> u64 {
    let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
    let raw = policy.initial_delay_ms as f64 * policy.factor.powi(exponent);
    let delay = if raw.is_finite() {
        (raw as u64).min(policy.max_delay_ms)
    } else {
        policy.max_delay_ms
    };
    if !policy.jitter || delay < 2 {
        return delay;
    }
    let half = delay / 2;
    half + mix(id.seed() ^ u64::from(retry)) % (delay - half + 1)
}

/// splitmix64: a well-spread hash of one number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(jitter: bool) -> RetryPolicy {
        RetryPolicy {
            max_retries: 10,
            initial_delay_ms: 1_000,
            factor: 2.0,
            max_delay_ms: 10_000,
            jitter,
        }
    }

    #[test]
    fn exponential_and_capped_without_jitter() {
        let id = TaskId::generate();
        let delays: Vec<u64> = (1..=6).map(|n| backoff_ms(&policy(false), id, n)).collect();
        assert_eq!(delays, vec![1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    }

    #[test]
    fn jitter_is_deterministic_and_within_half_to_full() {
        let id = TaskId::generate();
        for retry in 1..=8 {
            let plain = backoff_ms(&policy(false), id, retry);
            let jittered = backoff_ms(&policy(true), id, retry);
            assert_eq!(jittered, backoff_ms(&policy(true), id, retry));
            assert!(
                (plain / 2..=plain).contains(&jittered),
                "{jittered} outside [{}, {plain}]",
                plain / 2
            );
        }
    }

    #[test]
    fn huge_exponents_do_not_overflow() {
        let id = TaskId::generate();
        let mut p = policy(false);
        p.factor = 10.0;
        assert_eq!(backoff_ms(&p, id, 400), 10_000);
    }
}
