//! The `qraft.v1.Raft` transport, both directions: outgoing RPCs to peers and the server for incoming ones.

pub mod network;
pub mod rpc_server;
