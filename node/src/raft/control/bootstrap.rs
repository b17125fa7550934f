//! How a node comes into a cluster on its first start: it forms the cluster with the `--peers`
//! it was given, or it asks an existing cluster to take it in (`--join`), or, when a peer says
//! the cluster exists already, it is either a member starting late (it waits for the leader to
//! replicate to it) or one that lost its data: the cluster records which members ever held
//! part of the log, and such a node refuses to start unless the operator says `--rebuild`. Either
//! way a node that starts without data votes only once it has applied what the cluster had
//! committed when it came back (see `vote_guard`). A node that was ever told to join never forms a
//! cluster of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use openraft::BasicNode;
use openraft::error::{InitializeError, RaftError};
use qraft_proto::{Client, ClientError, Credentials, RetryPolicy};

use crate::raft::persist::codec;
use crate::raft::replica::{Replica, ReplicaError};
use crate::raft::types::NodeId;

/// How long a joining node keeps asking to be added before it gives up and says so.
const JOIN_PATIENCE: Duration = Duration::from_secs(15 * 60);
/// How long the leader may take to catch a new node up, per request.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(10 * 60);
/// How long a rebuilding node keeps asking for a leader to replicate to it from the start.
const REBUILD_PATIENCE: Duration = Duration::from_secs(60);

/// What the peers of a node without data say of the cluster they run.
struct ClusterSeen {
    /// Members a leader has seen hold part of the log.
    active: BTreeSet<NodeId>,
    /// The highest index any peer knows to be committed.
    committed: u64,
    leader_addr: Option<String>,
}

impl Replica {
    /// Forms the cluster on first start. Does nothing if this node has Raft state already, was
    /// started to join, or if a peer reports an existing cluster (then this node is a
    /// replacement and waits for the leader to replicate to it). Every node may run this with
    /// the same peers at once: they all write the same initial membership.
    pub async fn bootstrap(
        &self,
        peers: &BTreeMap<NodeId, String>,
        rebuild: bool,
    ) -> Result<(), ReplicaError> {
        if self.initialized().await? {
            tracing::info!("existing Raft state found; rejoining the cluster");
            return Ok(());
        }
        if self.storage().is_joining()? {
            tracing::warn!(
                "this node was started with --join and has not been taken in yet; it waits for the \
                 leader (start it with --join ADDR again to ask once more)"
            );
            self.vote_guard().open();
            return Ok(());
        }
        if let Some(cluster) = self.cluster_of(peers).await {
            return self.come_back(peers, cluster, rebuild).await;
        }
        self.vote_guard().open();
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
        // A new id: the cluster has nothing of this node's to lose.
        self.vote_guard().open();
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
    pub(in crate::raft) fn as_peer(&self) -> Credentials {
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

    /// A node without data whose peers run a cluster: a member starting late, or one that lost
    /// its data (refused unless `rebuild`). Either way it votes only once it has caught up.
    async fn come_back(
        &self,
        peers: &BTreeMap<NodeId, String>,
        cluster: ClusterSeen,
        rebuild: bool,
    ) -> Result<(), ReplicaError> {
        let lost = cluster.active.contains(&self.id());
        if lost && !rebuild {
            return Err(ReplicaError::LostState(format!(
                "node {id} has no data, but the cluster recorded it as holding part of the log: its \
                 data was lost (a wiped disk, a new machine). Coming back empty under the same id could \
                 let it vote for a leader that lacks entries it had acknowledged. Either start it under \
                 a new id with --join (qraft node --id NEW --join {peer} ...) and then run `qraft cluster \
                 remove-node {id}`, or, if a majority of the other nodes is healthy, start it again with \
                 --rebuild: it then catches up from the cluster and votes only once it has",
                id = self.id(),
                peer = cluster.leader_addr.as_deref().unwrap_or("A_NODE"),
            )));
        }
        self.vote_guard().withhold_until(cluster.committed)?;
        if lost {
            self.allow_revert(peers, cluster.leader_addr).await?;
            tracing::warn!(
                until = cluster.committed,
                "rebuilding this node's lost data from the cluster; it votes again once it has applied the index"
            );
        } else {
            tracing::info!(
                until = cluster.committed,
                "no local state, but the cluster exists: waiting for the leader to replicate to this node, \
                 which votes once it has applied the index"
            );
        }
        self.vote_guard().open();
        Ok(())
    }

    /// Asks the leader to replicate to this node from the start: with log reversion off, a
    /// follower whose log went back to empty is otherwise never caught up (or stops the leader).
    async fn allow_revert(
        &self,
        peers: &BTreeMap<NodeId, String>,
        mut leader_addr: Option<String>,
    ) -> Result<(), ReplicaError> {
        let started = Instant::now();
        loop {
            if let Some(addr) = &leader_addr {
                match self.ask_allow_revert(addr).await {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        tracing::warn!(leader = %addr, error = %e, "the leader did not allow the rebuild yet")
                    }
                }
            }
            if started.elapsed() > REBUILD_PATIENCE {
                return Err(ReplicaError::Raft(format!(
                    "no leader allowed this node to rebuild within {} s; is a majority of the cluster up?",
                    REBUILD_PATIENCE.as_secs()
                )));
            }
            // Between two requests; each asks the leader itself.
            tokio::time::sleep(Duration::from_millis(500)).await;
            leader_addr = match self.cluster_of(peers).await {
                Some(cluster) => cluster.leader_addr.or(leader_addr),
                None => leader_addr,
            };
        }
    }

    async fn ask_allow_revert(&self, leader_addr: &str) -> Result<(), String> {
        let mut client = self.network().client(leader_addr)?;
        let data = codec::encode(&self.id()).map_err(|e| e.to_string())?;
        let request = client.request(
            qraft_proto::pb::RaftPayload { data: data.into() },
            Some(Duration::from_secs(5)),
        );
        let reply = client
            .inner
            .allow_revert(request)
            .await
            .map_err(|status| status.message().to_owned())?;
        let answer: Result<(), String> =
            codec::decode(&reply.into_inner().data).map_err(|e| e.to_string())?;
        answer
    }

    /// What the peers that already run a cluster say of it, if any answers.
    async fn cluster_of(&self, peers: &BTreeMap<NodeId, String>) -> Option<ClusterSeen> {
        let known = self.status().members;
        let others: Vec<String> = peers
            .iter()
            .map(|(id, addr)| (*id, addr.clone()))
            .chain(known.into_iter().map(|m| (m.id, m.addr)))
            .filter(|(id, _)| *id != self.id())
            .map(|(_, addr)| addr)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if others.is_empty() {
            return None;
        }
        let client = Client::with_credentials(others.iter().map(|a| a.as_str()), &self.as_peer())
            .ok()?
            .with_timeout(Duration::from_millis(800));
        let mut seen: Option<ClusterSeen> = None;
        for (_, status) in client.cluster_status().await {
            let Ok(status) = status else {
                continue;
            };
            if status.members.is_empty() {
                continue;
            }
            let cluster = seen.get_or_insert_with(|| ClusterSeen {
                active: BTreeSet::new(),
                committed: 0,
                leader_addr: None,
            });
            cluster.active.extend(status.active_members.iter().copied());
            cluster.committed = cluster.committed.max(status.committed_index);
            if !status.leader_addr.is_empty() {
                cluster.leader_addr = Some(status.leader_addr.clone());
            }
        }
        seen
    }
}
