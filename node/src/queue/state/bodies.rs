//! Task bodies: everything about a task beyond its [`TaskEntry`](super::entry::TaskEntry). With a
//! [`TaskStore`] (a node's storage) a body must be in memory from the apply that changes it until
//! the caller has written that apply's records ([`QueueState::written`]); after that it is read
//! back from the store, unless memory still keeps it: a read from the store costs a lookup and
//! a decode inside apply. Two kinds are kept, [`CACHED_BYTES`] of each:
//! - bodies of waiting tasks while they fit, first come first kept: a queue hands out its
//!   oldest tasks first, so a backlog's head stays in memory and its tail waits on disk;
//! - bodies of other tasks (started, finished) in two generations of recent writes: a started
//!   task is answered soon, a finished one read by whoever waits for it.
//!
//! Without a store (tests, tools) every body stays in memory.
//!
//! Apply stays deterministic: the store returns exactly what this replica wrote, which is what
//! every replica wrote.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::QueueState;
use crate::queue::task::{Task, TaskId};

/// Where written task bodies are read back from: the task's record joined with its payload.
pub trait TaskStore: Send + Sync {
    /// The stored body of `id`; `None` if there is no record. An error is a storage failure.
    fn read(&self, id: TaskId) -> Result<Option<Task>, String>;
}

/// Bytes of written bodies kept in memory of each kind, about (a body counts its payload, result
/// and error, plus [`BODY_OVERHEAD`]).
pub const CACHED_BYTES: u64 = 64 << 20;
const BODY_OVERHEAD: u64 = 256;

#[derive(Clone, Default)]
pub(super) struct Bodies {
    /// Bodies not yet written to the store; every body when there is no store.
    pub unwritten: BTreeMap<TaskId, Box<Task>>,
    pub store: Option<Arc<dyn TaskStore>>,
    /// Bodies of waiting tasks, kept while they fit.
    waiting: Generation,
    /// Bodies of other tasks written lately, in two generations: the newer fills up to half the
    /// budget, then becomes the older, and the older is dropped. No order to keep, nothing to
    /// evict one by one.
    newer: Generation,
    older: Generation,
    /// At most this many (about); [`CACHED_BYTES`] but in tests.
    budget: Option<u64>,
    /// The first failure to read the store during apply: the caller must not write what that
    /// apply changed, and must stop.
    pub failure: Option<String>,
}

#[derive(Clone, Default)]
struct Generation {
    bodies: BTreeMap<TaskId, Box<Task>>,
    bytes: u64,
}

impl Generation {
    fn take(&mut self, id: &TaskId) -> Option<Box<Task>> {
        let body = self.bodies.remove(id)?;
        self.bytes = self.bytes.saturating_sub(size(&body));
        Some(body)
    }
}

impl fmt::Debug for Bodies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bodies")
            .field("unwritten", &self.unwritten.len())
            .field("waiting", &self.waiting.bodies.len())
            .field("recent", &(self.newer.bodies.len() + self.older.bodies.len()))
            .field("store", &self.store.is_some())
            .field("failure", &self.failure)
            .finish()
    }
}

impl Bodies {
    pub fn over(store: Option<Arc<dyn TaskStore>>) -> Bodies {
        Bodies {
            store,
            ..Bodies::default()
        }
    }

    /// A written body, if it is still kept.
    fn cached(&self, id: &TaskId) -> Option<&Task> {
        [&self.waiting, &self.newer, &self.older]
            .into_iter()
            .find_map(|generation| generation.bodies.get(id))
            .map(Box::as_ref)
    }

    fn take_cached(&mut self, id: &TaskId) -> Option<Box<Task>> {
        self.waiting
            .take(id)
            .or_else(|| self.newer.take(id))
            .or_else(|| self.older.take(id))
    }

    /// Keeps the bodies just written; a full newer generation replaces the older.
    fn keep_written(&mut self) {
        let budget = self.budget.unwrap_or(CACHED_BYTES);
        if budget == 0 {
            self.unwritten.clear();
            return;
        }
        let half = budget / 2;
        for (id, body) in std::mem::take(&mut self.unwritten) {
            // A body is kept in at most one place: taking it out moves it to `unwritten`.
            let bytes = size(&body);
            if body.state.is_waiting() {
                if self.waiting.bytes + bytes <= budget {
                    self.waiting.bytes += bytes;
                    self.waiting.bodies.insert(id, body);
                }
                continue;
            }
            self.newer.bytes += bytes;
            self.newer.bodies.insert(id, body);
            if self.newer.bytes > half {
                self.older = std::mem::take(&mut self.newer);
            }
        }
    }

    #[cfg(test)]
    fn cached_len(&self) -> usize {
        self.waiting.bodies.len() + self.newer.bodies.len() + self.older.bodies.len()
    }
}

fn size(body: &Task) -> u64 {
    body.stored_bytes() + BODY_OVERHEAD
}

impl QueueState {
    /// Task `id` as it is now.
    pub fn task(&self, id: &TaskId) -> Option<Cow<'_, Task>> {
        if !self.tasks.contains_key(id) {
            return None;
        }
        if let Some(body) = self.bodies.unwritten.get(id) {
            return Some(Cow::Borrowed(body));
        }
        if let Some(body) = self.bodies.cached(id) {
            return Some(Cow::Borrowed(body));
        }
        let store = self.bodies.store.as_ref()?;
        match store.read(*id) {
            Ok(body) => body.map(Cow::Owned),
            Err(e) => {
                tracing::error!(task = %id, error = %e, "reading a task from storage failed");
                None
            }
        }
    }

    /// The state of task `id`, from memory alone.
    pub fn task_state(&self, id: &TaskId) -> Option<crate::queue::TaskState> {
        self.tasks.get(id).map(|entry| entry.state)
    }

    /// Every task, oldest id first.
    pub fn tasks(&self) -> impl DoubleEndedIterator<Item = Cow<'_, Task>> + '_ {
        self.tasks.keys().filter_map(|id| self.task(id))
    }

    /// The records of the changes taken last were written to the store: their bodies are read
    /// from it from now on, or kept in the caches.
    pub fn written(&mut self) {
        if self.bodies.store.is_some() {
            self.bodies.keep_written();
        }
    }

    /// A storage failure met while applying, once: the changes of that apply must not be
    /// written, and the node must stop (its memory no longer matches any stored state).
    pub fn take_failure(&mut self) -> Option<String> {
        self.bodies.failure.take()
    }

    /// Task `id`'s body, taken out to be changed (or to decide on); it must go back through
    /// [`QueueState::insert`], [`QueueState::keep`] or be deleted.
    pub(super) fn take_body(&mut self, id: TaskId) -> Option<Box<Task>> {
        if !self.tasks.contains_key(&id) {
            return None;
        }
        if let Some(body) = self.bodies.unwritten.remove(&id) {
            return Some(body);
        }
        if let Some(body) = self.bodies.take_cached(&id) {
            return Some(body);
        }
        let read = match &self.bodies.store {
            Some(store) => store.read(id),
            None => Ok(None),
        };
        match read {
            Ok(Some(body)) => Some(Box::new(body)),
            Ok(None) => {
                self.storage_failed(format!("task {id} is indexed but has no stored record"));
                None
            }
            Err(e) => {
                self.storage_failed(format!("reading task {id} from storage failed: {e}"));
                None
            }
        }
    }

    /// A body taken out and left unchanged goes back.
    pub(super) fn keep(&mut self, body: Box<Task>) {
        self.bodies.unwritten.insert(body.id, body);
    }

    /// Keeps at most `bytes` of written bodies (0: read every body back from the store).
    #[cfg(test)]
    pub fn cache_bodies(&mut self, bytes: u64) {
        self.bodies.budget = Some(bytes);
    }

    /// Bodies not yet written, and written bodies kept.
    #[cfg(test)]
    pub fn bodies_in_memory(&self) -> (usize, usize) {
        (self.bodies.unwritten.len(), self.bodies.cached_len())
    }

    pub(super) fn storage_failed(&mut self, failure: String) {
        tracing::error!(%failure, "a task's body could not be read during apply");
        self.bodies.failure.get_or_insert(failure);
    }
}
