//! The harness's schedule: every due time from its first to its stop fired exactly once, as a
//! task that succeeded, and the cluster's own counts agree.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Capped, SUCCESS};
use crate::history::{Entry, StepOwner};

/// The schedule's side of the verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScheduleFindings {
    /// Distinct due times that fired.
    pub fired: usize,
    /// Due times before the stop that never fired.
    pub missed: Capped<u64>,
    /// Due times with more than one run.
    pub fired_twice: Capped<u64>,
    /// Anything else: runs that did not succeed, runs for no due time, the cluster's own counts
    /// disagreeing with the runs.
    pub problems: Vec<String>,
}

impl ScheduleFindings {
    pub(super) fn describe_into(&self, out: &mut Vec<String>) {
        self.missed.describe_into("schedule", out, |due| {
            format!("schedule: due time {due} never fired")
        });
        self.fired_twice.describe_into("schedule", out, |due| {
            format!("schedule: due time {due} fired more than once")
        });
        out.extend(self.problems.iter().map(|problem| format!("schedule: {problem}")));
    }
}

/// Every due time from the first one up to a margin before the schedule was
/// stopped fired exactly once, as a task that succeeded, and the cluster's counts agree.
pub(super) fn check(entries: &[Entry]) -> Option<ScheduleFindings> {
    let mut runs: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    let mut unfinished = Vec::new();
    let mut schedule = None;
    let mut added = false;
    for entry in entries {
        match entry {
            Entry::FinalStep {
                task_id,
                owner: StepOwner::Schedule { due_ms },
                state,
                ..
            } => {
                runs.entry(*due_ms).or_default().push(task_id);
                if state != SUCCESS {
                    unfinished.push(format!("run {task_id} (due {due_ms}) ended {state}"));
                }
            }
            Entry::Schedule {
                interval_ms,
                created_at_ms,
                stopped_at_ms,
                runs,
                missed,
                ..
            } => schedule = Some((*interval_ms, *created_at_ms, *stopped_at_ms, *runs, *missed)),
            Entry::ScheduleAdded { .. } => added = true,
            _ => {}
        }
    }
    let mut found = ScheduleFindings {
        fired: runs.len(),
        problems: unfinished,
        ..ScheduleFindings::default()
    };
    let Some((interval_ms, created_at_ms, stopped_at_ms, counted_runs, counted_missed)) = schedule else {
        if runs.is_empty() && !added {
            // A history without a schedule (an older run's): nothing to check.
            return None;
        }
        found.problems.push(format!(
            "added, {} runs, but the schedule is not in the final state",
            runs.len()
        ));
        return Some(found);
    };
    let interval_ms = interval_ms.max(1);
    let first_due_ms = created_at_ms + interval_ms;
    // The pause is stamped after `stopped_at_ms`, and an entry fires every due time up to its
    // stamp before it applies its commands, so every due time up to the stop has fired. One
    // interval of margin covers a leader whose clock is a little behind the harness's.
    let must_have_fired_by = stopped_at_ms.saturating_sub(interval_ms);
    let mut due = first_due_ms;
    while due <= must_have_fired_by {
        if !runs.contains_key(&due) {
            found.missed.push(due);
        }
        due += interval_ms;
    }
    for (&due, tasks) in &runs {
        if tasks.len() > 1 {
            found.fired_twice.push(due);
        }
        if due < first_due_ms || (due - first_due_ms) % interval_ms != 0 {
            found.problems.push(format!(
                "run {} is for {due}, not a due time of the schedule",
                tasks.join(", ")
            ));
        }
    }
    let run_tasks: usize = runs.values().map(Vec::len).sum();
    if counted_runs != run_tasks as u64 {
        found.problems.push(format!(
            "the cluster counts {counted_runs} runs, the queue holds {run_tasks}"
        ));
    }
    if counted_missed > 0 {
        found
            .problems
            .push(format!("the cluster counts {counted_missed} missed due times"));
    }
    Some(found)
}
