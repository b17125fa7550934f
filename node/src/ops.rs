//! What a client may ask of a node, in the queue's own types: the one implementation behind both
//! edges, gRPC (`api/`, protobuf) and HTTP (`http/`, JSON). Defaults are filled in and input is
//! checked here, so the two edges cannot disagree.
//!
//! - [`task_input`]: a task as a client describes it (`None` is "the default", `Some(0)` zero),
//!   checked and completed into a [`SubmitTask`](crate::queue::SubmitTask).
//! - [`tasks`]: submit one or a batch, read, wait for, revoke and list tasks.
//! - [`worker`]: the lease protocol of remote workers.
//! - [`queues`]: queues, dead letters and the registered workers.
//! - [`cluster`]: a node's status: role, log positions, members.
//! - [`limits`]: rate limits and the concurrency keys in use.
//! - [`flows`]: chains, groups and chords.
//! - [`schedules`]: periodic tasks.
//! - [`streams`]: finished tasks as they finish, resumable by finish number.
//! - [`rates`]: per-queue rates over a sliding window.
//! - [`error`]: [`OpError`], which each edge turns into its own status.

pub mod cluster;
pub mod error;
pub mod flows;
pub mod limits;
pub mod queues;
pub mod rates;
pub mod schedules;
pub mod streams;
pub mod task_input;
pub mod tasks;
pub mod worker;

pub use error::OpError;
pub use task_input::TaskInput;

use crate::queue::{Command, Outcome};
use crate::raft::Replica;

/// How many entries a list answers when the client names no count, and the most it may name.
pub const DEFAULT_LIST: usize = 100;
pub const MAX_LIST: usize = 10_000;

/// Proposes one command and returns its outcome, a rejection turned into an error.
pub async fn propose_one(replica: &Replica, command: Command) -> Result<Outcome, OpError> {
    match replica.propose_one(command).await? {
        Outcome::Rejected(rejection) => Err(OpError::Rejected(rejection)),
        other => Ok(other),
    }
}

/// Confirms leadership with a quorum (redirecting the client to the leader when this node is
/// not it), so that a read after this sees every write acknowledged before it.
pub async fn linearizable(replica: &Replica) -> Result<(), OpError> {
    Ok(replica.ensure_linearizable().await?)
}

/// What the API fills in when a client leaves a setting out, and the limits it enforces.
#[derive(Clone, Debug)]
pub struct TaskDefaults {
    pub max_payload_bytes: usize,
    pub result_ttl_ms: u64,
    pub dead_letter_ttl_ms: u64,
    pub dedup_window_ms: u64,
    pub delivery_limit: u32,
    pub lease_ms: u64,
}

impl Default for TaskDefaults {
    fn default() -> Self {
        TaskDefaults {
            max_payload_bytes: crate::queue::validate::DEFAULT_MAX_PAYLOAD,
            result_ttl_ms: 24 * 3600 * 1000,
            dead_letter_ttl_ms: crate::queue::task::DEFAULT_DEAD_LETTER_TTL_MS,
            dedup_window_ms: 24 * 3600 * 1000,
            delivery_limit: 20,
            lease_ms: 30_000,
        }
    }
}
