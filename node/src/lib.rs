//! qraft-node: a Raft-replicated task broker and worker. The `qraft` command line is the
//! binary's own (`src/main.rs`, `src/cli/`), built on this library's public API.
//!
//! - [`queue`]: the task queue as plain, deterministic Rust (no Raft, no gRPC).
//! - [`raft`]: consensus and storage: openraft on RocksDB, behind [`raft::Replica`].
//! - [`ops`]: what a client may ask of a node, in queue types: the one implementation behind
//!   both edges.
//! - [`api`]: the gRPC edge: services, protobuf, and the one place errors become statuses.
//! - [`http`]: the HTTP/JSON edge: routes, JSON, problem+json errors, its own accept loop.
//! - [`auth`]: tokens, roles and node certificates, checked before any service.
//! - [`clock`]: time, and which clock each part may use (apply: only the leader's stamps).
//! - [`worker`]: the node's worker pool and task handlers.
//! - [`config`]: node settings: defaults, TOML file, `QRAFT_*` environment, flags.
//! - [`metrics`]: the Prometheus endpoint.
//! - [`node`]: wires a node together and runs it until shutdown.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod http;
pub mod metrics;
pub mod node;
pub mod ops;
pub mod queue;
pub mod raft;
pub mod shed;
pub mod worker;
