//! Errors to gRPC statuses, in one place. A status that proves nothing was applied carries
//! `x-qraft-not-applied: 1`, and one that knows the leader carries `x-qraft-leader`, so clients
//! can retry safely and follow the leader.

use qraft_proto::metadata;
use tonic::{Code, Status};

use crate::queue::Rejection;
use crate::raft::ProposeError;

pub fn from_propose_error(error: &ProposeError) -> Status {
    let mut status = match error {
        ProposeError::NoLeader { .. } | ProposeError::ShuttingDown => Status::unavailable(error.to_string()),
        ProposeError::Unknown(_) => Status::unavailable(error.to_string()),
    };
    if error.not_applied() {
        status.metadata_mut().insert(
            metadata::NOT_APPLIED,
            tonic::metadata::MetadataValue::from_static("1"),
        );
    }
    if let ProposeError::NoLeader {
        leader_addr: Some(addr),
    } = error
        && let Ok(value) = addr.parse()
    {
        status.metadata_mut().insert(metadata::LEADER, value);
    }
    status
}

pub fn from_rejection(rejection: &Rejection) -> Status {
    match rejection {
        Rejection::Invalid(reason) => Status::invalid_argument(reason.clone()),
    }
}

pub fn invalid(message: impl Into<String>) -> Status {
    Status::new(Code::InvalidArgument, message.into())
}
