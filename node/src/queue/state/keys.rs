//! Idempotency keys: held from the submit that first used one until its window closes, apart
//! from the task itself, which may be deleted (result TTL, purge) long before.

use super::QueueState;
use crate::queue::command::{Outcome, Rejection};
use crate::queue::dedup::{HeldKey, fingerprint};
use crate::queue::record::RecordId;
use crate::queue::submit::SubmitTask;
use crate::queue::task::{Task, TaskId, TaskState};

impl QueueState {
    /// What a submit with a key in its window gets: the first task, or a refusal when the key
    /// was used for a different task. `None` when the submit is the key's first.
    pub(super) fn answer_for_held_key(&self, submit: &SubmitTask) -> Option<Outcome> {
        let key = submit.idempotency_key.as_ref()?;
        let held = self
            .keys
            .get(key)
            .filter(|held| held.until_ms > self.meta.now_ms)?;
        if held.fingerprint != fingerprint(&submit.name, &submit.queue, &submit.args) {
            return Some(Outcome::Rejected(Rejection::KeyReused {
                key: key.clone(),
                task: held.task,
            }));
        }
        let state = self
            .task_state(&held.task)
            .or(held.last_state)
            .unwrap_or(TaskState::Revoked);
        Some(Outcome::Submitted {
            id: held.task,
            state,
            duplicate: true,
        })
    }

    /// Holds the key of task `task`, just accepted, for `window_ms` of cluster time.
    pub(super) fn hold_new_key(&mut self, key: String, task: TaskId, fingerprint: u64, window_ms: u64) {
        self.changed.insert(RecordId::Key(key.clone()));
        self.hold(HeldKey {
            key,
            task,
            fingerprint,
            until_ms: self.meta.now_ms.saturating_add(window_ms),
            last_state: None,
        });
    }

    pub(super) fn hold(&mut self, held: HeldKey) {
        self.key_expiry.insert((held.until_ms, held.key.clone()));
        self.keys.insert(held.key.clone(), held);
    }

    /// A task restored from before keys had records of their own holds its key as it did then.
    pub(super) fn hold_legacy_key(&mut self, task: &Task) {
        if let (Some(key), Some(until)) = (&task.idempotency_key, task.dedup_until_ms)
            && until > self.meta.now_ms
            && !self.keys.contains_key(key)
        {
            self.hold(HeldKey {
                key: key.clone(),
                task: task.id,
                fingerprint: fingerprint(&task.name, &task.queue, &task.args),
                until_ms: until,
                last_state: None,
            });
        }
    }

    /// A task is deleted while its key is held: the key remembers how it ended (a task deleted
    /// before it finished, by a purge, counts as revoked).
    pub(super) fn outlive_key(&mut self, task: &Task) {
        if let Some(key) = &task.idempotency_key
            && let Some(held) = self.keys.get_mut(key)
            && held.task == task.id
        {
            held.last_state = Some(if task.state.is_final() {
                task.state
            } else {
                TaskState::Revoked
            });
            self.changed.insert(RecordId::Key(key.clone()));
        }
    }

    /// Forgets the keys whose window has closed.
    pub(super) fn expire_keys(&mut self) {
        let now = self.meta.now_ms;
        while let Some((until, key)) = self.key_expiry.first().cloned() {
            if until > now {
                break;
            }
            self.key_expiry.pop_first();
            if self.keys.get(&key).is_some_and(|held| held.until_ms == until) {
                self.keys.remove(&key);
                self.changed.insert(RecordId::Key(key));
            }
        }
    }
}
