//! Periodic schedules (Celery beat, replicated): a task template and when to submit it.
//!
//! A schedule remembers the next due time it has not fired yet, which makes every due time fire
//! once. `every` due times are integer arithmetic on cluster time, so apply computes them and
//! fires them in the apply of the first log entry stamped at or after them. Cron due times
//! depend on libraries (cron rules, the time-zone database), which two builds could read
//! differently: the leader computes them ([`Schedule::plan`]) and the log carries them
//! (`Command::FireSchedule`), so apply never computes one and every replica fires the same runs.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::submit::SubmitTask;
use super::task::TaskId;
pub use super::template::TaskTemplate;
use super::validate::{self, MAX_DURATION_MS};

/// Shortest interval of an `every` schedule.
pub const MIN_INTERVAL_MS: u64 = 100;
/// Default and highest number of missed runs made up for at once.
pub const DEFAULT_CATCH_UP: u32 = 10;
pub const MAX_CATCH_UP: u32 = 1_000;
/// Default lateness after which a due time counts as missed.
pub const DEFAULT_GRACE_MS: u64 = 10_000;
/// Most missed due times counted one by one after an outage (a cron firing every second over a
/// week of downtime would otherwise be walked whole in one apply); beyond it the count stops.
pub const MAX_MISSED_COUNTED: u64 = 100_000;

/// When a schedule fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum When {
    /// Cron with seconds, in a time zone (IANA name; "UTC" when none was given).
    Cron { expr: String, time_zone: String },
    /// Every `interval_ms`, counted from `anchor_ms`.
    Every { interval_ms: u64, anchor_ms: u64 },
}

/// What to do with due times that passed more than the grace period ago.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Misfire {
    Skip,
    /// Run the latest `limit` of them now.
    CatchUp {
        limit: u32,
    },
}

/// Headers every scheduled run carries: which schedule, and the due time it is the run of.
pub const SCHEDULE_HEADER: &str = "qraft-schedule";
pub const DUE_HEADER: &str = "qraft-due-ms";

/// The submit of one run: the template plus the schedule's headers.
pub fn run_submit(template: &TaskTemplate, id: TaskId, schedule: &str, due_ms: u64) -> SubmitTask {
    let headers = [
        (SCHEDULE_HEADER, schedule.to_string()),
        (DUE_HEADER, due_ms.to_string()),
    ];
    template.submit(id, headers, None, None)
}

/// A schedule as the client defined it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    pub name: String,
    pub template: TaskTemplate,
    pub when: When,
    pub misfire: Misfire,
    pub grace_ms: u64,
}

/// A schedule and its run history, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub spec: ScheduleSpec,
    /// Random bits chosen by the proposing node: the ids of the tasks this schedule submits are
    /// derived from them and the run number, so every replica gives a run the same id.
    pub seed: u128,
    pub paused: bool,
    /// The earliest due time not fired yet; `None` while paused or when no due time is left.
    pub next_due_ms: Option<u64>,
    pub last_run_ms: Option<u64>,
    pub last_task: Option<TaskId>,
    pub runs: u64,
    pub missed: u64,
    pub created_at_ms: u64,
    /// A cron schedule whose due times after this instant the leader has not planned yet (just
    /// added or resumed): `next_due_ms` is `None` until it has.
    #[serde(default)]
    pub unplanned_after_ms: Option<u64>,
}

/// What a leader's plan for a cron schedule starts from; apply takes the plan only if the
/// schedule still stands there, so a resent or stale plan fires nothing twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlannedFrom {
    /// The planned due time `0`, come.
    Due(u64),
    /// Nothing planned after this instant yet.
    After(u64),
}

/// The due times of one firing, computed at some `now`: the runs to submit (due times, oldest
/// first), the due times missed for good, and the next due time after `now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    pub runs: Vec<u64>,
    pub missed: u64,
    pub next_due_ms: Option<u64>,
}

impl ScheduleSpec {
    /// Every due time from `first_due` to `now`, as the misfire policy says: those within the
    /// grace period run, older ones run (the latest `limit`) or are missed.
    pub fn firing(&self, first_due: u64, now: u64) -> Firing {
        let when = &self.when;
        let late_before = now.saturating_sub(self.grace_ms).max(first_due);
        let catch_up = match self.misfire {
            Misfire::Skip => 0,
            Misfire::CatchUp { limit } => u64::from(limit),
        };
        let (late, late_count) = when.due_between(first_due, late_before.saturating_sub(1), catch_up);
        let (on_time, on_time_count) = when.due_between(late_before, now, u64::from(MAX_CATCH_UP));
        let missed = late_count - late.len() as u64 + (on_time_count - on_time.len() as u64);
        Firing {
            // Oldest first, so run numbers follow due times.
            runs: late.into_iter().rev().chain(on_time.into_iter().rev()).collect(),
            missed,
            next_due_ms: when.next_after(now),
        }
    }
}

impl Schedule {
    /// Where a cron schedule's planning stands; `None` for other schedules and paused ones.
    pub fn planned_from(&self) -> Option<PlannedFrom> {
        if self.paused || !self.spec.when.is_cron() {
            return None;
        }
        match (self.unplanned_after_ms, self.next_due_ms) {
            (Some(after), _) => Some(PlannedFrom::After(after)),
            (None, Some(due)) => Some(PlannedFrom::Due(due)),
            (None, None) => None,
        }
    }

    /// The leader's plan for a cron schedule at `now` (its clock): the firing of every due time
    /// that has come, and the next one. `None` when nothing is to be planned yet.
    pub fn plan(&self, now: u64) -> Option<(PlannedFrom, Firing)> {
        let from = self.planned_from()?;
        let first_due = match from {
            PlannedFrom::Due(due) if due <= now => Some(due),
            PlannedFrom::Due(_) => return None,
            PlannedFrom::After(after) => self.spec.when.next_after(after),
        };
        let firing = match first_due {
            Some(first) if first <= now => self.spec.firing(first, now),
            next => Firing {
                runs: Vec::new(),
                missed: 0,
                next_due_ms: next,
            },
        };
        Some((from, firing))
    }

    /// The id of run number `run` (counted from 0), submitted at `now`.
    pub fn task_id(&self, run: u64, now: u64) -> TaskId {
        TaskId(ulid::Ulid::from_parts(
            now,
            self.seed.wrapping_add(u128::from(run)),
        ))
    }
}

impl When {
    pub fn is_cron(&self) -> bool {
        matches!(self, When::Cron { .. })
    }

    /// The first due time strictly after `after_ms`, if any.
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        Timing::of(self).ok()?.next_after(after_ms)
    }

    /// The due times in `[from_ms, to_ms]`, latest first, at most `limit` of them, and how many
    /// there are in all (counting stops at [`MAX_MISSED_COUNTED`] past the ones returned).
    pub fn due_between(&self, from_ms: u64, to_ms: u64, limit: u64) -> (Vec<u64>, u64) {
        match Timing::of(self) {
            Ok(timing) => timing.due_between(from_ms, to_ms, limit),
            Err(_) => (Vec::new(), 0),
        }
    }
}

/// A [`When`] ready to compute with: the cron expression parsed once.
enum Timing {
    Cron(Box<cron::Schedule>, Tz),
    Every { interval_ms: u64, anchor_ms: u64 },
}

impl Timing {
    fn of(when: &When) -> Result<Timing, String> {
        Ok(match when {
            When::Cron { expr, time_zone } => {
                let (schedule, zone) = parse_cron(expr, time_zone)?;
                Timing::Cron(Box::new(schedule), zone)
            }
            When::Every {
                interval_ms,
                anchor_ms,
            } => Timing::Every {
                interval_ms: (*interval_ms).max(1),
                anchor_ms: *anchor_ms,
            },
        })
    }

    fn next_after(&self, after_ms: u64) -> Option<u64> {
        match self {
            Timing::Every {
                interval_ms,
                anchor_ms,
            } => {
                if after_ms < *anchor_ms {
                    return Some(*anchor_ms);
                }
                let steps = (after_ms - anchor_ms) / interval_ms + 1;
                anchor_ms.checked_add(steps.checked_mul(*interval_ms)?)
            }
            Timing::Cron(schedule, zone) => {
                let after = zone.from_utc_datetime(&utc(after_ms)?.naive_utc());
                let next = schedule.after(&after).next()?.timestamp_millis();
                u64::try_from(next).ok()
            }
        }
    }

    fn due_between(&self, from_ms: u64, to_ms: u64, limit: u64) -> (Vec<u64>, u64) {
        // Cluster time starts at the Unix epoch's ms, never at 0: `from_ms - 1` is always fine.
        let first = self.next_after(from_ms.saturating_sub(1));
        let Some(first) = first.filter(|first| *first >= from_ms && *first <= to_ms) else {
            return (Vec::new(), 0);
        };
        if let Timing::Every { interval_ms, .. } = self {
            let count = (to_ms - first) / interval_ms + 1;
            let last = first + (count - 1) * interval_ms;
            let latest = (0..count.min(limit)).map(|i| last - i * interval_ms).collect();
            return (latest, count);
        }
        let mut latest = std::collections::VecDeque::new();
        let mut count = 0;
        let mut due = Some(first);
        while let Some(at) = due.filter(|at| *at <= to_ms) {
            count += 1;
            latest.push_front(at);
            if latest.len() as u64 > limit {
                latest.pop_back();
            }
            if count >= limit.saturating_add(MAX_MISSED_COUNTED) {
                break;
            }
            due = self.next_after(at);
        }
        (latest.into(), count)
    }
}

fn utc(ms: u64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(i64::try_from(ms).ok()?).single()
}

/// Parses a cron expression (with seconds) and a time zone ("" or "UTC" for UTC).
pub fn parse_cron(expr: &str, time_zone: &str) -> Result<(cron::Schedule, Tz), String> {
    let schedule = cron::Schedule::from_str(expr).map_err(|e| {
        format!(
            "{expr:?} is not a cron expression with seconds \
             (sec min hour day-of-month month day-of-week [year], e.g. \"*/5 * * * * *\"): {e}"
        )
    })?;
    let zone = if time_zone.is_empty() {
        Tz::UTC
    } else {
        time_zone
            .parse::<Tz>()
            .map_err(|_| format!("{time_zone:?} is not an IANA time zone (e.g. Europe/Paris, UTC)"))?
    };
    Ok((schedule, zone))
}

/// Checks a schedule before it is proposed: everything [`must_be_well_formed`] checks, and that
/// a cron expression parses and fires again.
pub fn must_be_valid(spec: &ScheduleSpec, now_ms: u64) -> Result<(), String> {
    if let When::Cron { expr, time_zone } = &spec.when {
        parse_cron(expr, time_zone)?;
        if spec.when.next_after(now_ms).is_none() {
            return Err(format!("cron {expr:?} never fires again"));
        }
    }
    must_be_well_formed(spec)
}

/// What apply checks of a schedule: nothing that depends on a library's reading of cron rules
/// or time zones (the proposing node checked those).
pub fn must_be_well_formed(spec: &ScheduleSpec) -> Result<(), String> {
    validate::must_be_name("schedule name", &spec.name)?;
    // Checked as the runs will be: with the schedule's own headers added.
    let run = run_submit(&spec.template, TaskId(ulid::Ulid::nil()), &spec.name, u64::MAX);
    validate::must_be_valid_submit(&run, usize::MAX)?;
    if let When::Every { interval_ms, .. } = &spec.when
        && !(MIN_INTERVAL_MS..=MAX_DURATION_MS).contains(interval_ms)
    {
        return Err(format!(
            "an interval of {interval_ms} ms is out of range {MIN_INTERVAL_MS} ms..=1 year"
        ));
    }
    if let Misfire::CatchUp { limit } = spec.misfire
        && !(1..=MAX_CATCH_UP).contains(&limit)
    {
        return Err(format!(
            "catch-up limit {limit} is out of range 1..={MAX_CATCH_UP}"
        ));
    }
    validate::must_be_duration("misfire grace", spec.grace_ms, MAX_DURATION_MS)
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Cron { expr, time_zone } => write!(f, "cron {expr} ({time_zone})"),
            When::Every { interval_ms, .. } => write!(
                f,
                "every {}",
                humantime::format_duration(std::time::Duration::from_millis(*interval_ms))
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000; // 2023-11-14T22:13:20Z

    fn cron(expr: &str, zone: &str) -> When {
        When::Cron {
            expr: expr.into(),
            time_zone: zone.into(),
        }
    }

    #[test]
    fn every_counts_from_its_anchor() {
        let every = When::Every {
            interval_ms: 1_000,
            anchor_ms: T0,
        };
        assert_eq!(every.next_after(T0 - 5), Some(T0));
        assert_eq!(every.next_after(T0), Some(T0 + 1_000));
        assert_eq!(every.next_after(T0 + 1_500), Some(T0 + 2_000));
        let (latest, count) = every.due_between(T0 + 1, T0 + 10_000, 3);
        assert_eq!(count, 10);
        assert_eq!(latest, vec![T0 + 10_000, T0 + 9_000, T0 + 8_000]);
        assert_eq!(every.due_between(T0 + 1, T0 + 999, 3), (vec![], 0));
    }

    #[test]
    fn cron_has_seconds_and_a_time_zone() {
        let every_5s = cron("*/5 * * * * *", "");
        assert_eq!(every_5s.next_after(T0), Some(T0 + 5_000));
        assert_eq!(every_5s.next_after(T0 + 1), Some(T0 + 5_000));
        let (latest, count) = every_5s.due_between(T0, T0 + 20_000, 2);
        assert_eq!(count, 5, "T0, +5, +10, +15, +20 s");
        assert_eq!(latest, vec![T0 + 20_000, T0 + 15_000]);
        // 09:00 every day in Paris is 08:00 UTC in winter.
        let paris = cron("0 0 9 * * *", "Europe/Paris");
        let next = paris.next_after(T0).expect("daily");
        assert_eq!(utc(next).expect("time").to_rfc3339(), "2023-11-15T08:00:00+00:00");
    }

    #[test]
    fn bad_cron_and_zones_say_what_is_wrong() {
        let error = parse_cron("*/5 * * * *", "").expect_err("five fields");
        assert!(error.contains("with seconds"), "{error}");
        let error = parse_cron("* * * * * *", "Mars/Olympus").expect_err("zone");
        assert!(error.contains("IANA"), "{error}");
        assert!(
            cron("0 0 0 1 1 * 2020", "").next_after(T0).is_none(),
            "a past year never fires"
        );
    }
}
