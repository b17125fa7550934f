//! Periodic schedules: add (or replace), remove, pause, resume, list.

use super::{OpError, TaskDefaults, TaskInput, linearizable, propose_one};
use crate::queue::schedule::{
    self, DEFAULT_CATCH_UP, DEFAULT_GRACE_MS, Misfire, Schedule, ScheduleSpec, When,
};
use crate::queue::validate::must_be_name;
use crate::queue::{Command, Outcome};
use crate::raft::Replica;

/// A schedule as a client describes it: exactly one of `cron` and `every_ms`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScheduleInput {
    pub name: String,
    /// The task each run submits: no countdown, eta or idempotency key.
    pub task: TaskInput,
    /// Cron with seconds, e.g. `*/5 * * * * *`.
    pub cron: Option<String>,
    /// IANA time zone of `cron`; `None` is UTC.
    pub time_zone: Option<String>,
    /// A fixed interval instead of cron (at least 100 ms).
    pub every_ms: Option<u64>,
    /// `None` is skip.
    pub misfire: Option<MisfirePolicy>,
    /// With catch-up: the most missed runs made up for at once (`None`: 10).
    pub catch_up_limit: Option<u32>,
    /// Lateness after which a due time is missed (`None`: 10 s; 0: any lateness).
    pub grace_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MisfirePolicy {
    /// Missed due times are counted and not run.
    Skip,
    /// The latest missed due times (up to the catch-up limit) run at once.
    CatchUp,
}

impl ScheduleInput {
    /// Checks the schedule and fills in defaults, before anything is proposed.
    pub fn prepare(self, defaults: &TaskDefaults) -> Result<ScheduleSpec, OpError> {
        let invalid = |message: &str| Err(OpError::Invalid(message.to_owned()));
        must_be_name("schedule name", &self.name).map_err(OpError::Invalid)?;
        let template = self.task.into_template(defaults, "a scheduled task")?;
        let when = match (self.cron, self.every_ms, self.time_zone) {
            (Some(expr), None, time_zone) => When::Cron {
                expr,
                time_zone: time_zone.unwrap_or_else(|| "UTC".to_owned()),
            },
            (None, Some(interval_ms), None) => When::Every {
                interval_ms,
                anchor_ms: 0,
            },
            (None, Some(_), Some(_)) => return invalid("a time zone applies to cron schedules only"),
            _ => return invalid("give a schedule exactly one of: cron, every"),
        };
        let misfire = match (self.misfire.unwrap_or(MisfirePolicy::Skip), self.catch_up_limit) {
            (MisfirePolicy::Skip, None) => Misfire::Skip,
            (MisfirePolicy::Skip, Some(_)) => {
                return invalid("a catch-up limit needs the catch_up misfire policy");
            }
            (MisfirePolicy::CatchUp, limit) => Misfire::CatchUp {
                limit: limit.unwrap_or(DEFAULT_CATCH_UP),
            },
        };
        let spec = ScheduleSpec {
            name: self.name,
            template,
            when,
            misfire,
            grace_ms: self.grace_ms.unwrap_or(DEFAULT_GRACE_MS),
        };
        // The anchor of an interval is set in apply; any time works for the check.
        schedule::must_be_valid(&spec, crate::clock::wall_ms()).map_err(OpError::Invalid)?;
        Ok(spec)
    }
}

/// Adds a schedule, or replaces the one with its name (keeping its run history): the schedule,
/// and whether one was replaced.
pub async fn add(
    replica: &Replica,
    defaults: &TaskDefaults,
    input: ScheduleInput,
) -> Result<(Schedule, bool), OpError> {
    let spec = input.prepare(defaults)?;
    let seed = ulid::Ulid::new().random();
    let command = Command::AddSchedule {
        spec: Box::new(spec),
        seed,
    };
    match propose_one(replica, command).await? {
        Outcome::Schedule { schedule, replaced } => Ok((*schedule, replaced)),
        other => Err(OpError::unexpected(&other)),
    }
}

/// Removes a schedule (tasks it submitted stay); whether there was one.
pub async fn remove(replica: &Replica, name: String) -> Result<bool, OpError> {
    must_be_name("schedule name", &name).map_err(OpError::Invalid)?;
    match propose_one(replica, Command::RemoveSchedule { name }).await? {
        Outcome::Count(removed) => Ok(removed > 0),
        other => Err(OpError::unexpected(&other)),
    }
}

/// Stops a schedule from firing until resumed.
pub async fn pause(replica: &Replica, name: String) -> Result<Schedule, OpError> {
    must_be_name("schedule name", &name).map_err(OpError::Invalid)?;
    changed(propose_one(replica, Command::PauseSchedule { name }).await?)
}

/// Lets a paused schedule fire again, from its next due time on.
pub async fn resume(replica: &Replica, name: String) -> Result<Schedule, OpError> {
    must_be_name("schedule name", &name).map_err(OpError::Invalid)?;
    changed(propose_one(replica, Command::ResumeSchedule { name }).await?)
}

fn changed(outcome: Outcome) -> Result<Schedule, OpError> {
    match outcome {
        Outcome::Schedule { schedule, .. } => Ok(*schedule),
        other => Err(OpError::unexpected(&other)),
    }
}

/// Every schedule, and the cluster time they are read at.
pub async fn list(replica: &Replica, linearizable_read: bool) -> Result<(Vec<Schedule>, u64), OpError> {
    if linearizable_read {
        linearizable(replica).await?;
    }
    let shared = replica.shared();
    let queue = shared.queue();
    Ok((queue.schedules().cloned().collect(), queue.now_ms()))
}

/// When a schedule runs next, Unix ms: a cron schedule just added or resumed waits a tick for the
/// leader's plan, and is shown as what that plan will say.
pub fn next_run_ms(schedule: &Schedule) -> Option<u64> {
    schedule.next_due_ms.or_else(|| {
        schedule
            .unplanned_after_ms
            .and_then(|after| schedule.spec.when.next_after(after))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(ms: u64) -> ScheduleInput {
        ScheduleInput {
            name: "nightly".into(),
            task: TaskInput {
                name: "report".into(),
                ..TaskInput::default()
            },
            every_ms: Some(ms),
            ..ScheduleInput::default()
        }
    }

    #[test]
    fn defaults_fill_in_and_mistakes_are_named() {
        let spec = every(60_000).prepare(&TaskDefaults::default()).expect("valid");
        assert_eq!(spec.misfire, Misfire::Skip);
        assert_eq!(spec.grace_ms, DEFAULT_GRACE_MS);
        let catch_up = ScheduleInput {
            misfire: Some(MisfirePolicy::CatchUp),
            ..every(60_000)
        }
        .prepare(&TaskDefaults::default())
        .expect("valid");
        assert_eq!(
            catch_up.misfire,
            Misfire::CatchUp {
                limit: DEFAULT_CATCH_UP
            }
        );
        for (input, expected) in [
            (
                ScheduleInput {
                    cron: Some("* * * * * *".into()),
                    ..every(1_000)
                },
                "exactly one",
            ),
            (
                ScheduleInput {
                    time_zone: Some("Europe/Paris".into()),
                    ..every(1_000)
                },
                "cron schedules only",
            ),
            (
                ScheduleInput {
                    catch_up_limit: Some(3),
                    ..every(1_000)
                },
                "needs the catch_up",
            ),
            (
                ScheduleInput {
                    task: TaskInput {
                        name: "report".into(),
                        countdown_ms: Some(5),
                        ..TaskInput::default()
                    },
                    ..every(1_000)
                },
                "takes no countdown",
            ),
        ] {
            let refused = input.prepare(&TaskDefaults::default()).expect_err(expected);
            assert!(refused.to_string().contains(expected), "{refused}");
        }
    }
}
