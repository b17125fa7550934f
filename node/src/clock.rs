//! Time, and which clock each part of the node may use.
//!
//! - **Apply** reads only the leader's stamp on each entry (cluster time, `QueueState::now_ms`),
//!   never a clock of its own.
//! - **The leader** stamps entries with a [`LeaderClock`]: its monotonic clock, pulled toward its
//!   wall clock by at most a tenth of the time that passes (while the two are within
//!   [`MAX_SKEW_MS`]), and catching up with the wall clock once per term, right after its peers
//!   have confirmed that clock (`raft/control/observer.rs`). A wall clock stepped by minutes (NTP, a
//!   resumed VM) neither drags cluster time with it nor slows or stops it, and a leader whose
//!   clock disagrees with its peers' hands leadership over.
//! - **Everything else** (the CLI, the API checking an eta a client gave, the metrics) uses
//!   [`wall_ms`].

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The wall clock, in ms since the Unix epoch.
pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A wall clock against cluster time, signed, in ms; 0 before the cluster stamped anything.
pub fn skew_ms(wall_ms: u64, cluster_ms: u64) -> i64 {
    if cluster_ms == 0 {
        return 0;
    }
    i64::try_from(i128::from(wall_ms) - i128::from(cluster_ms)).unwrap_or(i64::MAX)
}

/// How fast a leader's stamps may drift toward its wall clock: in thousandths of the time that
/// passes (100: at most 10% faster or slower than real time).
pub const MAX_SLEW_PERMILLE: u64 = 100;
/// How far a leader's wall clock may be from its peers' before it refuses to lead.
pub const MAX_SKEW_MS: u64 = 10_000;

/// The clock a leader stamps entries with.
#[derive(Debug, Default)]
pub struct LeaderClock {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The term the rest belongs to; a new term starts afresh from cluster time.
    term: u64,
    /// The last stamp given, in µs, and when: kept finer than the ms stamps so that stamps given
    /// every millisecond or so lose nothing to rounding, and the slew toward the wall clock
    /// (a tenth of the time since the last stamp) is not rounded away to nothing.
    anchor: Option<(Instant, u64)>,
    /// The peers confirmed this node's wall clock in this term.
    confirmed: bool,
    /// The next stamp may jump to the wall clock: only the first one after the confirmation, so
    /// a clock stepped later in the term is slewed toward, never followed.
    may_catch_up: bool,
    /// The highest cluster time this node has applied, and when it first saw it (kept across
    /// terms): a new term goes on from there by the monotonic time since, so the time the
    /// cluster spent electing a leader is not lost before the peers confirm the wall clock.
    seen: Option<(u64, Instant)>,
}

impl LeaderClock {
    /// The stamp for the next entry in `term`; `cluster_ms` is the cluster time this node has
    /// applied. Never below it, never below an earlier stamp.
    pub fn stamp(&self, term: u64, cluster_ms: u64) -> u64 {
        self.read(term, cluster_ms, Instant::now(), wall_ms(), true)
    }

    /// The stamp an entry would get now, without giving one: what due timers are compared with.
    pub fn peek(&self, term: u64, cluster_ms: u64) -> u64 {
        self.read(term, cluster_ms, Instant::now(), wall_ms(), false)
    }

    /// This node has applied cluster time `cluster_ms` (every node calls this as it applies).
    pub fn observe(&self, cluster_ms: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.observe(cluster_ms, Instant::now());
    }

    /// The peers agree with this node's wall clock in `term`: stamps may follow it from now on.
    pub fn confirm(&self, term: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.term == term && !state.confirmed {
            state.confirmed = true;
            state.may_catch_up = true;
        }
    }

    fn read(&self, term: u64, cluster_ms: u64, now: Instant, wall: u64, give: bool) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.observe(cluster_ms, now);
        if state.term != term {
            *state = State {
                term,
                seen: state.seen,
                ..State::default()
            };
        }
        // A cluster that never stamped anything starts from the wall clock; otherwise a new term
        // goes on from the last cluster time this node saw, by the monotonic time since.
        let estimate = match state.seen {
            _ if cluster_ms == 0 => wall,
            Some((seen_ms, at)) => seen_ms.saturating_add(since_ms(at, now)),
            None => cluster_ms,
        };
        // That estimate only ever lags real time: an entry is seen after it was stamped, and
        // after a failover the old leader's last entries are applied only once this node leads.
        // A wall clock a little ahead of it is the better start (the clock check that follows
        // confirms it, or hands leadership over); were stamps to start behind and catch up at
        // the check, the countdowns stamped in between would run early by the lag.
        let start = if wall >= estimate && wall - estimate <= MAX_SKEW_MS {
            wall
        } else {
            estimate
        };
        let (at, base) = state.anchor.unwrap_or((now, us(start)));
        let elapsed = since_us(at, now);
        let monotonic = base.saturating_add(elapsed);
        let wall = us(wall);
        let mut stamp = monotonic;
        if state.confirmed {
            // Right after the peers confirmed the wall clock, stamps catch up with it at once:
            // the time the cluster spent without a leader (or down) is not lost for good.
            if state.may_catch_up && wall > monotonic {
                stamp = wall;
            } else if wall.abs_diff(monotonic) <= us(MAX_SKEW_MS) {
                let bound = elapsed.saturating_mul(MAX_SLEW_PERMILLE) / 1000;
                stamp = wall.clamp(monotonic.saturating_sub(bound), monotonic.saturating_add(bound));
            }
            // A wall clock further than that from the stamps was stepped since the peers
            // confirmed it (the next clock check will say whether this node may go on leading):
            // it is not followed, not even slowly, or cluster time would run a tenth fast or
            // slow for as long as the step lasts.
        }
        let stamp = stamp.max(us(cluster_ms)).max(base);
        if give {
            state.anchor = Some((now, stamp));
            if state.confirmed {
                state.may_catch_up = false;
            }
        }
        stamp / 1000
    }
}

impl State {
    fn observe(&mut self, cluster_ms: u64, now: Instant) {
        if cluster_ms > 0 && self.seen.is_none_or(|(seen_ms, _)| cluster_ms > seen_ms) {
            self.seen = Some((cluster_ms, now));
        }
    }
}

fn since_ms(at: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(at).as_millis()).unwrap_or(u64::MAX)
}

fn since_us(at: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(at).as_micros()).unwrap_or(u64::MAX)
}

fn us(ms: u64) -> u64 {
    ms.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const T0: u64 = 1_700_000_000_000;

    /// Stamps every `step` of monotonic time while the wall clock reads `wall(i)`.
    fn stamps(clock: &LeaderClock, start: Instant, step: u64, n: u64, wall: impl Fn(u64) -> u64) -> Vec<u64> {
        (1..=n)
            .map(|i| {
                let now = start + Duration::from_millis(i * step);
                clock.read(1, T0, now, wall(i * step), true)
            })
            .collect()
    }

    #[test]
    fn a_wall_clock_drifting_ahead_pulls_stamps_by_a_tenth_at_most() {
        let clock = LeaderClock::default();
        let start = Instant::now();
        assert_eq!(clock.read(1, T0, start, T0, true), T0);
        clock.confirm(1);
        assert_eq!(
            clock.read(1, T0, start, T0, true),
            T0,
            "confirmed on time: nothing to catch up"
        );
        clock.confirm(1);
        // Then the wall clock runs five seconds ahead.
        let out = stamps(&clock, start, 1_000, 10, |t| T0 + t + 5_000);
        assert_eq!(out[0], T0 + 1_100);
        for pair in out.windows(2) {
            assert_eq!(pair[1] - pair[0], 1_100, "10% faster, not five seconds: {pair:?}");
        }
    }

    #[test]
    fn a_wall_clock_stepped_by_minutes_is_not_followed_at_all() {
        for step in [600_000, -600_000] {
            let clock = LeaderClock::default();
            let start = Instant::now();
            clock.read(1, T0, start, T0, true);
            clock.confirm(1);
            clock.read(1, T0, start, T0, true);
            let out = stamps(&clock, start, 1_000, 10, |t| T0.saturating_add_signed(step) + t);
            let expected: Vec<u64> = (1..=10).map(|i| T0 + i * 1_000).collect();
            assert_eq!(
                out, expected,
                "a step of {step} ms: real time, neither faster nor slower"
            );
        }
    }

    #[test]
    fn a_wall_clock_going_back_neither_stops_nor_reverses_stamps() {
        let clock = LeaderClock::default();
        let start = Instant::now();
        clock.read(1, T0, start, T0, true);
        clock.confirm(1);
        clock.read(1, T0, start, T0, true);
        let out = stamps(&clock, start, 1_000, 10, |t| T0 + t - 600_000);
        for pair in out.windows(2) {
            let step = pair[1] - pair[0];
            assert!(
                (900..=1_000).contains(&step),
                "at most 10% slower, never still: {pair:?}"
            );
        }
    }

    #[test]
    fn an_unconfirmed_clock_runs_on_monotonic_time_only() {
        let clock = LeaderClock::default();
        let start = Instant::now();
        clock.read(1, T0, start, T0 + 3_600_000, true);
        let out = stamps(&clock, start, 500, 4, |t| T0 + 3_600_000 + t);
        assert_eq!(out, vec![T0 + 500, T0 + 1_000, T0 + 1_500, T0 + 2_000]);
        tracing::info!("--- once the peers confirm it, a cluster that was down catches up at once");
        clock.confirm(1);
        let now = start + Duration::from_millis(2_500);
        assert_eq!(clock.read(1, T0, now, T0 + 3_602_500, true), T0 + 3_602_500);
    }

    #[test]
    fn a_new_term_starts_from_cluster_time_and_a_fresh_cluster_from_the_wall() {
        let clock = LeaderClock::default();
        let start = Instant::now();
        assert_eq!(clock.read(1, 0, start, T0, true), T0, "nothing stamped yet");
        clock.confirm(1);
        assert_eq!(
            clock.read(2, T0 + 42, start, T0 + 9_000_000, true),
            T0 + 42,
            "unconfirmed in term 2"
        );
    }

    #[test]
    fn a_new_term_goes_on_from_the_last_cluster_time_seen_by_the_time_since() {
        let clock = LeaderClock::default();
        let start = Instant::now();
        clock.observe(T0);
        tracing::info!(
            "--- the old leader died; this node wins an election 1.2 s later, its wall clock far off"
        );
        let now = start + Duration::from_millis(1_200);
        let stamp = clock.read(7, T0, now, T0 + 9_000_000, true);
        assert!(
            (T0 + 1_100..=T0 + 1_200).contains(&stamp),
            "the election's time counted, not the wall clock: {stamp}"
        );
    }

    #[test]
    fn a_new_term_starts_from_a_wall_clock_a_little_ahead_of_the_time_seen() {
        let clock = LeaderClock::default();
        let start = Instant::now();
        clock.observe(T0);
        tracing::info!(
            "--- the old leader's last entry was applied only after this node won, 1.1 s after it was stamped"
        );
        let now = start + Duration::from_millis(10);
        assert_eq!(
            clock.read(7, T0, now, T0 + 1_110, true),
            T0 + 1_110,
            "the wall clock, not the lagging estimate"
        );
    }

    #[test]
    fn stamps_given_every_millisecond_and_a_half_keep_real_time() {
        tracing::info!("--- sub-millisecond remainders add up instead of being dropped at each stamp");
        let clock = LeaderClock::default();
        let start = Instant::now();
        clock.read(1, T0, start, T0, true);
        let step = Duration::from_micros(1_500);
        let mut last = 0;
        for i in 1..=6_000u32 {
            last = clock.read(1, T0, start + step * i, T0, true);
        }
        assert_eq!(
            last,
            T0 + 9_000,
            "unconfirmed: 6,000 stamps 1.5 ms apart span 9 s"
        );
        tracing::info!("--- confirmed, with the wall clock 2 s ahead: slewed toward it, 10% at most");
        clock.confirm(1);
        let base = start + step * 6_000;
        clock.read(1, T0, base, T0 + 9_000, true);
        let mut out = 0;
        for i in 1..=6_000u32 {
            let wall = T0 + 11_000 + u64::from(i) * 3 / 2;
            out = clock.read(1, T0, base + step * i, wall, true);
        }
        assert_eq!(
            out,
            T0 + 9_000 + 9_000 + 900,
            "9 s of stamps, 10% faster than real time"
        );
    }
}
