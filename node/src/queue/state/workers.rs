//! The worker registry: register, heartbeat, leave, and the counters answers feed.

use std::collections::BTreeMap;

use super::QueueState;
use crate::queue::command::{Outcome, Rejection};
use crate::queue::event::EventKind;
use crate::queue::record::RecordId;
use crate::queue::task::TaskId;
use crate::queue::worker::{WORKER_TTL_MS, WorkerInfo, WorkerRegistration};

impl QueueState {
    pub fn workers(&self) -> impl Iterator<Item = &WorkerInfo> {
        self.workers.values()
    }

    pub fn worker(&self, id: &str) -> Option<&WorkerInfo> {
        self.workers.get(id)
    }

    /// The tasks holding a lease of `worker`, each with its delivery number, in id order.
    pub fn leased_to(&self, worker: &str) -> Vec<(TaskId, u32)> {
        self.leases
            .get(worker)
            .map(|held| held.iter().map(|(id, delivery)| (*id, *delivery)).collect())
            .unwrap_or_default()
    }

    /// How many tasks hold a lease of `worker`.
    pub fn leased_count(&self, worker: &str) -> usize {
        self.leases.get(worker).map_or(0, BTreeMap::len)
    }

    pub(super) fn register_worker(&mut self, registration: WorkerRegistration) -> Outcome {
        let now = self.meta.now_ms;
        let previous = self.workers.remove(&registration.id);
        let worker = WorkerInfo {
            id: registration.id.clone(),
            node: registration.node,
            kind: registration.kind,
            queues: registration.queues,
            names: registration.names,
            concurrency: registration.concurrency,
            active: 0,
            // A worker re-registering after a restart keeps its history.
            processed: previous.as_ref().map_or(0, |w| w.processed),
            failed: previous.as_ref().map_or(0, |w| w.failed),
            registered_at_ms: previous.as_ref().map_or(now, |w| w.registered_at_ms),
            last_seen_ms: now,
        };
        if previous.is_none() {
            self.record(EventKind::WorkerJoined {
                worker: worker.id.clone(),
                node: worker.node.clone(),
            });
        }
        self.changed.insert(RecordId::Worker(worker.id.clone()));
        self.workers.insert(worker.id.clone(), worker);
        Outcome::Done
    }

    pub(super) fn worker_heartbeat(&mut self, id: &str, active: u32) -> Outcome {
        let now = self.meta.now_ms;
        match self.workers.get_mut(id) {
            Some(worker) => {
                worker.active = active;
                worker.last_seen_ms = now;
                self.changed.insert(RecordId::Worker(id.to_string()));
                Outcome::Done
            }
            None => Outcome::Rejected(Rejection::NotRegistered(id.to_owned())),
        }
    }

    pub(super) fn leave_worker(&mut self, id: &str) -> Outcome {
        if let Some(gone) = self.workers.remove(id) {
            self.changed.insert(RecordId::Worker(gone.id.clone()));
            self.record(EventKind::WorkerLeft {
                worker: gone.id,
                node: gone.node,
                timed_out: false,
            });
        }
        Outcome::Done
    }

    pub(super) fn next_worker_expiry_ms(&self) -> Option<u64> {
        self.workers
            .values()
            .map(|w| w.last_seen_ms.saturating_add(WORKER_TTL_MS))
            .min()
    }

    /// Removes workers not heard from for [`WORKER_TTL_MS`] of cluster time. Workers are few,
    /// so they are simply scanned as time moves.
    pub(super) fn expire_workers(&mut self) {
        let now = self.meta.now_ms;
        let silent: Vec<String> = self
            .workers
            .values()
            .filter(|w| w.last_seen_ms.saturating_add(WORKER_TTL_MS) <= now)
            .map(|w| w.id.clone())
            .collect();
        for id in silent {
            if let Some(gone) = self.workers.remove(&id) {
                self.changed.insert(RecordId::Worker(id));
                self.record(EventKind::WorkerLeft {
                    worker: gone.id,
                    node: gone.node,
                    timed_out: true,
                });
            }
        }
    }

    /// Counts an answer for the worker that held the lease, if it is registered.
    pub(super) fn count_answer(&mut self, worker: String, succeeded: bool) {
        let now = self.meta.now_ms;
        if let Some(info) = self.workers.get_mut(&worker) {
            if succeeded {
                info.processed += 1;
            } else {
                info.failed += 1;
            }
            info.last_seen_ms = now;
            self.changed.insert(RecordId::Worker(worker));
        }
    }
}
