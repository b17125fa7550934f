//! Rate limits and per-key concurrency limits, applied where leases are decided; queue caps,
//! applied where submits are.
//!
//! A lease looks only at tasks that could start now ([`QueueState::may_start`]: their queue's and
//! their name's windows have room, and their concurrency key is below its limit), then admits
//! them one by one against an [`Admission`] that counts what this lease already took, so one
//! lease of many tasks cannot overshoot a limit either.

use std::collections::BTreeMap;

use super::QueueState;
use super::entry::TaskEntry;
use crate::queue::cap::{CapKind, Held, QueueCap, Usage};
use crate::queue::command::{Outcome, Rejection};
use crate::queue::limit::{Limit, LimitScope, Rate};
use crate::queue::record::RecordId;

impl QueueState {
    pub fn limits(&self) -> impl Iterator<Item = &Limit> {
        self.limits.values()
    }

    pub fn limit(&self, scope: &LimitScope) -> Option<&Limit> {
        self.limits.get(scope)
    }

    /// Concurrency keys with tasks holding a lease now, and how many.
    pub fn running_keys(&self) -> impl Iterator<Item = (&String, u32)> {
        self.running_keys.iter().map(|(key, running)| (key, *running))
    }

    /// Tasks with this concurrency key that hold a lease now.
    pub fn running_with_key(&self, key: &str) -> u32 {
        self.running_keys.get(key).copied().unwrap_or(0)
    }

    /// Sets or changes a limit; the starts already counted stay counted.
    pub(super) fn set_limit(&mut self, scope: LimitScope, rate: Rate) -> Outcome {
        if let Err(reason) = rate.must_be_valid() {
            return Outcome::Rejected(crate::queue::Rejection::Invalid(reason));
        }
        let starts = self
            .limits
            .remove(&scope)
            .map(|limit| limit.starts)
            .unwrap_or_default();
        self.changed.insert(RecordId::Limit(scope.clone()));
        self.limits.insert(scope.clone(), Limit { scope, rate, starts });
        Outcome::Done
    }

    /// Removes the rate limit of `scope` and, for a queue, its caps: `Count` of what was there.
    pub(super) fn remove_limit(&mut self, scope: LimitScope) -> Outcome {
        let mut removed = u64::from(self.limits.remove(&scope).is_some());
        if let LimitScope::Queue(queue) = &scope
            && self.caps.remove(queue).is_some()
        {
            removed += 1;
            self.changed.insert(RecordId::Cap(queue.clone()));
        }
        self.changed.insert(RecordId::Limit(scope));
        Outcome::Count(removed)
    }

    pub fn caps(&self) -> impl Iterator<Item = &QueueCap> {
        self.caps.values()
    }

    /// What `queue` holds now: its unfinished tasks and their bytes.
    pub fn held(&self, queue: &str) -> Held {
        self.held.get(queue).copied().unwrap_or_default()
    }

    /// What the whole state holds: every task, finished ones included, and their bytes.
    pub fn usage(&self) -> Usage {
        Usage {
            tasks: self.tasks.len() as u64,
            bytes: self.stored_bytes,
        }
    }

    /// Sets one cap of `queue`; 0 removes it, and a queue left without caps loses its record.
    pub(super) fn set_cap(&mut self, queue: String, kind: CapKind, value: u64) -> Outcome {
        if let Err(reason) = crate::queue::validate::must_be_name("queue name", &queue) {
            return Outcome::Rejected(Rejection::Invalid(reason));
        }
        let mut cap = self
            .caps
            .remove(&queue)
            .unwrap_or_else(|| QueueCap::new(queue.clone()));
        cap.set(kind, value);
        self.changed.insert(RecordId::Cap(queue.clone()));
        if !cap.is_empty() {
            self.caps.insert(queue, cap);
        }
        Outcome::Done
    }

    /// The refusal for one more task of `bytes` in `queue`, if it would break a cap.
    pub(super) fn must_fit(&self, queue: &str, bytes: u64) -> Result<(), Rejection> {
        let Some(cap) = self.caps.get(queue) else {
            return Ok(());
        };
        match cap.broken_by(self.held(queue), bytes) {
            None => Ok(()),
            Some((cap, max)) => Err(Rejection::QueueFull {
                queue: queue.to_owned(),
                cap,
                max,
            }),
        }
    }

    /// Whether the task of `entry` could start now, by every limit that applies to it.
    pub(super) fn may_start(&self, entry: &TaskEntry) -> bool {
        if self.limits.is_empty() && entry.concurrency.is_none() {
            return true;
        }
        let now = self.meta.now_ms;
        let window_has_room = |scope: LimitScope| self.limits.get(&scope).is_none_or(|l| l.room(now) > 0);
        window_has_room(LimitScope::Queue(self.names.get(entry.queue).to_owned()))
            && window_has_room(LimitScope::Task(self.names.get(entry.name).to_owned()))
            && entry
                .concurrency
                .is_none_or(|(key, max)| self.running_with_key(self.names.get(key)) < max)
    }

    /// Whether a queue's own rate limit leaves room now: a queue that is full is not scanned.
    pub(super) fn queue_has_room(&self, queue: &str) -> bool {
        self.limits
            .get(&LimitScope::Queue(queue.to_string()))
            .is_none_or(|l| l.room(self.meta.now_ms) > 0)
    }

    /// Counts a start against the limits of the task's queue and name.
    pub(super) fn record_start(&mut self, task_queue: &str, task_name: &str) {
        let now = self.meta.now_ms;
        for scope in [
            LimitScope::Queue(task_queue.to_string()),
            LimitScope::Task(task_name.to_string()),
        ] {
            if let Some(limit) = self.limits.get_mut(&scope) {
                limit.record_start(now);
                self.changed.insert(RecordId::Limit(scope));
            }
        }
    }

    /// When a full window next has room: a tick then lets the waiting tasks start.
    pub(super) fn next_limit_free_ms(&self) -> Option<u64> {
        let now = self.meta.now_ms;
        self.limits.values().filter_map(|l| l.frees_at(now)).min()
    }
}

/// What one lease has admitted so far, on top of what the state already counts.
#[derive(Default)]
pub(super) struct Admission {
    taken: BTreeMap<LimitScope, u32>,
    keys: BTreeMap<String, u32>,
}

impl Admission {
    /// Admits the task of `entry` if every limit still has room after what this lease took,
    /// and counts it.
    pub(super) fn admit(&mut self, state: &QueueState, entry: &TaskEntry) -> bool {
        if state.limits.is_empty() && entry.concurrency.is_none() {
            return true;
        }
        let now = state.meta.now_ms;
        let scopes = [
            LimitScope::Queue(state.names.get(entry.queue).to_owned()),
            LimitScope::Task(state.names.get(entry.name).to_owned()),
        ];
        for scope in &scopes {
            if let Some(limit) = state.limits.get(scope) {
                let taken = self.taken.get(scope).copied().unwrap_or(0);
                if limit.room(now) <= taken {
                    return false;
                }
            }
        }
        if let Some((key, max)) = entry.concurrency {
            let key = state.names.get(key);
            let taken = self.keys.get(key).copied().unwrap_or(0);
            if state.running_with_key(key) + taken >= max {
                return false;
            }
            *self.keys.entry(key.to_owned()).or_default() += 1;
        }
        for scope in scopes {
            if state.limits.contains_key(&scope) {
                *self.taken.entry(scope).or_default() += 1;
            }
        }
        true
    }
}
