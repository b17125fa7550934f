//! Periodic schedules: add, remove, pause, and firing as cluster time passes.
//!
//! An `every` schedule fires in [`QueueState::advance_clock`], in the apply of the first entry
//! stamped at or after a due time (the leader's ticker proposes one when nothing else is
//! written). A cron schedule fires in the apply of the leader's plan (`FireSchedule`), taken
//! only if the schedule still stands where the plan started. Either way the schedule then moves
//! its next due time past the firing, so no due time fires twice, whichever leader stamped it
//! and however often the cluster restarted; a due time more than the grace period late is a
//! misfire, handled by the schedule's policy.

use super::QueueState;
use crate::queue::command::{Outcome, Rejection};
use crate::queue::record::RecordId;
use crate::queue::schedule::{self, Firing, PlannedFrom, Schedule, ScheduleSpec, When};

impl QueueState {
    pub fn schedules(&self) -> impl Iterator<Item = &Schedule> {
        self.schedules.values()
    }

    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.get(name)
    }

    /// The earliest due time of any running schedule.
    pub(super) fn next_schedule_due_ms(&self) -> Option<u64> {
        self.schedule_due.first().map(|(due, _)| *due)
    }

    /// Adds a schedule, or replaces the one with the same name, keeping its run history and
    /// whether it is paused. A new interval counts from now; the same interval again keeps its
    /// due times, so an add resent after an unknown outcome changes nothing.
    pub(super) fn add_schedule(&mut self, mut spec: ScheduleSpec, seed: u128) -> Outcome {
        let now = self.meta.now_ms;
        let kept_when = self.schedules.get(&spec.name).map(|p| p.spec.when.clone());
        if let When::Every {
            anchor_ms,
            interval_ms,
        } = &mut spec.when
        {
            *anchor_ms = match kept_when {
                Some(When::Every {
                    interval_ms: kept_interval,
                    anchor_ms: kept_anchor,
                }) if kept_interval == *interval_ms => kept_anchor,
                _ => now,
            };
        }
        if let Err(reason) = schedule::must_be_well_formed(&spec) {
            return Outcome::Rejected(Rejection::Invalid(reason));
        }
        let previous = self.take_schedule(&spec.name);
        let paused = previous.as_ref().is_some_and(|p| p.paused);
        let cron = spec.when.is_cron();
        let schedule = Schedule {
            next_due_ms: (!paused && !cron).then(|| spec.when.next_after(now)).flatten(),
            unplanned_after_ms: (!paused && cron).then_some(now),
            seed,
            paused,
            last_run_ms: previous.as_ref().and_then(|p| p.last_run_ms),
            last_task: previous.as_ref().and_then(|p| p.last_task),
            runs: previous.as_ref().map_or(0, |p| p.runs),
            missed: previous.as_ref().map_or(0, |p| p.missed),
            created_at_ms: previous.as_ref().map_or(now, |p| p.created_at_ms),
            spec,
        };
        let replaced = previous.is_some();
        self.put_schedule(schedule.clone());
        Outcome::Schedule {
            schedule: Box::new(schedule),
            replaced,
        }
    }

    pub(super) fn remove_schedule(&mut self, name: &str) -> Outcome {
        Outcome::Count(u64::from(self.take_schedule(name).is_some()))
    }

    /// Pauses or resumes; resumed, a schedule goes on from its next due time after now.
    pub(super) fn set_schedule_paused(&mut self, name: &str, paused: bool) -> Outcome {
        let Some(mut schedule) = self.take_schedule(name) else {
            return Outcome::Rejected(Rejection::NoSchedule(name.to_string()));
        };
        if schedule.paused != paused {
            let now = self.meta.now_ms;
            let cron = schedule.spec.when.is_cron();
            schedule.paused = paused;
            schedule.next_due_ms = (!paused && !cron)
                .then(|| schedule.spec.when.next_after(now))
                .flatten();
            schedule.unplanned_after_ms = (!paused && cron).then_some(now);
        }
        self.put_schedule(schedule.clone());
        Outcome::Schedule {
            schedule: Box::new(schedule),
            replaced: false,
        }
    }

    /// Takes the leader's plan for cron schedule `name`, if the schedule still stands at `from`
    /// (a resent or stale plan changes nothing).
    pub(super) fn fire_planned(&mut self, name: &str, from: PlannedFrom, firing: Firing) -> Outcome {
        if self.schedules.get(name).and_then(Schedule::planned_from) != Some(from) {
            return Outcome::Done;
        }
        if let Some(mut schedule) = self.take_schedule(name) {
            schedule.unplanned_after_ms = None;
            let fired = self.submit_runs(schedule, firing);
            self.put_schedule(fired);
        }
        Outcome::Done
    }

    /// Fires every `every` schedule whose next due time has come (cron ones wait for the
    /// leader's plan, and are not in `schedule_due`).
    pub(super) fn fire_due_schedules(&mut self) {
        let now = self.meta.now_ms;
        while let Some((due, name)) = self.schedule_due.first().cloned() {
            if due > now {
                break;
            }
            if let Some(schedule) = self.take_schedule(&name) {
                let fired = self.fire(schedule, due);
                self.put_schedule(fired);
            }
        }
    }

    /// Submits the runs of every due time from `first_due` to now, as the misfire policy says, and
    /// moves the schedule past now.
    fn fire(&mut self, schedule: Schedule, first_due: u64) -> Schedule {
        let firing = schedule.spec.firing(first_due, self.meta.now_ms);
        self.submit_runs(schedule, firing)
    }

    /// Submits the runs of `firing` and moves the schedule to its next due time.
    fn submit_runs(&mut self, mut schedule: Schedule, firing: Firing) -> Schedule {
        let now = self.meta.now_ms;
        schedule.missed += firing.missed;
        for due in firing.runs {
            let id = schedule.task_id(schedule.runs, now);
            let submit = schedule::run_submit(&schedule.spec.template, id, &schedule.spec.name, due);
            match self.submit(submit) {
                Outcome::Submitted { id, .. } => {
                    schedule.runs += 1;
                    schedule.last_run_ms = Some(now);
                    schedule.last_task = Some(id);
                }
                // Validated when the schedule was added; counted rather than lost silently.
                _ => schedule.missed += 1,
            }
        }
        schedule.next_due_ms = firing.next_due_ms;
        schedule
    }

    fn take_schedule(&mut self, name: &str) -> Option<Schedule> {
        let schedule = self.schedules.remove(name)?;
        if let Some(due) = schedule.next_due_ms {
            self.schedule_due.remove(&(due, name.to_string()));
        }
        self.changed.insert(RecordId::Schedule(name.to_string()));
        Some(schedule)
    }

    fn put_schedule(&mut self, schedule: Schedule) {
        let name = schedule.spec.name.clone();
        if let Some(due) = schedule.next_due_ms.filter(|_| !schedule.spec.when.is_cron()) {
            self.schedule_due.insert((due, name.clone()));
        }
        self.changed.insert(RecordId::Schedule(name.clone()));
        self.schedules.insert(name, schedule);
    }
}
