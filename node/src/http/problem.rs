//! Errors as RFC 9457 problem details (`application/problem+json`), with the status codes the
//! gRPC codes stand for and the same hints in headers: `x-qraft-not-applied: 1` when nothing
//! was applied (a resend is safe), `x-qraft-leader` when the leader is known, `Retry-After` when
//! waiting helps, `x-qraft-error` for a worker's stale lease or revoked task.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qraft_proto::metadata;
use serde::{Deserialize, Serialize};

use crate::ops::OpError;
use crate::queue::Rejection;
use crate::raft::{MembershipError, ProposeError, TransferError};

pub const CONTENT_TYPE: &str = "application/problem+json";

/// One problem: what went wrong (`title`, by `type`) and what to do (`detail`). Boxed: it is
/// the error of every handler, and small errors keep the happy path small.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Problem(Box<Details>);

/// An RFC 9457 problem (`application/problem+json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct Details {
    /// `urn:qraft:problem:<slug>`: stable, for programs to match.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The gRPC code of the same error, for clients that speak both.
    pub code: String,
    /// Nothing was applied: sending the same request again is safe.
    #[serde(default)]
    pub not_applied: bool,
    /// The leader's gRPC address, when this node knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    #[serde(skip)]
    retry_after_s: Option<u32>,
    #[serde(skip)]
    worker_error: Option<&'static str>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, code: &str, detail: impl Into<String>) -> Problem {
        Problem(Box::new(Details {
            kind: format!("urn:qraft:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            not_applied: false,
            leader: None,
            retry_after_s: None,
            worker_error: None,
        }))
    }

    pub fn details(&self) -> &Details {
        &self.0
    }

    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "invalid", "INVALID_ARGUMENT", detail)
    }

    /// Marks a refusal that applied nothing, so the client may resend it anywhere.
    pub(super) fn not_applied(mut self) -> Problem {
        self.0.not_applied = true;
        self
    }

    pub(super) fn retry_after(mut self, seconds: u32) -> Problem {
        self.0.retry_after_s = Some(seconds);
        self
    }

    fn worker_error(mut self, kind: &'static str) -> Problem {
        self.0.worker_error = Some(kind);
        self
    }
}

impl From<OpError> for Problem {
    fn from(error: OpError) -> Problem {
        match error {
            OpError::Invalid(detail) => Problem::invalid(detail),
            OpError::TooLarge(detail) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "INVALID_ARGUMENT",
                detail,
            ),
            OpError::NotFound(detail) => {
                Problem::new(StatusCode::NOT_FOUND, "not-found", "NOT_FOUND", detail)
            }
            OpError::Forbidden(detail) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "PERMISSION_DENIED", detail)
            }
            OpError::Rejected(rejection) => from_rejection(&rejection),
            OpError::Propose(error) => from_propose_error(&error),
            OpError::Membership(error) => from_membership_error(error),
            OpError::Transfer(error) => from_transfer_error(error),
            OpError::ShuttingDown => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "UNAVAILABLE",
                error.to_string(),
            )
            .retry_after(1)
            .not_applied(),
            OpError::Internal(detail) => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "INTERNAL", detail)
            }
        }
    }
}

fn from_rejection(rejection: &Rejection) -> Problem {
    let detail = rejection.to_string();
    match rejection {
        Rejection::Invalid(reason) => Problem::invalid(reason.clone()),
        Rejection::NotFound(_) | Rejection::NoSchedule(_) => {
            Problem::new(StatusCode::NOT_FOUND, "not-found", "NOT_FOUND", detail)
        }
        Rejection::NotRegistered(_) => {
            Problem::new(StatusCode::NOT_FOUND, "not-registered", "NOT_FOUND", detail)
        }
        Rejection::KeyReused { .. } => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "key-reused",
            "INVALID_ARGUMENT",
            detail,
        ),
        Rejection::StaleLease { .. } => {
            Problem::new(StatusCode::CONFLICT, "stale-lease", "FAILED_PRECONDITION", detail)
                .worker_error(metadata::STALE_LEASE)
        }
        Rejection::Revoked(_) => Problem::new(StatusCode::CONFLICT, "revoked", "FAILED_PRECONDITION", detail)
            .worker_error(metadata::REVOKED),
        Rejection::NotDead { .. } => {
            Problem::new(StatusCode::CONFLICT, "conflict", "FAILED_PRECONDITION", detail)
        }
        Rejection::QueueFull { .. } => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "queue-full",
            "RESOURCE_EXHAUSTED",
            detail,
        )
        .not_applied(),
    }
}

/// A change asked of a follower goes to the leader like a write: nothing applied, and the
/// leader's address attached.
fn from_membership_error(error: MembershipError) -> Problem {
    let detail = error.to_string();
    match error {
        MembershipError::NotLeader { leader_addr } => {
            from_propose_error(&ProposeError::NoLeader { leader_addr })
        }
        // Transient: the change before this one is finishing, so a resend soon succeeds.
        MembershipError::InProgress => {
            Problem::new(StatusCode::CONFLICT, "change-in-progress", "ABORTED", detail).retry_after(1)
        }
        MembershipError::Invalid(_) => Problem::invalid(detail),
        MembershipError::WouldLoseQuorum(_) | MembershipError::CatchUpTimedOut { .. } => {
            Problem::new(StatusCode::CONFLICT, "refused", "FAILED_PRECONDITION", detail)
        }
        MembershipError::Raft(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "outcome-unknown",
            "UNAVAILABLE",
            format!("{detail}: read /v1/status to see whether it took effect"),
        )
        .retry_after(1),
    }
}

fn from_transfer_error(error: TransferError) -> Problem {
    let detail = error.to_string();
    match error {
        TransferError::NotLeader { leader_addr } => {
            from_propose_error(&ProposeError::NoLeader { leader_addr })
        }
        TransferError::NotAVoter(_) => Problem::invalid(detail),
        TransferError::NoCandidate => Problem::new(
            StatusCode::CONFLICT,
            "no-candidate",
            "FAILED_PRECONDITION",
            detail,
        ),
        TransferError::TimedOut(_) => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timed-out",
            "DEADLINE_EXCEEDED",
            detail,
        ),
    }
}

fn from_propose_error(error: &ProposeError) -> Problem {
    let detail = error.to_string();
    let mut problem = match error {
        ProposeError::DiskFull { .. } => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "disk-full",
            "RESOURCE_EXHAUSTED",
            detail,
        )
        .retry_after(30),
        ProposeError::StoreFull(_) => Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "cluster-full",
            "RESOURCE_EXHAUSTED",
            detail,
        )
        .retry_after(30),
        ProposeError::Overloaded { .. } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "RESOURCE_EXHAUSTED",
            detail,
        )
        .retry_after(1),
        ProposeError::NoLeader { .. } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-leader",
            "UNAVAILABLE",
            detail,
        )
        .retry_after(1),
        ProposeError::ShuttingDown => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting-down",
            "UNAVAILABLE",
            detail,
        )
        .retry_after(1),
        ProposeError::Unknown(_) | ProposeError::LeaderChanged { .. } => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "outcome-unknown",
            "UNAVAILABLE",
            format!("{detail}: resend only with the same Idempotency-Key, which makes a resend safe"),
        )
        .retry_after(1),
    };
    problem.0.not_applied = error.not_applied();
    if let ProposeError::NoLeader { leader_addr } | ProposeError::LeaderChanged { leader_addr } = error {
        problem.0.leader = leader_addr.clone();
    }
    problem
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let Problem(details) = self;
        let details = *details;
        let status = StatusCode::from_u16(details.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        if let Some(seconds) = details.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if details.not_applied {
            headers.insert(
                HeaderName::from_static(metadata::NOT_APPLIED),
                HeaderValue::from_static("1"),
            );
        }
        if let Some(leader) = details
            .leader
            .as_deref()
            .and_then(|l| HeaderValue::from_str(l).ok())
        {
            headers.insert(HeaderName::from_static(metadata::LEADER), leader);
        }
        if let Some(kind) = details.worker_error {
            headers.insert(
                HeaderName::from_static(metadata::ERROR),
                HeaderValue::from_static(kind),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"qraft\""),
            );
        }
        (status, headers, body).into_response()
    }
}
