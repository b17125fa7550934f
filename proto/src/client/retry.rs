//! When and where to send a failed call again: the retry policy, the pause between passes over
//! the nodes, and the classification of one failure.

use std::error::Error as _;
use std::time::Duration;

use rand::Rng as _;
use tonic::{Code, Status};

use super::nodes::normalize;
use crate::metadata;

/// How hard a [`Client`](super::Client) tries before it reports the cluster unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls sent in total, the first one included. Following a leader hint counts as one.
    pub attempts: u32,
    /// Pause after the first full pass over the nodes failed; it doubles after each later pass.
    pub initial_backoff: Duration,
    /// Upper bound of the pause, before jitter.
    pub max_backoff: Duration,
    /// Time after which the client stops trying, whatever is left of `attempts`.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    /// Long enough to ride out a leader election (a few hundred ms to a few seconds), short
    /// enough that an operator facing a dead cluster gets an answer quickly.
    fn default() -> Self {
        RetryPolicy {
            attempts: 20,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            deadline: Duration::from_secs(15),
        }
    }
}

/// Whether sending a call twice could do something twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// Reads: safe to send again to any node.
    Idempotent,
    /// Writes: sent again only when the failure proves the first one was not applied.
    Write,
}

/// What to do after one failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The node says it leads but cannot serve right now: ask it again after a pause.
    RetrySameNode,
    /// The node named another leader: ask that one at once.
    FollowLeader(String),
    /// Ask the next node; pause after each full pass.
    RetryNext,
    /// A definite answer (bad request, not found, ...): return it.
    Fail,
    /// A write failed in a way that does not tell whether it was applied: let the caller decide.
    OutcomeUnknown,
}

/// A refusal because the cluster is full (a cap, the disk): definite, unlike a busy node's.
fn is_full(status: &Status) -> bool {
    status.code() == Code::ResourceExhausted
        && status
            .metadata()
            .get(crate::metadata::ERROR)
            .is_some_and(|kind| kind == crate::metadata::FULL)
}

/// Classifies the failure of a `kind` call sent to the node at `asked`.
pub(crate) fn classify(status: &Status, kind: CallKind, asked: &str) -> Decision {
    let leader = leader_of(status);
    if is_full(status) {
        return Decision::Fail;
    }
    let transient = matches!(
        status.code(),
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::Aborted
            | Code::ResourceExhausted
    );
    // FAILED_PRECONDITION with a leader is the not-leader answer; without one it is a real
    // precondition failure, like every other code not listed above.
    let not_leader = status.code() == Code::FailedPrecondition && leader.is_some();
    if !transient && !not_leader {
        return Decision::Fail;
    }
    let may_resend = match kind {
        CallKind::Idempotent => true,
        CallKind::Write => is_not_applied(status) || is_connect_error(status),
    };
    if !may_resend {
        return Decision::OutcomeUnknown;
    }
    match leader {
        Some(leader) if leader != normalize(asked) => Decision::FollowLeader(leader),
        Some(_) => Decision::RetrySameNode,
        None => Decision::RetryNext,
    }
}

/// The leader address a node put on its error, if any.
pub(crate) fn leader_of(status: &Status) -> Option<String> {
    let value = status.metadata().get(metadata::LEADER)?.to_str().ok()?;
    Some(normalize(value).to_owned()).filter(|addr| !addr.is_empty())
}

/// True when the node marked the request as certainly not applied.
fn is_not_applied(status: &Status) -> bool {
    status
        .metadata()
        .get(metadata::NOT_APPLIED)
        .is_some_and(|value| value == "1")
}

/// True when the status stands for a failed TCP connect, so no byte of the request was sent.
///
/// tonic reports a refused or timed-out connect as UNAVAILABLE with a [`tonic::ConnectError`]
/// in the status's source chain. A status that came over the wire has no source, so a node
/// forwarding "tcp connect error" from its own peer is never mistaken for one.
pub(crate) fn is_connect_error(status: &Status) -> bool {
    let mut source = status.source();
    while let Some(error) = source {
        if error.is::<tonic::ConnectError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// Exponential pause between passes over the nodes.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(policy: &RetryPolicy) -> Self {
        Backoff {
            next: policy.initial_backoff,
            max: policy.max_backoff,
        }
    }

    /// The next pause, with up to 25% jitter so that clients turned away together do not all
    /// come back in the same millisecond.
    pub(crate) fn next_pause(&mut self) -> Duration {
        let base = self.next;
        self.next = (base * 2).min(self.max);
        let jitter_ms = u64::try_from(base.as_millis() / 4).unwrap_or(u64::MAX);
        base + Duration::from_millis(rand::rng().random_range(0..=jitter_ms))
    }
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataValue;

    use super::CallKind::{Idempotent as Read, Write};
    use super::Decision::*;
    use super::*;

    /// A status as a node would send it: a code plus the optional qraft metadata.
    fn status(code: Code, leader: Option<&'static str>, not_applied: Option<&'static str>) -> Status {
        let mut status = Status::new(code, "test");
        if let Some(leader) = leader {
            status
                .metadata_mut()
                .insert(metadata::LEADER, MetadataValue::from_static(leader));
        }
        if let Some(flag) = not_applied {
            status
                .metadata_mut()
                .insert(metadata::NOT_APPLIED, MetadataValue::from_static(flag));
        }
        status
    }

    /// A node's full refusal: RESOURCE_EXHAUSTED marked full, not applied.
    fn full() -> Status {
        let mut status = status(Code::ResourceExhausted, Some("b:2"), Some("1"));
        status
            .metadata_mut()
            .insert(metadata::ERROR, MetadataValue::from_static(metadata::FULL));
        status
    }

    fn connect_error() -> Status {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))))
    }

    const DEFINITE: [Code; 10] = [
        Code::InvalidArgument,
        Code::NotFound,
        Code::PermissionDenied,
        Code::Unauthenticated,
        Code::AlreadyExists,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::DataLoss,
        Code::FailedPrecondition,
    ];

    const TRANSIENT: [Code; 6] = [
        Code::Unavailable,
        Code::DeadlineExceeded,
        Code::Cancelled,
        Code::Unknown,
        Code::Aborted,
        Code::ResourceExhausted,
    ];

    #[test]
    fn definite_codes_fail_at_once() {
        for code in DEFINITE {
            for kind in [Read, Write] {
                for not_applied in [None, Some("1")] {
                    let status = status(code, None, not_applied);
                    assert_eq!(classify(&status, kind, "a:1"), Fail, "{code:?} {kind:?}");
                }
            }
        }
    }

    #[test]
    fn transient_codes_retry_reads_and_leave_writes_unknown() {
        for code in TRANSIENT {
            let plain = status(code, None, None);
            assert_eq!(classify(&plain, Read, "a:1"), RetryNext, "{code:?}");
            assert_eq!(classify(&plain, Write, "a:1"), OutcomeUnknown, "{code:?}");
            let not_applied = status(code, None, Some("1"));
            assert_eq!(classify(&not_applied, Write, "a:1"), RetryNext, "{code:?}");
        }
    }

    #[test]
    fn table() {
        use Code::*;
        let b = || FollowLeader("b:2".into());
        let cases = [
            // Leader metadata.
            (status(FailedPrecondition, Some("b:2"), None), Read, b()),
            (status(FailedPrecondition, Some("http://b:2/"), None), Read, b()),
            (status(Unavailable, Some("b:2"), None), Read, b()),
            (status(FailedPrecondition, Some("a:1"), None), Read, RetrySameNode),
            (status(FailedPrecondition, Some(""), None), Read, Fail),
            (status(NotFound, Some("b:2"), None), Read, Fail),
            (status(FailedPrecondition, Some("b:2"), Some("1")), Write, b()),
            (
                status(FailedPrecondition, Some("b:2"), None),
                Write,
                OutcomeUnknown,
            ),
            (
                status(ResourceExhausted, Some("http://a:1"), Some("1")),
                Write,
                RetrySameNode,
            ),
            (status(InvalidArgument, Some("b:2"), Some("1")), Write, Fail),
            (full(), Write, Fail),
            (full(), Read, Fail),
            // The not-applied marker must be exactly "1".
            (status(Unavailable, None, Some("0")), Write, OutcomeUnknown),
            (status(Unavailable, None, Some("true")), Write, OutcomeUnknown),
            // A failed connect proves a write was not sent; a wire status saying so does not.
            (connect_error(), Write, RetryNext),
            (connect_error(), Read, RetryNext),
            (Status::unavailable("tcp connect error"), Write, OutcomeUnknown),
        ];
        for (status, kind, want) in cases {
            assert_eq!(classify(&status, kind, "a:1"), want, "{status:?} {kind:?}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        let mut backoff = Backoff::new(&policy);
        for base_ms in [100, 200, 300, 300] {
            let pause = backoff.next_pause();
            let base = Duration::from_millis(base_ms);
            assert!(pause >= base && pause <= base * 5 / 4, "{pause:?} vs {base:?}");
        }
    }
}
