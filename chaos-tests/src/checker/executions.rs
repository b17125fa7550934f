//! What the workers ran and which of their acks the cluster accepted: duplicate executions,
//! explained or not, and acks that a fenced lease should have refused.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Capped;
use crate::history::{Entry, Millis};

/// A task executed more than once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub task_id: String,
    pub executions: usize,
    /// The worker of each execution, in history order.
    pub workers: Vec<String>,
    /// The attempt number each execution was handed, in history order.
    pub attempts_seen: Vec<u32>,
    /// How many times the cluster handed the task out, from the final state; `None` when the
    /// final state does not hold the task.
    pub final_attempts: Option<u32>,
}

impl Duplicate {
    /// Whether every execution was a hand-out of its own. The cluster hands a task out again
    /// only after its lease expired or its worker gave it back (or to retry a failure), and
    /// counts every hand-out in `attempts`; two executions of one hand-out, or more executions
    /// than hand-outs, mean a lease was honoured twice.
    fn explained(&self) -> bool {
        let distinct: BTreeSet<u32> = self.attempts_seen.iter().copied().collect();
        let handed_out = self.final_attempts.unwrap_or(0) as usize;
        distinct.len() == self.executions && self.executions <= handed_out
    }

    pub(super) fn describe(&self) -> String {
        let handed_out = match self.final_attempts {
            Some(attempts) => format!("handed out {attempts} times"),
            None => "not in the final state".to_owned(),
        };
        format!(
            "duplicated: task {} executed {} times (by {}; attempts {:?}) but {handed_out}",
            self.task_id,
            self.executions,
            self.workers.join(", "),
            self.attempts_seen
        )
    }
}

/// Duplicate executions, split by whether a repeated hand-out explains them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Duplicates {
    /// Each execution had its own hand-out: an expired lease or a released task. Not a
    /// violation, but counted: it is the price of at-least-once delivery.
    pub explained: Capped<Duplicate>,
    /// A violation.
    pub unexplained: Capped<Duplicate>,
}

impl Duplicates {
    /// Tasks executed more than once, explained or not.
    pub fn total(&self) -> usize {
        self.explained.count + self.unexplained.count
    }
}

/// One ack as the history recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AckSeen {
    pub t: Millis,
    pub worker: String,
    pub delivery: u32,
    pub accepted: bool,
}

impl AckSeen {
    fn describe(&self) -> String {
        format!("{} delivery {} at {} ms", self.worker, self.delivery, self.t)
    }
}

/// Why the cluster should have refused an ack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AckProblem {
    /// More than one ack was accepted for the task: only the current lease may finish it.
    SeveralAccepted,
    /// An ack was accepted with a lower delivery than one already seen: its lease was stale.
    StaleDelivery,
}

/// A task whose acks show that a stale lease was honoured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AckConflict {
    pub task_id: String,
    pub problem: AckProblem,
    /// For `SeveralAccepted`, the accepted acks; for `StaleDelivery`, the earlier ack with the
    /// higher delivery, then the stale one that was accepted.
    pub acks: Vec<AckSeen>,
}

impl AckConflict {
    pub(super) fn describe(&self) -> String {
        let acks: Vec<String> = self.acks.iter().map(AckSeen::describe).collect();
        match self.problem {
            AckProblem::SeveralAccepted => format!(
                "stale ack: task {} had {} acks accepted ({})",
                self.task_id,
                self.acks.len(),
                acks.join("; ")
            ),
            AckProblem::StaleDelivery => format!(
                "stale ack: task {} accepted an older delivery after a newer one was seen ({})",
                self.task_id,
                acks.join(", then ")
            ),
        }
    }
}

/// The execution side of a verdict.
#[derive(Debug, Default)]
pub(super) struct ExecutionFindings {
    pub executions: usize,
    pub duplicated: Duplicates,
    pub ack_conflicts: Capped<AckConflict>,
}

pub(super) fn check(entries: &[Entry]) -> ExecutionFindings {
    let mut executed: BTreeMap<&str, Vec<(&str, u32)>> = BTreeMap::new();
    let mut acks: BTreeMap<&str, Vec<AckSeen>> = BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::Executed {
                task_id,
                worker,
                attempt,
                ..
            } => {
                executed.entry(task_id).or_default().push((worker, *attempt));
            }
            Entry::Acked {
                t,
                task_id,
                worker,
                delivery,
                accepted,
            } => {
                acks.entry(task_id).or_default().push(AckSeen {
                    t: *t,
                    worker: worker.clone(),
                    delivery: *delivery,
                    accepted: *accepted,
                });
            }
            _ => {}
        }
    }

    let attempts = super::final_attempts(entries);
    let mut found = ExecutionFindings {
        executions: executed.values().map(Vec::len).sum(),
        ..ExecutionFindings::default()
    };
    for (task_id, runs) in executed.into_iter().filter(|(_, runs)| runs.len() > 1) {
        let duplicate = Duplicate {
            task_id: task_id.to_owned(),
            executions: runs.len(),
            workers: runs.iter().map(|&(worker, _)| worker.to_owned()).collect(),
            attempts_seen: runs.iter().map(|&(_, attempt)| attempt).collect(),
            final_attempts: attempts.get(task_id).copied(),
        };
        if duplicate.explained() {
            found.duplicated.explained.push(duplicate);
        } else {
            found.duplicated.unexplained.push(duplicate);
        }
    }
    for (task_id, mut task_acks) in acks {
        task_acks.sort_by_key(|ack| ack.t);
        for conflict in ack_conflicts(task_id, &task_acks) {
            found.ack_conflicts.push(conflict);
        }
    }
    found
}

/// The ack conflicts of one task, given its acks in time order.
fn ack_conflicts(task_id: &str, acks: &[AckSeen]) -> Vec<AckConflict> {
    let mut conflicts = Vec::new();
    let accepted: Vec<AckSeen> = acks.iter().filter(|ack| ack.accepted).cloned().collect();
    if accepted.len() > 1 {
        conflicts.push(AckConflict {
            task_id: task_id.to_owned(),
            problem: AckProblem::SeveralAccepted,
            acks: accepted,
        });
    }
    if let Some((newer, stale)) = first_stale_accepted(acks) {
        conflicts.push(AckConflict {
            task_id: task_id.to_owned(),
            problem: AckProblem::StaleDelivery,
            acks: vec![newer.clone(), stale.clone()],
        });
    }
    conflicts
}

/// The first accepted ack whose delivery is lower than that of an ack strictly earlier in
/// time, with that earlier ack. Acks at the same millisecond are not ordered, so not compared.
fn first_stale_accepted(acks: &[AckSeen]) -> Option<(&AckSeen, &AckSeen)> {
    acks.iter().filter(|ack| ack.accepted).find_map(|stale| {
        acks.iter()
            .take_while(|earlier| earlier.t < stale.t)
            .find(|earlier| earlier.delivery > stale.delivery)
            .map(|newer| (newer, stale))
    })
}
