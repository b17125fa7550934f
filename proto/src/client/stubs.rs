//! The generated service clients, each allowed messages up to [`MAX_MESSAGE`] rather than
//! gRPC's default 4 MiB, which a task at a node's highest payload limit would exceed.

use super::{ClientError, NodeChannel};
use crate::limits::MAX_MESSAGE;
use crate::pb::admin_client::AdminClient;
use crate::pb::control_client::ControlClient;
use crate::pb::flows_client::FlowsClient;
use crate::pb::tasks_client::TasksClient;
use crate::pb::worker_client::WorkerClient;

pub(crate) fn tasks(channel: NodeChannel) -> TasksClient<NodeChannel> {
    TasksClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

pub(crate) fn worker(channel: NodeChannel) -> WorkerClient<NodeChannel> {
    WorkerClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

pub(crate) fn flows(channel: NodeChannel) -> FlowsClient<NodeChannel> {
    FlowsClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

pub(crate) fn control(channel: NodeChannel) -> ControlClient<NodeChannel> {
    ControlClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

pub(crate) fn admin(channel: NodeChannel) -> AdminClient<NodeChannel> {
    AdminClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

/// Refuses a request no node would decode before sending it: the node could only reset the
/// stream, which reaches the caller as an opaque protocol error.
pub(crate) fn must_fit(request: &impl prost::Message, what: &str) -> Result<(), ClientError> {
    let len = request.encoded_len();
    if len > MAX_MESSAGE {
        return Err(ClientError::InvalidArgument(format!(
            "{what} is {len} bytes, more than the {} MiB a node accepts in one message",
            MAX_MESSAGE >> 20
        )));
    }
    Ok(())
}
