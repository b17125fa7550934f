//! The timeline: events made in apply, what the leader observes of the cluster, and the
//! per-queue totals that rates are computed from.

use crate::queue::record::RecordId;
use serde::{Deserialize, Serialize};

use super::{QueueState, by_queue};
use crate::queue::command::Outcome;
use crate::queue::event::{EVENT_CAPACITY, Event, EventKind, MemberChange, Observation, shortened};
use crate::queue::task::{Task, TaskState};

/// Counts that only grow, per queue: the source of rates and of Prometheus counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueTotals {
    /// Tasks accepted.
    pub enqueued: u64,
    /// Attempts that succeeded.
    pub completed: u64,
    /// Attempts that failed, whether retried or dead (a lease that ran out at the delivery
    /// limit included).
    pub failed: u64,
}

/// A queue's totals as stored: a record of their own (`q` + queue), written only when they
/// change, not with the state's scalars on every apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalsRecord {
    pub queue: String,
    pub totals: QueueTotals,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectedLeader {
    pub term: u64,
    pub node: u64,
}

impl QueueState {
    /// Events with a sequence number above `after_seq`, oldest first.
    pub fn events_after(&self, after_seq: u64) -> impl Iterator<Item = &Event> {
        // Sequence numbers are consecutive, so the first wanted one is found by arithmetic.
        let skip = self
            .events
            .front()
            .map_or(0, |first| after_seq.saturating_add(1).saturating_sub(first.seq));
        self.events
            .iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
    }

    pub fn event(&self, seq: u64) -> Option<&Event> {
        let first = self.events.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.events.get(index)
    }

    pub fn totals(&self) -> &std::collections::BTreeMap<String, QueueTotals> {
        &self.totals
    }

    /// The totals of `queue`, to be changed (and so written).
    pub(super) fn queue_totals(&mut self, queue: &str) -> &mut QueueTotals {
        self.changed.insert(RecordId::Totals(queue.to_owned()));
        by_queue(&mut self.totals, queue)
    }

    /// Totals restored from the scalars, where they were kept before they had records: moved to
    /// records, written by the next apply together with the scalars that no longer hold them.
    pub(super) fn move_totals_out_of_meta(&mut self) {
        for (queue, totals) in std::mem::take(&mut self.meta.totals) {
            self.changed.insert(RecordId::Totals(queue.clone()));
            self.totals.entry(queue).or_insert(totals);
        }
    }

    /// Appends an event at the current cluster time, dropping the oldest beyond capacity.
    pub(super) fn record(&mut self, kind: EventKind) {
        self.meta.last_event_seq += 1;
        let seq = self.meta.last_event_seq;
        self.events.push_back(Event {
            seq,
            at_ms: self.meta.now_ms,
            kind,
        });
        self.changed.insert(RecordId::Event(seq));
        while self.events.len() > EVENT_CAPACITY {
            if let Some(dropped) = self.events.pop_front() {
                self.changed.insert(RecordId::Event(dropped.seq));
            }
        }
    }

    pub(super) fn observe(&mut self, observation: Observation) -> Outcome {
        match observation {
            Observation::LeaderElected {
                node,
                term,
                election_ms,
            } => {
                // A leader that lost its term before this applied, or a resent observation.
                if self.meta.leader.is_some_and(|known| known.term >= term) {
                    return Outcome::Done;
                }
                let previous = self.meta.leader.map(|known| known.node);
                self.meta.leader = Some(ElectedLeader { term, node });
                self.record(EventKind::LeaderElected {
                    node,
                    term,
                    election_ms,
                    previous,
                });
            }
            Observation::Reachability { node, reachable } => {
                let changed = if reachable {
                    self.meta.unreachable.remove(&node)
                } else {
                    self.meta.unreachable.insert(node)
                };
                if changed {
                    self.record(EventKind::NodeReachability { node, reachable });
                }
            }
            Observation::Membership { node, addr, change } => {
                if change == MemberChange::Removed {
                    // A resent observation: recorded already.
                    if !self.meta.retired.insert(node) {
                        return Outcome::Done;
                    }
                    self.meta.unreachable.remove(&node);
                }
                self.record(EventKind::Membership { node, addr, change });
            }
            Observation::Active { node } => {
                self.meta.active.insert(node);
            }
            Observation::ClockSkew { node, skew_ms } => {
                let in_step = skew_ms.unsigned_abs() <= crate::clock::MAX_SKEW_MS;
                let changed = if in_step {
                    self.meta.clock_skewed.remove(&node)
                } else {
                    self.meta.clock_skewed.insert(node)
                };
                if changed {
                    self.record(EventKind::ClockSkew {
                        node,
                        skew_ms,
                        in_step,
                    });
                }
            }
            Observation::LogReverted { node } => {
                self.meta.log_reversions += 1;
                self.record(EventKind::LogReverted { node });
            }
        }
        Outcome::Done
    }

    /// Totals, run times and failure events for a task that moved out of `before`.
    pub(super) fn count_transition(&mut self, task: &Task, before: TaskState) {
        if before != TaskState::Started {
            return;
        }
        let now = self.meta.now_ms;
        let ran_ms = task.started_at_ms.map(|started| now.saturating_sub(started));
        match task.state {
            TaskState::Success => self.queue_totals(&task.queue).completed += 1,
            TaskState::Retry | TaskState::Failure => {
                self.queue_totals(&task.queue).failed += 1;
                self.record(EventKind::TaskFailed {
                    id: task.id,
                    name: task.name.clone(),
                    queue: task.queue.clone(),
                    error: shortened(task.error.as_deref().unwrap_or_default()),
                    dead: task.state == TaskState::Failure,
                });
            }
            // Released, revoked, or a lease that ran out: the attempt did not end in an answer.
            _ => return,
        }
        if let Some(ran_ms) = ran_ms {
            self.run_times_ms.push(ran_ms);
        }
    }
}
