//! [`Replica`]: this node's member of the Raft group, as the rest of the node sees it. It owns
//! the openraft instance, the storage adapters and the proposer, and exposes only qraft terms:
//! propose commands, read the queue, report status, bootstrap, shut down.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::RaftError;
use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{Config, Instant as _, ServerState, SnapshotPolicy};
use qraft_proto::pb::raft_server::RaftServer;

use super::control::leader_contact::LeaderContact;
use super::control::vote_guard::VoteGuard;
use super::loops::Loops;
use super::parked::{ParkedLease, ParkedReply};
use super::persist::disk::DiskGuard;
use super::persist::log_store::LogStore;
use super::persist::state_machine::{SharedState, StateMachineStore};
use super::persist::storage::Storage;
use super::persist::syncer::Syncer;
use super::propose_error::ProposeError;
use super::proposer::{Proposer, Room};
use super::read_index;
use super::transport::network::{MAX_RAFT_MESSAGE, PeerNetwork};
use super::transport::rpc_server::RaftRpcServer;
use super::types::{NodeId, Raft, TypeConfig};
use crate::clock::LeaderClock;
use crate::metrics::Timings;
use crate::queue::cap::StoreCaps;
use crate::queue::{Command, LeaseRequest, Outcome};

/// Raft timing and log compaction, validated by the node config.
#[derive(Clone, Debug)]
pub struct RaftSettings {
    pub cluster_name: String,
    pub heartbeat_ms: u64,
    pub election_min_ms: u64,
    pub election_max_ms: u64,
    /// Build a snapshot after this many log entries since the last one (more with a large
    /// state: see `compaction`).
    pub snapshot_every: u64,
    /// Log entries kept behind a snapshot, so a briefly lagging follower needs no snapshot.
    pub keep_logs: u64,
    /// TLS towards peers (this node's certificate, the cluster's CA); `None`: plain text.
    pub tls: Option<qraft_proto::Tls>,
    /// Writes that grow the state are refused below this much free space on the data disk.
    pub min_free_disk_bytes: u64,
    /// Writes that would take the state past these caps are refused.
    pub store_caps: StoreCaps,
    /// The chaos suite's canary: appends are acknowledged without a WAL sync.
    pub skip_wal_sync: bool,
}

impl RaftSettings {
    /// How long a follower hears nothing before it can campaign: openraft's followers hold a
    /// leader lease of the maximum election timeout, then wait an election timeout (at least
    /// the minimum) on top.
    pub fn silence_before_election(&self) -> Duration {
        Duration::from_millis(self.election_max_ms + self.election_min_ms)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub id: NodeId,
    pub addr: String,
    pub voter: bool,
}

/// How far a peer has come, as the leader sees it.
#[derive(Clone, Debug)]
pub struct PeerProgress {
    pub id: NodeId,
    pub matched_index: Option<u64>,
    /// Entries behind the leader's last log index.
    pub lag: u64,
    /// Since the peer last acknowledged the leader; `None` if it has not since the election.
    pub last_ack: Option<Duration>,
}

/// A snapshot of this replica's Raft progress.
#[derive(Clone, Debug)]
pub struct ReplicaStatus {
    pub id: NodeId,
    pub role: Role,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub committed_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    pub purged_index: Option<u64>,
    pub leader: Option<Member>,
    pub members: Vec<Member>,
    /// Every other member's progress; empty unless this node leads.
    pub peers: Vec<PeerProgress>,
}

/// Every node of the configuration in force, voters marked.
pub(super) fn members(metrics: &openraft::RaftMetrics<TypeConfig>) -> Vec<Member> {
    let membership = metrics.membership_config.membership();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    membership
        .nodes()
        .map(|(id, node)| Member {
            id: *id,
            addr: node.addr.clone(),
            voter: voters.contains(id),
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("storage: {0}")]
    Storage(#[from] io::Error),
    #[error("invalid Raft settings: {0}")]
    Settings(String),
    #[error("raft: {0}")]
    Raft(String),
    #[error("{0}")]
    LostState(String),
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("this node does not lead")]
    NotLeader { leader_addr: Option<String> },
    #[error("node {0} is not a voter of this cluster")]
    NotAVoter(NodeId),
    #[error("no other voter to hand leadership to")]
    NoCandidate,
    #[error("leadership did not move within {0} ms")]
    TimedOut(u64),
}

#[derive(Clone)]
pub struct Replica {
    id: NodeId,
    raft: Raft,
    shared: Arc<SharedState>,
    proposer: Proposer,
    network: PeerNetwork,
    settings: RaftSettings,
    storage: Storage,
    timings: Timings,
    /// Shared with the RPC server, which touches it on every AppendEntries.
    contact: Arc<LeaderContact>,
    /// Shared with the RPC server: closed, or withholding votes, after a start without data.
    guard: Arc<VoteGuard>,
    /// Shared with the proposer, which stamps entries with it; the observer confirms it.
    clock: Arc<LeaderClock>,
    /// Held by a membership change for its whole course (an add waits for its learner to catch
    /// up): a second change started meanwhile would interleave with it.
    changing_members: Arc<tokio::sync::Mutex<()>>,
    /// The tick, the observer and compaction: started with the replica, stopped with it.
    loops: Loops,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// Opens the stores, recovers state, and starts Raft; [`Replica::start`] (in `lifecycle`)
    /// adds the loops that run beside it.
    pub(super) async fn open(
        id: NodeId,
        settings: RaftSettings,
        storage: Storage,
    ) -> Result<Replica, ReplicaError> {
        let config = Config {
            cluster_name: settings.cluster_name.clone(),
            heartbeat_interval: settings.heartbeat_ms,
            election_timeout_min: settings.election_min_ms,
            election_timeout_max: settings.election_max_ms,
            enable_pre_vote: Some(true),
            // Triggered by `compaction`, at an interval that grows with the state.
            snapshot_policy: SnapshotPolicy::Never,
            max_in_snapshot_log_to_keep: settings.keep_logs,
            // Entries carry up to 2 MiB of batched commands; keep one append well under the
            // transport's message limit.
            max_payload_entries: 64,
            install_snapshot_timeout: 10_000,
            // A follower whose log went backwards lost what it acknowledged: never accepted
            // silently. A node that lost its data comes back only through bootstrap, which
            // refuses it or, with --rebuild, has the leader allow that one reversion.
            allow_log_reversion: Some(false),
            ..Config::default()
        };
        let config = Arc::new(
            config
                .validate()
                .map_err(|e| ReplicaError::Settings(e.to_string()))?,
        );
        let timings = Timings::default();
        if settings.skip_wal_sync {
            tracing::warn!(
                "--unsafe-skip-wal-sync: writes are acknowledged before they are durable (a test canary)"
            );
        }
        let syncer = Syncer::start(&storage.db, id, timings.fsync.clone(), !settings.skip_wal_sync)?;
        let log_store = LogStore::new(storage.db.clone(), syncer)?;
        let clock = Arc::new(LeaderClock::default());
        let state_machine = StateMachineStore::open(
            storage.db.clone(),
            storage.snapshot_dir(),
            timings.clone(),
            clock.clone(),
        )?;
        let shared = state_machine.shared();
        let network = PeerNetwork::new(
            &settings.cluster_name,
            settings.tls.clone(),
            timings.replicate.clone(),
        )?;
        let raft = Raft::new(id, config, network.clone(), log_store, state_machine)
            .await
            .map_err(|e| ReplicaError::Raft(e.to_string()))?;
        let disk = DiskGuard::new(storage.dir.clone(), id, settings.min_free_disk_bytes);
        let proposer = Proposer::start(
            raft.clone(),
            id,
            network.clone(),
            Room {
                disk,
                caps: settings.store_caps,
            },
            clock.clone(),
            shared.clone(),
            timings.clone(),
        );
        // A node with Raft state serves Raft at once; one without waits for bootstrap to say
        // whether it is new or lost its data.
        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| ReplicaError::Raft(e.to_string()))?;
        let guard = Arc::new(VoteGuard::load(storage.clone(), initialized)?);
        Ok(Replica {
            id,
            raft,
            shared,
            proposer,
            network,
            settings,
            storage,
            timings,
            contact: Arc::default(),
            guard,
            clock,
            changing_members: Arc::default(),
            loops: Loops::default(),
        })
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn settings(&self) -> &RaftSettings {
        &self.settings
    }

    /// Latencies measured by the log and the state machine, for the metrics endpoint.
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    pub(super) fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The right to change the membership, while no other change runs on this node.
    pub(super) fn try_change_members(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        self.changing_members.clone().try_lock_owned().ok()
    }

    pub(super) fn loops(&self) -> &Loops {
        &self.loops
    }

    pub(super) fn storage(&self) -> &Storage {
        &self.storage
    }

    pub(super) fn leader_contact(&self) -> &LeaderContact {
        &self.contact
    }

    pub(super) fn vote_guard(&self) -> &VoteGuard {
        &self.guard
    }

    pub(super) fn leader_clock(&self) -> &LeaderClock {
        &self.clock
    }

    /// What the next entry would be stamped with if this node led now.
    pub(super) fn leader_time(&self) -> u64 {
        let term = self.raft.metrics().borrow_watched().current_term;
        self.clock.peek(term, self.shared.queue().now_ms())
    }

    pub(super) fn network(&self) -> &PeerNetwork {
        &self.network
    }

    /// Completes when Raft stops by itself on a fatal error (a failed fsync or disk write, a
    /// full disk) and says why. Such a node can no longer write; the caller exits rather than
    /// linger serving stale reads, so that a supervisor sees it.
    pub async fn fatal(&self) -> String {
        let mut metrics = self.raft.metrics();
        loop {
            if let Err(fatal) = &metrics.borrow_watched().running_state {
                return fatal.to_string();
            }
            if metrics.changed().await.is_err() {
                return "Raft stopped".into();
            }
        }
    }

    /// The leader this node knows of, itself included.
    pub fn leader_id(&self) -> Option<NodeId> {
        self.raft.metrics().borrow_watched().current_leader
    }

    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow_watched().state == ServerState::Leader
    }

    /// The gRPC service peers talk Raft to.
    pub fn rpc_service(&self) -> RaftServer<RaftRpcServer> {
        RaftServer::new(RaftRpcServer::new(
            self.raft.clone(),
            self.proposer.clone(),
            self.settings.cluster_name.clone(),
            self.storage.snapshot_dir(),
            self.contact.clone(),
            self.guard.clone(),
            self.shared.applied(),
        ))
        .max_decoding_message_size(MAX_RAFT_MESSAGE)
        .max_encoding_message_size(MAX_RAFT_MESSAGE)
    }

    /// Proposes commands through the leader and returns their outcomes once applied here...
    /// on the leader. Batched with concurrent callers.
    pub async fn propose(&self, commands: Vec<Command>) -> Result<Vec<Outcome>, ProposeError> {
        self.proposer.propose(commands).await
    }

    /// Parks a worker pool's lease until this node, leading, writes a submit it could take: the
    /// lease rides in that entry, and the task is leased as it is stored.
    pub fn park_lease(&self, lease: LeaseRequest, reply: ParkedReply) -> ParkedLease {
        self.proposer.park_lease(lease, reply)
    }

    /// Takes a parked lease back; `false` if an entry already carries it (its answer will come).
    pub fn unpark_lease(&self, lease: ParkedLease) -> bool {
        self.proposer.unpark_lease(lease)
    }

    /// Proposes one command (batched like any other) and returns its outcome.
    pub async fn propose_one(&self, command: Command) -> Result<Outcome, ProposeError> {
        self.proposer
            .propose(vec![command])
            .await?
            .pop()
            .ok_or_else(|| ProposeError::Unknown("the state machine gave no outcome".into()))
    }

    /// The replicated state as this replica has applied it.
    pub fn shared(&self) -> &SharedState {
        &self.shared
    }

    pub(super) fn shared_arc(&self) -> Arc<SharedState> {
        self.shared.clone()
    }

    /// Makes a read after this return see every write acknowledged before it: the leader
    /// confirms with a quorum that it still leads; a follower gets that confirmation and the
    /// index to read at from the leader and waits until it has applied so far (see
    /// `read_index`).
    pub async fn ensure_linearizable(&self) -> Result<(), ProposeError> {
        let leader_addr = match self
            .raft
            .ensure_linearizable(openraft::raft::ReadPolicy::ReadIndex)
            .await
        {
            Ok(_) => return Ok(()),
            Err(RaftError::APIError(openraft::error::LinearizableReadError::ForwardToLeader(f))) => {
                f.leader_node.map(|n| n.addr)
            }
            Err(other) => return Err(ProposeError::Unknown(other.to_string())),
        };
        let Some(leader_addr) = leader_addr else {
            return Err(ProposeError::NoLeader { leader_addr: None });
        };
        read_index::follow_leader(&self.network, &leader_addr, self.shared.applied()).await
    }

    pub fn status(&self) -> ReplicaStatus {
        let metrics = self.raft.metrics().borrow_watched().clone();
        let members = members(&metrics);
        let leader = metrics
            .current_leader
            .and_then(|id| members.iter().find(|m| m.id == id).cloned());
        let last_log = metrics.last_log_index.unwrap_or_default();
        let heard = metrics.heartbeat.clone().unwrap_or_default();
        let peers = metrics
            .replication
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|(id, _)| *id != self.id)
            .map(|(id, matched)| {
                let matched_index = matched.map(|log_id| log_id.index());
                PeerProgress {
                    id,
                    matched_index,
                    lag: last_log.saturating_sub(matched_index.unwrap_or_default()),
                    last_ack: heard.get(&id).copied().flatten().map(|at| at.elapsed()),
                }
            })
            .collect();
        ReplicaStatus {
            id: self.id,
            role: match metrics.state {
                ServerState::Leader => Role::Leader,
                ServerState::Follower => Role::Follower,
                ServerState::Candidate => Role::Candidate,
                ServerState::Learner => Role::Learner,
                ServerState::Shutdown => Role::Shutdown,
            },
            term: metrics.current_term,
            last_log_index: metrics.last_log_index,
            committed_index: metrics.local_committed.map(|id| id.index()),
            applied_index: metrics.last_applied.map(|id| id.index()),
            snapshot_index: metrics.snapshot.map(|id| id.index()),
            purged_index: metrics.purged.map(|id| id.index()),
            leader,
            members,
            peers,
        }
    }

    /// Hands leadership to voter `to`, or to the best one (see `handover_target`), and waits
    /// until this node sees a new leader. Returns the new leader and how long it took.
    pub async fn transfer_leader(&self, to: Option<NodeId>) -> Result<(Member, Duration), TransferError> {
        let status = self.status();
        if status.role != Role::Leader {
            return Err(TransferError::NotLeader {
                leader_addr: status.leader.map(|l| l.addr),
            });
        }
        let target = match to {
            Some(id) if status.members.iter().any(|m| m.id == id && m.voter) => id,
            Some(id) => return Err(TransferError::NotAVoter(id)),
            None => self.handover_target().ok_or(TransferError::NoCandidate)?,
        };
        if target == self.id {
            let me = status.members.into_iter().find(|m| m.id == self.id);
            return me
                .map(|m| (m, Duration::ZERO))
                .ok_or(TransferError::NotAVoter(target));
        }
        let started = Instant::now();
        let patience = self.settings.silence_before_election() * 2;
        let _ = self.raft.trigger().transfer_leader(target).await;
        let moved = self
            .raft
            .wait(Some(patience))
            .metrics(
                |m| m.current_leader.is_some_and(|l| l != self.id),
                "leadership handed over",
            )
            .await;
        if moved.is_err() {
            return Err(TransferError::TimedOut(patience.as_millis() as u64));
        }
        let elapsed = started.elapsed();
        self.status()
            .leader
            .map(|leader| (leader, elapsed))
            .ok_or(TransferError::TimedOut(patience.as_millis() as u64))
    }

    /// The voter to hand leadership to: the one that answered most recently (a dead peer's last
    /// answer grows old), then the one with the most log. `None` unless this node leads.
    fn handover_target(&self) -> Option<NodeId> {
        let metrics = self.raft.metrics().borrow_watched().clone();
        if metrics.state != ServerState::Leader {
            return None;
        }
        let heard = metrics.heartbeat.unwrap_or_default();
        let matched = metrics.replication.unwrap_or_default();
        metrics
            .membership_config
            .membership()
            .voter_ids()
            .filter(|id| *id != self.id)
            .max_by_key(|id| {
                (
                    heard.get(id).copied().flatten(),
                    matched.get(id).copied().flatten(),
                )
            })
    }
}
