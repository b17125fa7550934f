//! qraft's wire protocol and the typed Rust client every other crate uses.
//!
//! - [`pb`]: the `qraft.v1` protobuf messages and tonic services, generated at build time with
//!   protox (no system `protoc`).
//! - [`client`]: [`Client`], which takes a list of node addresses, finds the leader, follows
//!   not-leader answers and retries calls across a failover.
//! - [`metadata`]: the gRPC metadata keys that server and client agree on.
//! - [`limits`]: the numbers they agree on.
//! - [`security`]: TLS material and tokens, for clients and nodes alike.
//! - [`launch`]: the `qraft node` command line, for the tools that start local nodes.

pub mod client;
pub mod launch;
pub mod limits;
pub mod metadata;
pub mod security;

/// Generated `qraft.v1` messages, clients and servers.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("qraft.v1");
}

pub use client::{Client, ClientError, DeadLetters, NodeChannel, RetryPolicy};
pub use security::{Credentials, SecurityError, Tls, TlsFiles};
