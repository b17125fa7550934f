//! The verdict on a history, in the manner of Jepsen's total-queue: every acknowledged task
//! finished (nothing lost), nothing appeared that was never submitted (nothing unexpected),
//! executions repeated only where a task was handed out again (duplicates explained), and the
//! cluster itself behaved: one leader per term, no ack accepted on a stale lease, no panic, and
//! healthy and drained after the faults were healed. It also times every failover.
//!
//! A write accepted by a minority side has no check of its own, because it needs none: if the
//! client was told "acknowledged", the task either was committed by a majority after all (and is
//! then rightly in the final state) or it shows up as lost. Two acknowledgements of one
//! idempotency key naming different tasks are caught separately.
//!
//! [`check`] is pure and deterministic: the same history gives the same verdict, so a history
//! file can be checked again later and a verdict can be unit-tested by hand-made histories.
//!
//! - `submits`: what the producers were told, against what the cluster held at the end.
//! - `executions`: what the workers ran and which acks the cluster accepted.
//! - `cluster`: leaders per term, panics and the final drain.
//! - `failover`: the time from each leader loss to the next acknowledged submit.
//! - `flows`: workflows (acknowledged, finished, right results, parts enqueued once).
//! - `schedule`: the harness's schedule (each due time fired once).
//! - `timing`: countdowns and expiries kept to the harness's clock, the limited queue moving.

mod cluster;
mod executions;
mod failover;
mod flows;
mod schedule;
mod submits;
#[cfg(test)]
mod tests;
mod timing;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::history::Entry;

pub use cluster::{Convergence, Drain, NodePanic, SplitTerm};
pub use executions::{AckConflict, AckProblem, AckSeen, Duplicate, Duplicates};
pub use failover::{Failover, FailoverStats};
pub use flows::{FlowFindings, LostFlow, UnexpectedStep, WrongFlow};
pub use schedule::ScheduleFindings;
pub use submits::{FailedApplied, KeyConflict, Lost, Recovered, Unexpected};
pub use timing::{EARLY_TOLERANCE_MS, Early, MAX_STALL_MS, Stall, TimingFindings};

/// How many findings of each kind a verdict keeps in full. The counts stay exact; past this the
/// details add nothing a reader would go through, and a broken run would bloat the report.
pub const KEPT_PER_KIND: usize = 20;

/// The verdict on one history.
///
/// `violations` says in one line each what went wrong; it is what decides [`Verdict::ok`]. The
/// typed findings next to it are for the JSON report. Like the findings, violations are kept
/// for the first [`KEPT_PER_KIND`] of each kind, followed by one "and N more" line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Submits invoked (retries of the same key count again).
    pub operations: usize,
    /// Distinct keys with an acknowledged submit.
    pub acknowledged: usize,
    /// Keys whose every submit certainly failed.
    pub failed: usize,
    /// Keys with no acknowledged submit and at least one whose outcome is unknown (an error of
    /// unknown outcome, or still in flight when the run stopped).
    pub unknown: usize,
    /// Executions reported by workers, duplicates included.
    pub executions: usize,
    /// Acknowledged, yet not SUCCESS at the end. A write "accepted" by a minority side lands
    /// here too: either the majority committed it (then it is not a violation) or it is lost.
    pub lost: Capped<Lost>,
    /// Finished or executed, yet never submitted.
    pub unexpected: Capped<Unexpected>,
    /// Unknown-outcome submits that did arrive. Not a violation.
    pub recovered: Capped<Recovered>,
    /// Recovered tasks that did not end in SUCCESS: accepted, so owed a result. A violation.
    pub unfinished: Capped<Recovered>,
    /// Submits the producer was told certainly failed, that the cluster holds all the same.
    pub failed_but_applied: Capped<FailedApplied>,
    /// Idempotency keys that map to more than one task.
    pub key_conflicts: Capped<KeyConflict>,
    /// Tasks executed more than once, explained (handed out again) or not.
    pub duplicated: Duplicates,
    /// Terms with more than one leader.
    pub split_terms: Capped<SplitTerm>,
    /// Tasks whose acks the cluster should have refused.
    pub ack_conflicts: Capped<AckConflict>,
    /// Panics found in node logs.
    pub panics: Capped<NodePanic>,
    /// Whether the cluster was healthy and drained after healing.
    pub drain: Drain,
    /// Whether every replica held the same state after the drain.
    pub convergence: Convergence,
    /// What nemeses saw go wrong.
    pub problems: Vec<String>,
    /// One per leader-losing fault, in time order.
    pub failovers: Vec<Failover>,
    /// Over the failovers that did recover; `None` when none did.
    pub failover_stats: Option<FailoverStats>,
    /// Workflows and the schedule.
    pub flows: FlowFindings,
    /// Countdowns, expiries and the limited queue against the harness's clock.
    pub timing: TimingFindings,
    /// One line per problem; empty when the run passed.
    pub violations: Vec<String>,
}

impl Verdict {
    /// Whether the history shows no violation.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// The first [`KEPT_PER_KIND`] findings of a kind, and how many there were in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Capped<T> {
    /// All findings of this kind, kept or not.
    pub count: usize,
    /// The first ones, in a deterministic order.
    pub first: Vec<T>,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped {
            count: 0,
            first: Vec::new(),
        }
    }
}

impl<T> Capped<T> {
    pub fn push(&mut self, finding: T) {
        self.count += 1;
        if self.first.len() < KEPT_PER_KIND {
            self.first.push(finding);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends one violation line per kept finding, then "`kind`: and N more" for the rest.
    fn describe_into(&self, kind: &str, out: &mut Vec<String>, describe: impl Fn(&T) -> String) {
        out.extend(self.first.iter().map(describe));
        if self.count > self.first.len() {
            out.push(format!("{kind}: and {} more", self.count - self.first.len()));
        }
    }
}

/// The proto's name of the one final state that means an acknowledged task was not lost.
const SUCCESS: &str = "SUCCESS";

/// A task as the cluster held it at the end, borrowed from its `Final` entry.
#[derive(Clone, Copy, Debug)]
struct FinalTask<'a> {
    key: &'a str,
    state: &'a str,
}

/// How many times the cluster handed each task out, from the `Final` and `FinalStep` entries.
fn final_attempts(entries: &[Entry]) -> BTreeMap<&str, u32> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Final {
                task_id, attempts, ..
            }
            | Entry::FinalStep {
                task_id, attempts, ..
            } => Some((task_id.as_str(), *attempts)),
            _ => None,
        })
        .collect()
}

/// The `Final` entries by task id. Were a task listed twice, the later entry wins.
fn final_tasks(entries: &[Entry]) -> BTreeMap<&str, FinalTask<'_>> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Final {
                task_id, key, state, ..
            } => Some((task_id.as_str(), FinalTask { key, state })),
            _ => None,
        })
        .collect()
}

/// Checks a history; see the module docs for what is checked.
pub fn check(entries: &[Entry]) -> Verdict {
    let submits = submits::check(entries);
    let executions = executions::check(entries);
    let cluster = cluster::check(entries);
    let failover = failover::check(entries);
    let flows = flows::check(entries);
    let timing = timing::check(entries);

    let mut verdict = Verdict {
        operations: submits.operations,
        acknowledged: submits.acknowledged,
        failed: submits.failed,
        unknown: submits.unknown,
        executions: executions.executions,
        lost: submits.lost,
        unexpected: submits.unexpected,
        recovered: submits.recovered,
        unfinished: submits.unfinished,
        failed_but_applied: submits.failed_but_applied,
        key_conflicts: submits.key_conflicts,
        duplicated: executions.duplicated,
        split_terms: cluster.split_terms,
        ack_conflicts: executions.ack_conflicts,
        panics: cluster.panics,
        drain: cluster.drain,
        convergence: cluster.convergence,
        problems: cluster.problems,
        failovers: failover.failovers,
        failover_stats: failover.stats,
        flows,
        timing,
        violations: Vec::new(),
    };
    verdict.violations = violations(&verdict);
    verdict
}

/// Every violation, grouped by kind, worst first: lost and unexpected tasks, then the rest.
fn violations(verdict: &Verdict) -> Vec<String> {
    let mut out = Vec::new();
    verdict.lost.describe_into("lost", &mut out, Lost::describe);
    verdict
        .unfinished
        .describe_into("unfinished", &mut out, Recovered::describe_unfinished);
    verdict
        .unexpected
        .describe_into("unexpected", &mut out, Unexpected::describe);
    verdict
        .failed_but_applied
        .describe_into("failed but applied", &mut out, FailedApplied::describe);
    verdict
        .key_conflicts
        .describe_into("idempotency", &mut out, KeyConflict::describe);
    verdict
        .duplicated
        .unexplained
        .describe_into("duplicated", &mut out, Duplicate::describe);
    verdict
        .split_terms
        .describe_into("leaders", &mut out, SplitTerm::describe);
    verdict
        .ack_conflicts
        .describe_into("stale ack", &mut out, AckConflict::describe);
    verdict
        .panics
        .describe_into("panic", &mut out, NodePanic::describe);
    verdict.flows.describe_into(&mut out);
    verdict.timing.describe_into(&mut out);
    if let Some(problem) = verdict.drain.problem() {
        out.push(problem);
    }
    if let Some(problem) = verdict.convergence.problem() {
        out.push(problem);
    }
    out.extend(verdict.problems.iter().cloned());
    out.extend(
        verdict
            .failovers
            .iter()
            .filter(|failover| failover.stuck())
            .map(Failover::describe_stuck),
    );
    out
}
