//! Outgoing Raft traffic: openraft's network traits over the `qraft.v1.Raft` gRPC service, with
//! one lazy channel per peer address, reused by every connection openraft asks for.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::{AnyError, OptionalSend, RaftNetworkV2};
use qraft_proto::Tls;
use qraft_proto::metadata;
use qraft_proto::pb;
use qraft_proto::pb::raft_client::RaftClient;
use tokio::io::AsyncReadExt;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::metrics::Stage;
use crate::raft::persist::codec;
use crate::raft::types::{Node, NodeId, TypeConfig, Vote};

type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, tokio::fs::File>;

/// Largest gRPC message a Raft peer sends or accepts (an append of many batched entries).
pub const MAX_RAFT_MESSAGE: usize = 256 * 1024 * 1024;
const SNAPSHOT_CHUNK: usize = 1024 * 1024;
/// The slowest a peer is expected to take in an append and write it (bytes per second). openraft
/// gives an append one heartbeat interval (100 ms), in which a follower cannot take a batch of
/// large tasks; retried with the same deadline, such an append would never get through. Each
/// append gets that interval plus the time its size takes at this rate.
const SLOWEST_APPEND_BYTES_PER_S: f64 = 16.0 * 1024.0 * 1024.0;

/// Makes connections to peers; shared by every replication stream of this node.
#[derive(Clone)]
pub struct PeerNetwork {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    cluster_name: Arc<str>,
    /// Mutual TLS: peers accept Raft only from a node certificate of the cluster's CA.
    tls: Option<ClientTlsConfig>,
    /// Round trips of appends that carry entries (heartbeats are not timed).
    replicate: Stage,
}

impl PeerNetwork {
    pub fn new(cluster_name: &str, tls: Option<Tls>, replicate: Stage) -> io::Result<PeerNetwork> {
        if tls.as_ref().is_some_and(|tls| !tls.has_identity()) {
            return Err(io::Error::other("peer TLS needs this node's certificate and key"));
        }
        Ok(PeerNetwork {
            channels: Arc::default(),
            cluster_name: cluster_name.into(),
            tls: tls.map(|tls| tls.client_config()),
            replicate,
        })
    }

    /// The one lazy channel to `addr`, created on first use.
    pub fn channel(&self, addr: &str) -> Result<Channel, String> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get(addr) {
            return Ok(channel.clone());
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
            .map_err(|e| format!("bad peer address {addr:?}: {e}"))?;
        let endpoint = match &self.tls {
            Some(tls) => endpoint
                .tls_config(tls.clone())
                .map_err(|e| format!("TLS towards {addr}: {e}"))?,
            None => endpoint,
        };
        let channel = endpoint
            .connect_timeout(Duration::from_millis(500))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .connect_lazy();
        channels.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }

    /// A Raft client for `addr` that stamps every request with this node's cluster name.
    pub fn client(&self, addr: &str) -> Result<PeerClient, String> {
        Ok(PeerClient {
            inner: RaftClient::new(self.channel(addr)?)
                .max_decoding_message_size(MAX_RAFT_MESSAGE)
                .max_encoding_message_size(MAX_RAFT_MESSAGE),
            cluster_name: self.cluster_name.clone(),
        })
    }
}

/// A `qraft.v1.Raft` client bound to one peer.
#[derive(Clone)]
pub struct PeerClient {
    pub inner: RaftClient<Channel>,
    cluster_name: Arc<str>,
}

impl PeerClient {
    pub fn request<T>(&self, message: T, timeout: Option<Duration>) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Ok(value) = self.cluster_name.parse() {
            request.metadata_mut().insert(metadata::CLUSTER, value);
        }
        if let Some(timeout) = timeout {
            request.set_timeout(timeout);
        }
        request
    }
}

impl RaftNetworkFactory<TypeConfig> for PeerNetwork {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerConnection {
        PeerConnection {
            target,
            client: self.client(&node.addr),
            replicate: self.replicate.clone(),
        }
    }
}

/// openraft's view of one peer.
pub struct PeerConnection {
    target: NodeId,
    client: Result<PeerClient, String>,
    replicate: Stage,
}

impl PeerConnection {
    fn client(&self) -> Result<PeerClient, RPCError<TypeConfig>> {
        self.client
            .clone()
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&AnyError::error(e))))
    }

    async fn unary<Req, Resp>(
        &self,
        method: Method,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        let mut client = self.client()?;
        let payload = pb::RaftPayload {
            data: codec::encode(req).map_err(|e| network_error(&e))?.into(),
        };
        let timeout = match method {
            Method::AppendEntries => option.hard_ttl() + transfer_time(payload.data.len()),
            _ => option.hard_ttl(),
        };
        let request = client.request(payload, Some(timeout));
        let response = match method {
            Method::Vote => client.inner.vote(request).await,
            Method::PreVote => client.inner.pre_vote(request).await,
            Method::AppendEntries => client.inner.append_entries(request).await,
            Method::TransferLeader => client.inner.transfer_leader(request).await,
        }
        .map_err(|status| status_to_rpc_error(self.target, &status))?;
        decode_reply(&response.into_inner().data)
    }
}

#[derive(Clone, Copy)]
enum Method {
    Vote,
    PreVote,
    AppendEntries,
    TransferLeader,
}

/// How long `bytes` may take to reach a peer and be written there, at the slowest expected rate.
fn transfer_time(bytes: usize) -> Duration {
    Duration::from_secs_f64(bytes as f64 / SLOWEST_APPEND_BYTES_PER_S)
}

/// Replies carry `Result<T, String>`: the peer's Raft may have stopped.
fn decode_reply<Resp: serde::de::DeserializeOwned>(data: &[u8]) -> Result<Resp, RPCError<TypeConfig>> {
    let reply: Result<Resp, String> = codec::decode(data).map_err(|e| network_error(&e))?;
    reply.map_err(|e| RPCError::Network(NetworkError::new(&AnyError::error(e))))
}

fn network_error(e: &io::Error) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::new(e))
}

/// Unavailable (cannot connect, peer down) makes openraft back off; anything else is retried.
fn status_to_rpc_error(target: NodeId, status: &tonic::Status) -> RPCError<TypeConfig> {
    let error = AnyError::error(format!("peer {target}: {}: {}", status.code(), status.message()));
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::PermissionDenied => {
            RPCError::Unreachable(Unreachable::new(&error))
        }
        _ => RPCError::Network(NetworkError::new(&error)),
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = tokio::fs::File;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let started = std::time::Instant::now();
        let answer = self.unary(Method::AppendEntries, &rpc, &option).await;
        if answer.is_ok() && !rpc.entries.is_empty() {
            self.replicate.observe_since(started);
        }
        answer
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(Method::Vote, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(Method::PreVote, &rpc, &option).await
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.unary(Method::TransferLeader, &req, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let mut client = self.client()?;
        let target = self.target;
        let meta = codec::encode(&(vote, snapshot.meta.clone())).map_err(|e| network_error(&e))?;
        let chunk_size = option.snapshot_chunk_size().unwrap_or(SNAPSHOT_CHUNK).max(4096);
        let (tx, rx) = tokio::sync::mpsc::channel::<pb::SnapshotChunk>(4);
        let mut file = snapshot.snapshot;
        let feed = async move {
            let first = pb::SnapshotChunk {
                item: Some(pb::snapshot_chunk::Item::Meta(pb::RaftPayload {
                    data: meta.into(),
                })),
            };
            if tx.send(first).await.is_err() {
                return Ok(());
            }
            loop {
                let mut buf = vec![0u8; chunk_size];
                let read = file.read(&mut buf).await?;
                if read == 0 {
                    return Ok::<(), io::Error>(());
                }
                buf.truncate(read);
                let chunk = pb::SnapshotChunk {
                    item: Some(pb::snapshot_chunk::Item::Data(buf.into())),
                };
                if tx.send(chunk).await.is_err() {
                    // The call ended early; its status says why.
                    return Ok(());
                }
            }
        };
        let request = client.request(tokio_stream::wrappers::ReceiverStream::new(rx), None);
        let call = client.inner.install_snapshot(request);
        let transfer = async move {
            let (reply, fed) = tokio::join!(call, feed);
            fed.map_err(|e| StreamingError::from(network_error(&e)))?;
            let reply = reply.map_err(|s| StreamingError::from(status_to_rpc_error(target, &s)))?;
            decode_reply::<SnapshotResponse<TypeConfig>>(&reply.into_inner().data)
                .map_err(StreamingError::from)
        };
        tokio::select! {
            result = transfer => result,
            closed = cancel => Err(StreamingError::Closed(closed)),
        }
    }

    fn backoff(&self) -> Option<Backoff> {
        // A peer that is down is retried every 200 ms: often enough to notice it is back within a
        // heartbeat or two, rarely enough not to spin.
        Some(Backoff::new(std::iter::repeat(Duration::from_millis(200))))
    }
}
