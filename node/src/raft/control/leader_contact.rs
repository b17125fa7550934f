//! When this node last heard from a leader: touched by the RPC server on every AppendEntries
//! (heartbeats included), read by the observer as the start of an election's leaderless time.

use std::sync::Mutex;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub struct LeaderContact(Mutex<Option<Instant>>);

impl LeaderContact {
    pub fn touch(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    pub fn last(&self) -> Option<Instant> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
