//! Backoff delays: exponential, capped, with jitter derived from the task id and attempt (never
//! from randomness, so every replica computes the same retry time). Integers only: the same
//! bytes on every replica and every build.

use super::task::{RetryPolicy, TaskId};

/// Delay before retry number `retry` (1 for the first retry): the first delay, grown by the
/// factor (in thousandths, rounded down, at least 1 ms) once per retry after the first, up to
/// the cap. `retry` is at most the task's retries (1000), which bounds the loop.
pub fn backoff_ms(policy: &RetryPolicy, id: TaskId, retry: u32) -> u64 {
    let factor = u128::from(policy.factor_permille());
    let cap = u128::from(policy.max_delay_ms);
    let mut delay = u128::from(policy.initial_delay_ms).min(cap);
    if factor > 1000 {
        for _ in 1..retry {
            if delay >= cap {
                break;
            }
            // Rounded down, but growing by at least 1 ms: a 1 ms delay still grows.
            delay = (delay * factor / 1000).max(delay + 1).min(cap);
        }
    }
    let delay = u64::try_from(delay).unwrap_or(policy.max_delay_ms);
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
            factor_permille: Some(2_000),
        }
    }

    #[test]
    fn delays_grow_in_integer_steps_not_by_a_power() {
        let id = TaskId::generate();
        let policy = RetryPolicy {
            initial_delay_ms: 3,
            factor: 1.5,
            factor_permille: Some(1_500),
            max_delay_ms: 1_000_000,
            jitter: false,
            ..RetryPolicy::default()
        };
        // Each step rounds down: 3, 4 (4.5), 6, 9, 13. A power would give 10 and 15, and how a
        // float power rounds may differ from build to build.
        let delays: Vec<u64> = (1..=5).map(|n| backoff_ms(&policy, id, n)).collect();
        assert_eq!(delays, vec![3, 4, 6, 9, 13]);
        let legacy = RetryPolicy {
            factor_permille: None,
            ..policy
        };
        assert_eq!(
            backoff_ms(&legacy, id, 5),
            13,
            "an older record derives the same factor"
        );
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
        p.factor_permille = Some(100_000);
        assert_eq!(backoff_ms(&p, id, 400), 10_000);
        assert_eq!(backoff_ms(&p, id, u32::MAX), 10_000);
    }
}
