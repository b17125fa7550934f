//! Incoming Raft traffic: the `qraft.v1.Raft` gRPC service, decoding peers' messages for openraft
//! and taking batches forwarded by followers.

use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
use qraft_proto::metadata;
use qraft_proto::pb;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tonic::{Request, Response, Status, Streaming};

use crate::queue::{Command, Observation};
use crate::raft::control::leader_contact::LeaderContact;
use crate::raft::control::vote_guard::VoteGuard;
use crate::raft::persist::codec;
use crate::raft::persist::snapshot;
use crate::raft::proposer::Proposer;
use crate::raft::read_index;
use crate::raft::types::{NodeId, Raft, SnapshotMeta, TypeConfig, Vote};

pub struct RaftRpcServer {
    raft: Raft,
    proposer: Proposer,
    cluster_name: String,
    snapshot_dir: PathBuf,
    leader_contact: Arc<LeaderContact>,
    guard: Arc<VoteGuard>,
    applied: tokio::sync::watch::Receiver<u64>,
}

impl RaftRpcServer {
    pub fn new(
        raft: Raft,
        proposer: Proposer,
        cluster_name: String,
        snapshot_dir: PathBuf,
        leader_contact: Arc<LeaderContact>,
        guard: Arc<VoteGuard>,
        applied: tokio::sync::watch::Receiver<u64>,
    ) -> Self {
        RaftRpcServer {
            raft,
            proposer,
            cluster_name,
            snapshot_dir,
            leader_contact,
            guard,
            applied,
        }
    }

    /// Refuses Raft traffic while a node that started without data waits for bootstrap: an
    /// AppendEntries answered with an empty log would look, to the leader, like a follower whose
    /// log went backwards.
    fn must_be_open(&self) -> Result<(), Status> {
        if self.guard.is_open() {
            Ok(())
        } else {
            Err(Status::unavailable(
                "this node is starting without data; it serves Raft once bootstrap has decided how it rejoins",
            ))
        }
    }

    /// Refuses to vote while a node that lost its data catches up: its empty log would let a
    /// candidate without the entries it once acknowledged win.
    fn must_be_voting(&self) -> Result<(), Status> {
        self.must_be_open()?;
        let applied = *self.applied.borrow();
        if self.guard.may_vote(applied) {
            return Ok(());
        }
        Err(Status::unavailable(format!(
            "this node is catching up after losing its data and votes again once it has applied index {} (it has {applied})",
            self.guard.withheld_until().unwrap_or_default()
        )))
    }

    /// Refuses traffic from a node of another cluster before it can touch Raft state.
    fn must_be_same_cluster<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let theirs = request
            .metadata()
            .get(metadata::CLUSTER)
            .and_then(|v| v.to_str().ok());
        if theirs == Some(self.cluster_name.as_str()) {
            return Ok(());
        }
        tracing::warn!(theirs = ?theirs, ours = %self.cluster_name, "refused Raft traffic from another cluster");
        Err(Status::permission_denied(format!(
            "this node belongs to cluster {:?}, the sender to {:?}",
            self.cluster_name,
            theirs.unwrap_or("(none)")
        )))
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, request: Request<pb::RaftPayload>) -> Result<T, Status> {
        self.must_be_same_cluster(&request)?;
        codec::decode(&request.into_inner().data)
            .map_err(|e| Status::invalid_argument(format!("undecodable Raft message: {e}")))
    }
}

/// Answers carry `Result<T, String>`, so a stopped Raft is an answer, not a transport error.
fn reply<T: Serialize, E: std::fmt::Display>(
    result: Result<T, E>,
) -> Result<Response<pb::RaftPayload>, Status> {
    let result = result.map_err(|e| e.to_string());
    let data = codec::encode(&result).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Response::new(pb::RaftPayload { data: data.into() }))
}

#[tonic::async_trait]
impl pb::raft_server::Raft for RaftRpcServer {
    async fn vote(&self, request: Request<pb::RaftPayload>) -> Result<Response<pb::RaftPayload>, Status> {
        self.must_be_voting()?;
        let rpc: VoteRequest<TypeConfig> = self.decode(request)?;
        reply(self.raft.vote(rpc).await)
    }

    async fn pre_vote(&self, request: Request<pb::RaftPayload>) -> Result<Response<pb::RaftPayload>, Status> {
        self.must_be_voting()?;
        let rpc: VoteRequest<TypeConfig> = self.decode(request)?;
        reply(self.raft.pre_vote(rpc).await)
    }

    async fn append_entries(
        &self,
        request: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        self.must_be_open()?;
        let rpc: AppendEntriesRequest<TypeConfig> = self.decode(request)?;
        self.leader_contact.touch();
        reply(self.raft.append_entries(rpc).await)
    }

    async fn transfer_leader(
        &self,
        request: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        self.must_be_voting()?;
        let rpc: TransferLeaderRequest<TypeConfig> = self.decode(request)?;
        reply(self.raft.handle_transfer_leader(rpc).await)
    }

    async fn propose(&self, request: Request<pb::RaftPayload>) -> Result<Response<pb::RaftPayload>, Status> {
        let bytes = request.get_ref().data.len();
        let commands: Vec<Command> = self.decode(request)?;
        let result = self.proposer.propose_forwarded(commands, bytes).await;
        let data = codec::encode(&result).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::RaftPayload { data: data.into() }))
    }

    async fn read_index(
        &self,
        request: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        let () = self.decode(request)?;
        reply(read_index::read_index(&self.raft).await)
    }

    /// A node rebuilding its data under its old id asks the leader to replicate to it from the
    /// start, as its log going back to empty is expected this once.
    async fn allow_revert(
        &self,
        request: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        let node: NodeId = self.decode(request)?;
        let result = match self.raft.trigger().allow_next_revert(&node, true).await {
            Ok(Ok(())) => {
                tracing::warn!(
                    node,
                    "a node rebuilds its lost data from the cluster: replicating to it from the start"
                );
                let reverted = Command::Observe(Observation::LogReverted { node });
                if let Err(e) = self.proposer.propose(vec![reverted]).await {
                    tracing::warn!(node, error = %e, "the log reversion is not on the timeline");
                }
                Ok(())
            }
            Ok(Err(refused)) => Err(refused.to_string()),
            Err(fatal) => Err(fatal.to_string()),
        };
        reply(result)
    }

    async fn install_snapshot(
        &self,
        request: Request<Streaming<pb::SnapshotChunk>>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        self.must_be_same_cluster(&request)?;
        self.must_be_open()?;
        let mut stream = request.into_inner();
        let first = stream
            .next()
            .await
            .ok_or_else(|| Status::invalid_argument("empty snapshot stream"))??;
        let Some(pb::snapshot_chunk::Item::Meta(meta)) = first.item else {
            return Err(Status::invalid_argument(
                "a snapshot stream must start with its metadata",
            ));
        };
        let (vote, meta): (Vote, SnapshotMeta) = codec::decode(&meta.data)
            .map_err(|e| Status::invalid_argument(format!("undecodable snapshot metadata: {e}")))?;

        tokio::fs::create_dir_all(&self.snapshot_dir)
            .await
            .map_err(|e| Status::internal(format!("cannot create the snapshot directory: {e}")))?;
        let path = self
            .snapshot_dir
            .join(format!("incoming-{}.tmp", ulid::Ulid::new()));
        let result = async {
            let mut file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| Status::internal(format!("cannot store the snapshot: {e}")))?;
            let mut received = 0usize;
            while let Some(chunk) = stream.next().await {
                let Some(pb::snapshot_chunk::Item::Data(data)) = chunk?.item else {
                    return Err(Status::invalid_argument("snapshot metadata sent twice"));
                };
                received += data.len();
                file.write_all(&data)
                    .await
                    .map_err(|e| Status::internal(format!("cannot store the snapshot: {e}")))?;
            }
            file.flush()
                .await
                .map_err(|e| Status::internal(format!("cannot store the snapshot: {e}")))?;
            tracing::info!(bytes = received, last_log_id = ?meta.last_log_id, "snapshot received");
            // A damaged file is refused here, as a failed transfer the leader sends again,
            // rather than handed to Raft, for which a failed install is fatal.
            let check = path.clone();
            let checked =
                tokio::task::spawn_blocking(move || std::fs::File::open(check).and_then(snapshot::verify))
                    .await
                    .map_err(|e| Status::internal(format!("checking the snapshot: {e}")))?;
            if let Err(e) = checked {
                tracing::warn!(error = %e, "received snapshot refused");
                return Err(Status::data_loss(format!("the snapshot arrived damaged: {e}")));
            }
            let file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| Status::internal(format!("cannot reopen the snapshot: {e}")))?;
            let snapshot = openraft::type_config::alias::SnapshotOf::<TypeConfig, tokio::fs::File> {
                meta,
                snapshot: file,
            };
            Ok(self.raft.install_full_snapshot(vote, snapshot).await)
        }
        .await;
        // The state machine keeps its own copy; the received file is no longer needed.
        let _ = tokio::fs::remove_file(&path).await;
        reply(result?)
    }
}
