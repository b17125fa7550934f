//! What the producers were told against what the cluster held at the end: lost, unexpected,
//! recovered and failed-but-applied tasks, and idempotency keys that map to two tasks.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Capped, FinalTask};
use crate::history::{Entry, Millis, Timing};

/// An acknowledged task that did not end as it must (SUCCESS, or EXPIRED if it could only expire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lost {
    pub key: String,
    pub task_id: String,
    /// When the first acknowledgement for this task came back.
    pub acked_at: Millis,
    /// The state the cluster held at the end; `None` when it did not hold the task at all.
    pub final_state: Option<String>,
}

impl Lost {
    pub(super) fn describe(&self) -> String {
        format!(
            "lost: key {} (task {}) acknowledged at {} ms, final state {}",
            self.key,
            self.task_id,
            self.acked_at,
            self.final_state.as_deref().unwrap_or("missing")
        )
    }
}

/// A task nobody submitted, by where it showed up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "seen_in", rename_all = "snake_case")]
pub enum Unexpected {
    /// The final state holds a task under a key that was never submitted.
    Final {
        task_id: String,
        key: String,
        final_state: String,
    },
    /// A worker ran a task that was neither acknowledged nor in the final state.
    Executed { task_id: String },
}

impl Unexpected {
    pub(super) fn describe(&self) -> String {
        match self {
            Unexpected::Final {
                task_id,
                key,
                final_state,
            } => format!(
                "unexpected: task {task_id} with key {key} is in the final state ({final_state}) but was never submitted"
            ),
            Unexpected::Executed { task_id } => format!(
                "unexpected: task {task_id} was executed but never acknowledged nor in the final state"
            ),
        }
    }
}

/// A submit of unknown outcome that did arrive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recovered {
    pub key: String,
    pub task_id: String,
    pub final_state: String,
}

impl Recovered {
    /// For one that arrived but did not run to the end: the cluster accepted it, so it owes it
    /// a result as much as an acknowledged one.
    pub(super) fn describe_unfinished(&self) -> String {
        format!(
            "unfinished: key {} (task {}) arrived after an unknown outcome but ended {}",
            self.key, self.task_id, self.final_state
        )
    }
}

/// A submit the producer was told certainly failed, which the cluster holds all the same: an
/// error classified as "not applied" that was applied breaks what clients rely on to retry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedApplied {
    pub key: String,
    pub task_id: String,
    pub final_state: String,
}

impl FailedApplied {
    pub(super) fn describe(&self) -> String {
        format!(
            "failed but applied: every submit of key {} failed, yet task {} is in the final state ({})",
            self.key, self.task_id, self.final_state
        )
    }
}

/// An idempotency key that maps to more than one task, in acknowledgements or the final state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyConflict {
    pub key: String,
    pub task_ids: Vec<String>,
}

impl KeyConflict {
    pub(super) fn describe(&self) -> String {
        format!(
            "idempotency: key {} maps to tasks {}",
            self.key,
            self.task_ids.join(", ")
        )
    }
}

/// The submit side of a verdict.
#[derive(Debug, Default)]
pub(super) struct SubmitFindings {
    pub operations: usize,
    pub acknowledged: usize,
    pub failed: usize,
    pub unknown: usize,
    pub lost: Capped<Lost>,
    pub unexpected: Capped<Unexpected>,
    pub recovered: Capped<Recovered>,
    pub unfinished: Capped<Recovered>,
    pub failed_but_applied: Capped<FailedApplied>,
    pub key_conflicts: Capped<KeyConflict>,
}

/// Everything the producers heard about one key.
#[derive(Debug, Default)]
struct KeyHistory<'a> {
    invokes: usize,
    /// Each acknowledgement: when, and the task id it named.
    oks: Vec<(Millis, &'a str)>,
    fails: usize,
    unknowns: usize,
    /// What the key's task asked of time, which decides the state it must end in.
    timing: Timing,
}

/// What a producer can know about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Acknowledged,
    /// Every submit completed and certainly failed.
    Failed,
    /// Not acknowledged, and some submit may have been applied: its error left the outcome
    /// unknown, or it was still in flight when the run stopped.
    Unknown,
}

impl KeyHistory<'_> {
    fn outcome(&self) -> Outcome {
        if !self.oks.is_empty() {
            Outcome::Acknowledged
        } else if self.fails > 0 && self.unknowns == 0 && self.fails >= self.invokes {
            Outcome::Failed
        } else {
            Outcome::Unknown
        }
    }

    /// The distinct task ids acknowledged for this key, each with its first acknowledgement.
    fn acknowledged_tasks(&self) -> BTreeMap<&str, Millis> {
        let mut tasks = BTreeMap::new();
        for &(t, task_id) in &self.oks {
            tasks
                .entry(task_id)
                .and_modify(|first: &mut Millis| *first = (*first).min(t))
                .or_insert(t);
        }
        tasks
    }
}

/// Groups the submit entries by key.
fn key_histories(entries: &[Entry]) -> BTreeMap<&str, KeyHistory<'_>> {
    let mut keys: BTreeMap<&str, KeyHistory> = BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::Invoke { key, timing, .. } => {
                let history = keys.entry(key).or_default();
                history.invokes += 1;
                history.timing = *timing;
            }
            Entry::Ok { t, key, task_id, .. } => keys.entry(key).or_default().oks.push((*t, task_id)),
            Entry::Fail { key, .. } => keys.entry(key).or_default().fails += 1,
            Entry::Unknown { key, .. } => keys.entry(key).or_default().unknowns += 1,
            _ => {}
        }
    }
    keys
}

pub(super) fn check(entries: &[Entry]) -> SubmitFindings {
    let keys = key_histories(entries);
    let finals = super::final_tasks(entries);
    let mut finals_by_key: BTreeMap<&str, BTreeMap<&str, FinalTask>> = BTreeMap::new();
    for (&task_id, task) in &finals {
        finals_by_key.entry(task.key).or_default().insert(task_id, *task);
    }

    let mut found = SubmitFindings {
        operations: keys.values().map(|history| history.invokes).sum(),
        ..SubmitFindings::default()
    };
    for (&key, history) in &keys {
        let in_final = finals_by_key.get(key);
        match history.outcome() {
            Outcome::Acknowledged => {
                found.acknowledged += 1;
                find_lost(key, history, &finals, &mut found.lost);
            }
            Outcome::Failed => {
                found.failed += 1;
                for (task_id, task) in in_final.into_iter().flatten() {
                    found.failed_but_applied.push(FailedApplied {
                        key: key.to_owned(),
                        task_id: (*task_id).to_owned(),
                        final_state: task.state.to_owned(),
                    });
                }
            }
            Outcome::Unknown => {
                found.unknown += 1;
                for (task_id, task) in in_final.into_iter().flatten() {
                    let recovered = Recovered {
                        key: key.to_owned(),
                        task_id: (*task_id).to_owned(),
                        final_state: task.state.to_owned(),
                    };
                    if task.state != history.timing.final_state() {
                        found.unfinished.push(recovered.clone());
                    }
                    found.recovered.push(recovered);
                }
            }
        }
        find_key_conflict(key, history, in_final, &mut found.key_conflicts);
    }
    find_unexpected(entries, &keys, &finals, &mut found.unexpected);
    found
}

/// Each task acknowledged for `key` must end as its timing says: SUCCESS, or EXPIRED for a task
/// of the queue nobody serves.
fn find_lost(key: &str, history: &KeyHistory, finals: &BTreeMap<&str, FinalTask>, lost: &mut Capped<Lost>) {
    for (task_id, acked_at) in history.acknowledged_tasks() {
        let final_state = finals.get(task_id).map(|task| task.state);
        if final_state != Some(history.timing.final_state()) {
            lost.push(Lost {
                key: key.to_owned(),
                task_id: task_id.to_owned(),
                acked_at,
                final_state: final_state.map(str::to_owned),
            });
        }
    }
}

/// An idempotency key names one task: every acknowledgement and the final state must agree.
fn find_key_conflict(
    key: &str,
    history: &KeyHistory,
    in_final: Option<&BTreeMap<&str, FinalTask>>,
    conflicts: &mut Capped<KeyConflict>,
) {
    let mut task_ids: BTreeSet<&str> = history.oks.iter().map(|&(_, task_id)| task_id).collect();
    task_ids.extend(in_final.into_iter().flat_map(|tasks| tasks.keys().copied()));
    if task_ids.len() > 1 {
        conflicts.push(KeyConflict {
            key: key.to_owned(),
            task_ids: task_ids.into_iter().map(str::to_owned).collect(),
        });
    }
}

/// Tasks in the final state under a key never invoked, then tasks executed that neither an
/// acknowledgement nor the final state names. Each task is reported once.
fn find_unexpected(
    entries: &[Entry],
    keys: &BTreeMap<&str, KeyHistory>,
    finals: &BTreeMap<&str, FinalTask>,
    unexpected: &mut Capped<Unexpected>,
) {
    let invoked = |key: &str| keys.get(key).is_some_and(|history| history.invokes > 0);
    for (&task_id, task) in finals {
        if !invoked(task.key) {
            unexpected.push(Unexpected::Final {
                task_id: task_id.to_owned(),
                key: task.key.to_owned(),
                final_state: task.state.to_owned(),
            });
        }
    }
    let acknowledged: BTreeSet<&str> = keys
        .values()
        .flat_map(|history| history.oks.iter().map(|&(_, task_id)| task_id))
        .collect();
    let executed: BTreeSet<&str> = entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Executed { task_id, .. } => Some(task_id.as_str()),
            _ => None,
        })
        .collect();
    // Tasks of flows and the schedule are the flows check's to judge.
    let steps: BTreeSet<&str> = entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::FinalStep { task_id, .. } => Some(task_id.as_str()),
            _ => None,
        })
        .collect();
    for task_id in executed {
        if !finals.contains_key(task_id) && !acknowledged.contains(task_id) && !steps.contains(task_id) {
            unexpected.push(Unexpected::Executed {
                task_id: task_id.to_owned(),
            });
        }
    }
}
