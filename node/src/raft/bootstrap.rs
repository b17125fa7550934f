//! How a node comes into a cluster on its first start: it forms the cluster with the `--peers`
//! it was given, or it asks an existing cluster to take it in (`--join`), or, when a peer says
//! the cluster exists already (this node's data was lost), it waits for the leader to replicate
//! to it. A node that was ever told to join never forms a cluster of its own.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use openraft::BasicNode;
use openraft::error::{InitializeError, RaftError};
use qraft_proto::{Client, ClientError, Credentials, RetryPolicy};

use super::replica::{Replica, ReplicaError};
use super::types::NodeId;

/// How long a joining node keeps asking to be added before it gives up and says so.
const JOIN_PATIENCE: Duration = Duration::from_secs(15 * 60);
/// How long the leader may take to catch a new node up, per request.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(10 * 60);

impl Replica {
    /// Forms the cluster on first start. Does nothing if this node has Raft state already, was
    /// started to join, or if a peer reports an existing cluster (then this node is a
    /// replacement and waits for the leader to replicate to it). Every node may run this with
    /// the same peers at once: they all write the same initial membership.
    pub async fn bootstrap(&self, peers: &BTreeMap<NodeId, String>) -> Result<(), ReplicaError> {
        if self.initialized().await? {
            tracing::info!("existing Raft state found; rejoining the cluster");
            return Ok(());
        }
        if self.storage().is_joining()? {
            tracing::warn!(
                "this node was started with --join and has not been taken in yet; it waits for the \
                 leader (start it with --join ADDR again to ask once more)"
            );
            return Ok(());
        }
        if let Some(peer) = self.peer_with_cluster(peers).await {
            tracing::info!(
                peer = %peer,
                "no local state, but the cluster exists; waiting for the leader to replicate to this node"
            );
            return Ok(());
        }
        let members: BTreeMap<NodeId, BasicNode> = peers
            .iter()
            .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
            .collect();
        match self.raft().initialize(members).await {
            Ok(()) => {
                tracing::info!(members = ?peers.keys().collect::<Vec<_>>(), "initialised a new cluster");
                Ok(())
            }
            Err(RaftError::APIError(InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(ReplicaError::Raft(e.to_string())),
        }
    }

    /// Asks the cluster that `via` belongs to to add this node (reachable at `advertise`) as a
    /// learner and then a voter, resending until it is a voter; returns when it is. Marks the
    /// node as joining first, so it never forms a cluster of its own.
    pub async fn join(&self, via: &str, advertise: &str) -> Result<(), ReplicaError> {
        if !self.initialized().await? {
            self.storage().mark_joining()?;
        }
        let client = Client::with_credentials([via], &self.as_peer())
            .map_err(|e| ReplicaError::Settings(format!("--join {via}: {e}")))?
            .with_timeout(CATCH_UP_LIMIT + Duration::from_secs(30))
            .with_retry(RetryPolicy {
                deadline: CATCH_UP_LIMIT + Duration::from_secs(60),
                ..RetryPolicy::default()
            });
        let started = Instant::now();
        loop {
            tracing::info!(
                via,
                id = self.id(),
                advertise,
                "asking the cluster to add this node"
            );
            match client
                .add_node(self.id(), advertise, CATCH_UP_LIMIT.as_millis() as u64)
                .await
            {
                Ok(response) => {
                    tracing::info!(
                        took_ms = response.took_ms,
                        already = !response.added,
                        "this node is a voter of the cluster"
                    );
                    return Ok(());
                }
                Err(ClientError::InvalidArgument(reason)) => {
                    return Err(ReplicaError::Settings(format!(
                        "the cluster refused to add this node: {reason}"
                    )));
                }
                Err(e) if started.elapsed() < JOIN_PATIENCE => {
                    tracing::warn!(error = %e, "not added yet; asking again");
                    // Between two requests; each one waits on the cluster itself.
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(e) => {
                    return Err(ReplicaError::Raft(format!(
                        "not added to the cluster within {} min: {e}",
                        JOIN_PATIENCE.as_secs() / 60
                    )));
                }
            }
        }
    }

    /// How this node calls its peers' client services: with its node certificate, which the
    /// peers admit like an admin.
    fn as_peer(&self) -> Credentials {
        Credentials {
            tls: self.settings().tls.clone(),
            token: None,
        }
    }

    async fn initialized(&self) -> Result<bool, ReplicaError> {
        self.raft()
            .is_initialized()
            .await
            .map_err(|e| ReplicaError::Raft(e.to_string()))
    }

    /// A peer that already belongs to an initialised cluster, if any answers.
    async fn peer_with_cluster(&self, peers: &BTreeMap<NodeId, String>) -> Option<String> {
        let others: Vec<&String> = peers
            .iter()
            .filter(|(id, _)| **id != self.id())
            .map(|(_, a)| a)
            .collect();
        if others.is_empty() {
            return None;
        }
        let client = Client::with_credentials(others.iter().map(|a| a.as_str()), &self.as_peer())
            .ok()?
            .with_timeout(Duration::from_millis(800));
        for (addr, status) in client.cluster_status().await {
            if let Ok(status) = status
                && !status.members.is_empty()
            {
                return Some(addr);
            }
        }
        None
    }
}
