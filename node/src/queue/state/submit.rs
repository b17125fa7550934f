//! Accepting tasks, and the idempotency that makes a retried submit safe.

use super::QueueState;
use crate::queue::command::{Outcome, Rejection};
use crate::queue::dedup::fingerprint;
use crate::queue::submit::SubmitTask;
use crate::queue::task::{Task, TaskState};
use crate::queue::validate;

impl QueueState {
    /// The refusal a submit surely gets, judged before it is proposed, so that refusing it
    /// costs no log entry: its queue is full even for an empty task. `None` when it may fit,
    /// and for a resend (its id stored, or its key held), which apply answers with the stored
    /// task, full queue or not. Judged on this replica, which may lag the leader by a few
    /// entries: apply decides whatever this says.
    pub fn refuses_at_once(&self, submit: &SubmitTask) -> Option<Rejection> {
        // The cap first: most queues have none, and then nothing else is looked up.
        let full = self.must_fit(&submit.queue, 0).err()?;
        let resent = self.task_state(&submit.id).is_some() || self.answer_for_held_key(submit).is_some();
        (!resent).then_some(full)
    }

    pub(super) fn submit(&mut self, submit: SubmitTask) -> Outcome {
        // The API validated this already; a command from an older or buggy proposer must still
        // not be able to store a task that breaks the limits.
        if let Err(reason) = validate::must_be_valid_submit(&submit, usize::MAX) {
            return Outcome::Rejected(Rejection::Invalid(reason));
        }
        if let Some(state) = self.task_state(&submit.id) {
            // The same command applied twice (a proposer's resend).
            return Outcome::Submitted {
                id: submit.id,
                state,
                duplicate: true,
            };
        }
        if let Some(answer) = self.answer_for_held_key(&submit) {
            return answer;
        }
        if let Err(full) = self.must_fit(&submit.queue, submit.stored_bytes()) {
            return Outcome::Rejected(full);
        }
        let now = self.meta.now_ms;
        let key = submit
            .idempotency_key
            .clone()
            .map(|key| (key, fingerprint(&submit.name, &submit.queue, &submit.args)));
        let eta_ms = submit
            .eta_ms
            .or_else(|| submit.countdown_ms.map(|countdown| now.saturating_add(countdown)));
        let scheduled = eta_ms.is_some_and(|eta| eta > now);
        let task = Task {
            id: submit.id,
            payload_bytes: Some(submit.stored_bytes()),
            name: submit.name,
            queue: submit.queue,
            args: submit.args,
            headers: submit.headers,
            priority: submit.priority,
            state: if scheduled {
                TaskState::Scheduled
            } else {
                TaskState::Pending
            },
            seq: self.meta.next_seq,
            created_at_ms: now,
            options: submit.options,
            attempts: 0,
            deliveries: 0,
            retries: 0,
            worker: None,
            lease: None,
            result: None,
            error: None,
            eta_ms,
            expires_at_ms: submit.expires_in_ms.map(|d| now.saturating_add(d)),
            retry_at_ms: None,
            started_at_ms: None,
            finished_at_ms: None,
            // The key's window is kept by the held key, which outlives the task.
            dedup_until_ms: None,
            idempotency_key: submit.idempotency_key,
            flow: submit.flow,
            finish_seq: None,
        };
        self.meta.next_seq += 1;
        let outcome = Outcome::Submitted {
            id: task.id,
            state: task.state,
            duplicate: false,
        };
        if let Some((key, fingerprint)) = key {
            self.hold_new_key(key, task.id, fingerprint, submit.dedup_window_ms);
        }
        self.add(task);
        // An expiry of zero, say: settle now rather than at the next tick.
        self.settle_due();
        outcome
    }
}
