//! Errors to gRPC statuses, in one place. A status that proves nothing was applied carries
//! `x-qraft-not-applied: 1`, and one that knows the leader carries `x-qraft-leader`, so clients
//! can retry safely and follow the leader. Worker refusals carry `x-qraft-error`.

use qraft_proto::metadata;
use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::ops::OpError;
use crate::queue::Rejection;
use crate::raft::{MembershipError, ProposeError, TransferError};

pub fn from_op_error(error: OpError) -> Status {
    match error {
        OpError::Invalid(message) | OpError::TooLarge(message) => Status::invalid_argument(message),
        OpError::NotFound(message) => Status::not_found(message),
        OpError::Forbidden(message) => Status::permission_denied(message),
        OpError::Rejected(rejection) => from_rejection(&rejection),
        OpError::Propose(error) => from_propose_error(&error),
        OpError::Membership(error) => from_membership_error(error),
        OpError::Transfer(error) => from_transfer_error(error),
        OpError::ShuttingDown => Status::unavailable(error.to_string()),
        OpError::Internal(message) => Status::internal(message),
    }
}

pub fn from_propose_error(error: &ProposeError) -> Status {
    let mut status = match error {
        ProposeError::DiskFull { .. } | ProposeError::StoreFull(_) => {
            with_kind(Status::resource_exhausted(error.to_string()), metadata::FULL)
        }
        // Like a shed request: resent by the client.
        ProposeError::Overloaded { .. } => Status::resource_exhausted(error.to_string()),
        _ => Status::unavailable(error.to_string()),
    };
    if error.not_applied() {
        status
            .metadata_mut()
            .insert(metadata::NOT_APPLIED, MetadataValue::from_static("1"));
    }
    if let ProposeError::NoLeader {
        leader_addr: Some(addr),
    }
    | ProposeError::LeaderChanged {
        leader_addr: Some(addr),
    } = error
        && let Ok(value) = addr.parse()
    {
        status.metadata_mut().insert(metadata::LEADER, value);
    }
    status
}

/// A transfer asked of a follower is sent on to the leader like a write: not applied, and the
/// leader's address attached.
pub fn from_transfer_error(error: TransferError) -> Status {
    match error {
        TransferError::NotLeader { leader_addr } => {
            from_propose_error(&ProposeError::NoLeader { leader_addr })
        }
        TransferError::NotAVoter(_) => Status::invalid_argument(error.to_string()),
        TransferError::NoCandidate => Status::failed_precondition(error.to_string()),
        TransferError::TimedOut(_) => Status::deadline_exceeded(error.to_string()),
    }
}

pub fn from_membership_error(error: MembershipError) -> Status {
    match error {
        MembershipError::NotLeader { leader_addr } => {
            from_propose_error(&ProposeError::NoLeader { leader_addr })
        }
        // Transient: the change before this one is finishing, so a resend soon succeeds.
        MembershipError::InProgress => Status::aborted(error.to_string()),
        MembershipError::Invalid(_) => Status::invalid_argument(error.to_string()),
        MembershipError::WouldLoseQuorum(_) | MembershipError::CatchUpTimedOut { .. } => {
            Status::failed_precondition(error.to_string())
        }
        MembershipError::Raft(_) => Status::unavailable(error.to_string()),
    }
}

pub fn from_rejection(rejection: &Rejection) -> Status {
    let message = rejection.to_string();
    match rejection {
        Rejection::Invalid(reason) => Status::invalid_argument(reason.clone()),
        Rejection::KeyReused { .. } => Status::invalid_argument(message),
        Rejection::NotFound(_) | Rejection::NoSchedule(_) | Rejection::NotRegistered(_) => {
            Status::not_found(message)
        }
        Rejection::StaleLease { .. } => {
            with_kind(Status::failed_precondition(message), metadata::STALE_LEASE)
        }
        Rejection::Revoked(_) => with_kind(Status::failed_precondition(message), metadata::REVOKED),
        Rejection::NotDead { .. } => Status::failed_precondition(message),
        Rejection::QueueFull { .. } => {
            let status = with_kind(Status::resource_exhausted(message), metadata::FULL);
            not_applied(status)
        }
    }
}

/// Marks a refusal that stored nothing, so a client may resend it anywhere.
fn not_applied(mut status: Status) -> Status {
    status
        .metadata_mut()
        .insert(metadata::NOT_APPLIED, MetadataValue::from_static("1"));
    status
}

fn with_kind(mut status: Status, kind: &'static str) -> Status {
    status
        .metadata_mut()
        .insert(metadata::ERROR, MetadataValue::from_static(kind));
    status
}

pub fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_leader_is_named_but_the_outcome_stays_unknown() {
        let status = from_propose_error(&ProposeError::LeaderChanged {
            leader_addr: Some("127.0.0.1:7072".into()),
        });
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(
            status
                .metadata()
                .get(metadata::LEADER)
                .and_then(|v| v.to_str().ok()),
            Some("127.0.0.1:7072"),
            "clients follow the new leader"
        );
        assert!(
            status.metadata().get(metadata::NOT_APPLIED).is_none(),
            "the batch may have reached the old leader: only keyed writes may be resent"
        );
        let nothing = from_propose_error(&ProposeError::NoLeader { leader_addr: None });
        assert!(nothing.metadata().get(metadata::NOT_APPLIED).is_some());
    }
}
