//! The gRPC services clients call; protobuf types stop here.
//!
//! - [`tasks`]: `qraft.v1.Tasks` (submit, get, wait, revoke, list, watch finished).
//! - [`worker`]: `qraft.v1.Worker` (lease, ack, fail, extend).
//! - [`watch`]: the stream of finished tasks behind `Tasks.WatchFinished`.
//! - [`admin`]: `qraft.v1.Admin` (node status, queues, workers, dead letters, leadership).
//! - [`control`]: `qraft.v1.Control` (rate limits, periodic schedules).
//! - [`flows`]: `qraft.v1.Flows` (chains, groups, chords).
//! - [`events`]: the event timeline behind `Admin.WatchEvents`.
//! - [`listing`]: how many entries, and how many bytes, one list reply holds.
//! - [`convert`]: protobuf to and from queue types, in one place, with the defaults below.
//! - [`status`]: the one place errors become `tonic::Status`.

pub mod admin;
pub mod control;
pub mod convert;
pub mod events;
pub mod flows;
#[cfg(test)]
mod fuzz;
pub mod listing;
pub mod status;
pub mod tasks;
pub mod watch;
pub mod worker;

pub use admin::AdminService;
pub use control::ControlService;
pub use flows::FlowsService;
pub use tasks::TasksService;
pub use worker::WorkerService;

pub use crate::ops::TaskDefaults;

use tonic::Status;

use crate::queue::{Command, Outcome};
use crate::raft::Replica;

/// [`ops::propose_one`](crate::ops::propose_one), its error as a status.
pub async fn propose_one(replica: &Replica, command: Command) -> Result<Outcome, Status> {
    crate::ops::propose_one(replica, command)
        .await
        .map_err(status::from_op_error)
}

/// [`ops::linearizable`](crate::ops::linearizable), its error as a status.
pub async fn linearizable(replica: &Replica) -> Result<(), Status> {
    crate::ops::linearizable(replica)
        .await
        .map_err(status::from_op_error)
}

/// An outcome of the wrong kind for its command: a bug, reported rather than hidden.
pub fn unexpected(outcome: &Outcome) -> Status {
    Status::internal(format!("unexpected outcome {outcome:?}"))
}
