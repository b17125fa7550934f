//! [`ClientError`]: every way a client call can fail, worded for the operator who reads it.

use std::error::Error as _;

use tonic::{Code, Status};

/// Why a [`Client`](super::Client) call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A node address could not be used; the message says which one and why.
    #[error("invalid node address {0}")]
    InvalidAddress(String),

    /// The cluster answered NOT_FOUND.
    #[error("not found: {0}")]
    NotFound(String),

    /// The cluster rejected the request as malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// The cluster gave a definite answer other than success (PERMISSION_DENIED, INTERNAL, ...).
    #[error("request failed: {}", describe(.0))]
    Status(Status),

    /// A write failed after it may have reached the cluster, so it may or may not have been
    /// applied. It was not sent again; the caller decides whether resending is safe.
    #[error(
        "outcome unknown: {addr} failed before confirming the write, which may or may not have \
         been applied: {}", describe(.status)
    )]
    Unknown { addr: String, status: Status },

    /// Every attempt failed with an error worth retrying. For a write, each attempt is known
    /// not to have been applied.
    #[error(
        "could not reach any of {}: gave up after {attempts} attempt(s); last error: {last}",
        .addrs.join(", ")
    )]
    Unavailable {
        addrs: Vec<String>,
        attempts: u32,
        last: String,
    },

    /// A worker's answer for a lease that expired and went to another worker (or finished): the
    /// attempt no longer counts and its result is dropped.
    #[error("stale lease: {0}")]
    StaleLease(String),

    /// The task was revoked while running: stop the attempt.
    #[error("revoked: {0}")]
    Revoked(String),

    /// A node answered with a message that breaks the protocol, e.g. a required field missing.
    #[error("protocol error: {0}")]
    Protocol(String),
}

impl ClientError {
    /// Maps a definite (not retried) answer to the most specific variant.
    pub(crate) fn from_status(status: Status) -> Self {
        let kind = status
            .metadata()
            .get(crate::metadata::ERROR)
            .and_then(|v| v.to_str().ok());
        match kind {
            Some(crate::metadata::STALE_LEASE) => {
                return ClientError::StaleLease(status.message().to_owned());
            }
            Some(crate::metadata::REVOKED) => return ClientError::Revoked(status.message().to_owned()),
            _ => {}
        }
        match status.code() {
            Code::NotFound => ClientError::NotFound(status.message().to_owned()),
            Code::InvalidArgument => ClientError::InvalidArgument(status.message().to_owned()),
            _ => ClientError::Status(status),
        }
    }
}

/// `Code: message`, plus the root cause of a local transport error ("Connection refused"), which
/// tonic keeps in the source chain rather than in the message.
pub(crate) fn describe(status: &Status) -> String {
    let mut text = format!("{:?}: {}", status.code(), status.message());
    let mut root = None;
    let mut source = status.source();
    while let Some(error) = source {
        root = Some(error);
        source = error.source();
    }
    if let Some(root) = root.map(|error| error.to_string())
        && !text.contains(&root)
    {
        text.push_str(": ");
        text.push_str(&root);
    }
    // What a plain-text client reads from a TLS node, and a TLS client from a plain one.
    if text.contains("frame with invalid size") {
        text.push_str(" (the node speaks TLS: pass --ca with the cluster's CA certificate)");
    } else if text.contains("InvalidContentType") || text.contains("corrupt message") {
        text.push_str(" (the node does not speak TLS: leave out --ca, or configure TLS on the node)");
    } else if hung_up(&text) {
        // A TLS node may also hang up on a plain-text client before its alert is read: the
        // client then sees the close, or a broken pipe while it still writes its preface.
        text.push_str(" (the node hung up: if it speaks TLS, pass --ca with the cluster's CA certificate)");
    }
    text
}

fn hung_up(text: &str) -> bool {
    let text = text.to_lowercase();
    ["connection closed", "broken pipe", "connection reset"]
        .iter()
        .any(|sign| text.contains(sign))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_adds_the_root_cause_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let status = Status::from_error(Box::new(tonic::ConnectError(Box::new(refused))));
        assert_eq!(describe(&status), "Unavailable: refused");
        let wrapped = tonic::ConnectError(Box::new(tonic::ConnectError(Box::new(std::io::Error::other(
            "Connection refused (os error 111)",
        )))));
        let status = Status::from_error(Box::new(wrapped));
        assert_eq!(
            describe(&status),
            "Unavailable: Connection refused (os error 111)"
        );
        assert_eq!(describe(&Status::internal("boom")), "Internal: boom");
    }

    #[test]
    fn describe_hints_at_tls_when_a_node_hangs_up() {
        let closed = Status::cancelled("operation was canceled: connection closed");
        assert!(describe(&closed).contains("if it speaks TLS, pass --ca"));
        let cut_off = Status::unknown("transport error: stream closed because of a broken pipe");
        assert!(describe(&cut_off).contains("if it speaks TLS, pass --ca"));
        let reset = Status::unavailable("Connection reset by peer (os error 104)");
        assert!(describe(&reset).contains("if it speaks TLS, pass --ca"));
        let garbled = Status::unknown("h2 protocol error: frame with invalid size");
        assert!(describe(&garbled).contains("the node speaks TLS"));
        assert!(!describe(&Status::unavailable("refused")).contains("TLS"));
    }

    #[test]
    fn unavailable_names_every_address() {
        let error = ClientError::Unavailable {
            addrs: vec!["127.0.0.1:7071".into(), "127.0.0.1:7072".into()],
            attempts: 3,
            last: "Unavailable: refused".into(),
        };
        assert_eq!(
            error.to_string(),
            "could not reach any of 127.0.0.1:7071, 127.0.0.1:7072: gave up after 3 attempt(s); \
             last error: Unavailable: refused"
        );
    }
}
