//! What a worker asks for when it leases tasks, and what each leased task carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::task::TaskId;
use super::validate::{MAX_BATCH, must_be_lease_ms, must_be_name};

/// Most bytes of args and headers one lease hands out (always at least one task): a reply of
/// many large tasks stays far below the client's message limit, and what does not fit waits for
/// the worker's next lease instead of being stranded in a reply it cannot read.
pub const MAX_LEASE_REPLY_BYTES: u64 = 8 * 1024 * 1024;

/// A worker's request for up to `max` tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRequest {
    pub worker: String,
    /// Queues to take from, in no particular order: the highest priority across them wins.
    /// Workers' leases are proposed one queue each, in turns (`QueueState::lease_in_turns`).
    pub queues: Vec<String>,
    /// Task names the worker can run; empty means any.
    pub names: Vec<String>,
    pub max: u32,
    /// Lease length for tasks without a timeout of their own.
    pub lease_ms: u64,
}

impl LeaseRequest {
    /// Whether the lease names queues that take turns (`QueueState::lease_in_turns`).
    pub fn takes_turns(&self) -> bool {
        self.queues.len() > 1
    }

    /// The most tasks one lease may ask for, for a worker with `free` slots.
    pub fn max_for(free: usize) -> u32 {
        u32::try_from(free.min(MAX_BATCH)).unwrap_or(u32::MAX)
    }

    /// Checks the request. Every lease is held to it, the node's own pool's and a remote
    /// worker's alike.
    pub fn must_be_valid(&self) -> Result<(), String> {
        must_be_name("worker id", &self.worker)?;
        if self.queues.is_empty() {
            return Err("a lease must name at least one queue".into());
        }
        for queue in &self.queues {
            must_be_name("queue name", queue)?;
        }
        for name in &self.names {
            must_be_name("task name", name)?;
        }
        if self.max == 0 || self.max as usize > MAX_BATCH {
            return Err(format!(
                "a lease asks for 1..={MAX_BATCH} tasks, not {}",
                self.max
            ));
        }
        must_be_lease_ms(self.lease_ms)
    }
}

/// A task handed to a worker, with everything it needs to run it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeasedTask {
    pub id: TaskId,
    pub delivery: u32,
    pub deadline_ms: u64,
    pub name: String,
    pub queue: String,
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    pub headers: BTreeMap<String, String>,
    pub timeout_ms: Option<u64>,
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_with_many_free_slots_asks_for_what_one_lease_may_hand_out() {
        assert_eq!(LeaseRequest::max_for(3), 3);
        assert_eq!(LeaseRequest::max_for(50_000) as usize, MAX_BATCH);
        let lease = LeaseRequest {
            worker: "node1".into(),
            queues: vec!["default".into()],
            names: Vec::new(),
            max: LeaseRequest::max_for(50_000),
            lease_ms: 30_000,
        };
        assert_eq!(lease.must_be_valid(), Ok(()));
        let none = LeaseRequest {
            max: 0,
            ..lease.clone()
        };
        assert!(none.must_be_valid().is_err());
        let nowhere = LeaseRequest {
            queues: Vec::new(),
            ..lease
        };
        assert!(nowhere.must_be_valid().is_err());
    }
}
