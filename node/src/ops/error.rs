//! Why an operation failed, in terms each edge can map to its own status codes.

use crate::queue::{Outcome, Rejection};
use crate::raft::{MembershipError, ProposeError, TransferError};

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The request itself is wrong; sending it again will not help.
    #[error("{0}")]
    Invalid(String),
    /// Args or a result over the node's payload limit.
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    NotFound(String),
    /// The caller's role allows the call, but not on this object (a producer revoking another
    /// producer's task).
    #[error("{0}")]
    Forbidden(String),
    /// Apply refused the command.
    #[error("{0}")]
    Rejected(Rejection),
    /// The command could not be committed, or its outcome is unknown.
    #[error("{0}")]
    Propose(#[from] ProposeError),
    /// A membership change was refused, or its outcome is unknown.
    #[error("{0}")]
    Membership(#[from] MembershipError),
    /// Leadership could not be moved.
    #[error("{0}")]
    Transfer(#[from] TransferError),
    /// This node is stopping; another one can answer.
    #[error("this node is shutting down: send the request to another node")]
    ShuttingDown,
    /// An outcome of the wrong kind for its command: a bug, reported rather than hidden.
    #[error("{0}")]
    Internal(String),
}

impl OpError {
    pub fn unexpected(outcome: &Outcome) -> OpError {
        OpError::Internal(format!("unexpected outcome {outcome:?}"))
    }
}
