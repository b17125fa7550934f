//! What a worker asks for when it leases tasks, and what each leased task carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::task::TaskId;

/// A worker's request for up to `max` tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRequest {
    pub worker: String,
    /// Queues to take from, in no particular order: the highest priority across them wins.
    pub queues: Vec<String>,
    /// Task names the worker can run; empty means any.
    pub names: Vec<String>,
    pub max: u32,
    /// Lease length for tasks without a timeout of their own.
    pub lease_ms: u64,
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
