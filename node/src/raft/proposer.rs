//! Group commit at the API: concurrent commands become one log entry.
//!
//! Callers hand commands to [`Proposer::propose`]; one task drains everything waiting into a
//! batch and proposes it as a single [`Proposal`] (one append, one fsync, one replication round),
//! several batches in flight at once. On a follower the batch is forwarded to the leader, which
//! stamps and proposes it. Every caller gets its own outcomes back, in order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, RaftError};
use openraft::type_config::async_runtime::WatchReceiver;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::parked::{ParkedLease, ParkedLeases, ParkedReply};
use super::persist::codec;
use super::persist::disk::DiskGuard;
use super::persist::state_machine::SharedState;
use super::propose_error::ProposeError;
use super::transport::network::PeerNetwork;
use super::types::{NodeId, Proposal, Raft};
use crate::clock::LeaderClock;
use crate::metrics::Timings;
use crate::queue::cap::{StoreCaps, Usage};
use crate::queue::{Command, LeaseRequest, Outcome};

/// Most commands in one log entry.
const MAX_BATCH_COMMANDS: usize = 2048;
/// Most encoded bytes in one log entry (tasks can carry up to 1 MiB of args each); one
/// proposal larger than this is an entry of its own.
const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Most encoded bytes of proposals a node holds waiting for their outcome: past it, one more is
/// refused as overloaded instead of queueing without end (each request is bounded by the
/// transport's message limit; this bounds them all together).
const MAX_WAITING_BYTES: usize = 256 * 1024 * 1024;
/// Batches proposed but not yet committed, per node.
const MAX_IN_FLIGHT: usize = 16;
/// How long a proposal waits for a leader to emerge before answering "no leader".
const LEADER_WAIT: Duration = Duration::from_secs(3);
/// Longest wait between two attempts while waiting for a leader.
const LEADER_POLL: Duration = Duration::from_millis(250);
/// How long a forwarded batch may take on the leader.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);

type Reply = oneshot::Sender<Result<Vec<Outcome>, ProposeError>>;

/// Commands waiting to be proposed, their encoded size, where their outcomes go, and since when
/// they wait.
type Waiting = (Vec<Command>, usize, Reply, Instant);

/// Handle for proposing commands; cheap to clone.
#[derive(Clone)]
pub struct Proposer {
    queue: mpsc::Sender<Waiting>,
    writer: Arc<Writer>,
    waiting: WaitingBytes,
    room: Room,
}

/// What a write must find room in. Checked on the node a write arrives at and on the leader it
/// is forwarded to: both disks must hold what the write adds, and both must see the state
/// within its caps.
#[derive(Clone)]
pub struct Room {
    pub disk: DiskGuard,
    pub caps: StoreCaps,
}

impl Proposer {
    pub fn start(
        raft: Raft,
        node_id: NodeId,
        network: PeerNetwork,
        room: Room,
        clock: Arc<LeaderClock>,
        shared: Arc<SharedState>,
        timings: Timings,
    ) -> Proposer {
        let (tx, rx) = mpsc::channel(4096);
        let writer = Arc::new(Writer {
            raft,
            node_id,
            network,
            clock,
            shared,
            timings,
            parked: Arc::default(),
        });
        tokio::spawn(batch_loop(rx, writer.clone()));
        Proposer {
            queue: tx,
            writer,
            waiting: WaitingBytes::new(MAX_WAITING_BYTES),
            room,
        }
    }

    /// Proposes `commands` (batched with whatever else is waiting) and returns their outcomes.
    pub async fn propose(&self, commands: Vec<Command>) -> Result<Vec<Outcome>, ProposeError> {
        self.must_have_room(&commands)?;
        let bytes = codec::encoded_len(&commands);
        let _waiting = self.hold(bytes)?;
        let (tx, rx) = oneshot::channel();
        self.queue
            .send((commands, bytes, tx, Instant::now()))
            .await
            .map_err(|_| ProposeError::ShuttingDown)?;
        rx.await.map_err(|_| ProposeError::ShuttingDown)?
    }

    /// Parks `lease` until this node, leading, writes an entry with a submit it could take, and
    /// sends it along in that entry (see `parked`).
    pub fn park_lease(&self, lease: LeaseRequest, reply: ParkedReply) -> ParkedLease {
        self.writer.parked.park(lease, reply)
    }

    /// Takes a parked lease back; `false` if an entry already carries it (its answer will come).
    pub fn unpark_lease(&self, lease: ParkedLease) -> bool {
        self.writer.parked.unpark(lease)
    }

    /// Proposes a batch forwarded by a follower, on this node only (never forwarded again).
    /// `bytes`: its size as it came, encoded, so it is not encoded again to be counted.
    pub async fn propose_forwarded(
        &self,
        commands: Vec<Command>,
        bytes: usize,
    ) -> Result<Vec<Outcome>, ProposeError> {
        self.must_have_room(&commands)?;
        let _waiting = self.hold(bytes)?;
        self.writer.write_local(commands).await
    }

    fn hold(&self, bytes: usize) -> Result<OwnedSemaphorePermit, ProposeError> {
        self.waiting
            .hold(bytes)
            .map_err(|waiting_bytes| ProposeError::Overloaded {
                node: self.writer.node_id,
                bytes: bytes as u64,
                waiting_bytes,
                limit_bytes: self.waiting.limit_kib as u64 * 1024,
            })
    }

    /// Refuses a write that would grow the state past the disk's watermark or a cap. Answers
    /// and other writes that add nothing pass without a look at the state (and its lock).
    fn must_have_room(&self, commands: &[Command]) -> Result<(), ProposeError> {
        self.room.disk.must_have_room(commands)?;
        let adding = Usage::added_by(commands);
        if !adding.is_nothing() {
            let held = self.writer.shared.queue().usage();
            self.room.caps.must_hold(held, adding)?;
        }
        Ok(())
    }
}

/// Bytes of proposals waiting for their outcome on a node, counted in KiB, up to a limit.
#[derive(Clone)]
struct WaitingBytes {
    kib: Arc<Semaphore>,
    limit_kib: usize,
}

impl WaitingBytes {
    fn new(limit_bytes: usize) -> WaitingBytes {
        let limit_kib = (limit_bytes / 1024).max(1);
        WaitingBytes {
            kib: Arc::new(Semaphore::new(limit_kib)),
            limit_kib,
        }
    }

    /// A place for `bytes` more, held until their outcome is known; a proposal larger than the
    /// whole limit waits alone. `Err`: the bytes waiting now, which leave no room.
    fn hold(&self, bytes: usize) -> Result<OwnedSemaphorePermit, u64> {
        let kib = (bytes / 1024 + 1).min(self.limit_kib);
        self.kib
            .clone()
            .try_acquire_many_owned(u32::try_from(kib).unwrap_or(u32::MAX))
            .map_err(|_| ((self.limit_kib - self.kib.available_permits()) * 1024) as u64)
    }
}

async fn batch_loop(mut rx: mpsc::Receiver<Waiting>, writer: Arc<Writer>) {
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut carry: Option<Waiting> = None;
    loop {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let first = match carry.take() {
            Some(item) => item,
            None => match rx.recv().await {
                Some(item) => item,
                None => return,
            },
        };
        let mut bytes = first.1;
        let mut count = first.0.len();
        let mut batch = vec![first];
        while count < MAX_BATCH_COMMANDS && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(item) => {
                    if bytes + item.1 > MAX_BATCH_BYTES {
                        carry = Some(item);
                        break;
                    }
                    bytes += item.1;
                    count += item.0.len();
                    batch.push(item);
                }
                Err(_) => break,
            }
        }
        let writer = writer.clone();
        for (_, _, _, since) in &batch {
            writer.timings.propose_wait.observe_since(*since);
        }
        tokio::spawn(async move {
            let _permit = permit;
            let sizes: Vec<usize> = batch.iter().map(|(c, _, _, _)| c.len()).collect();
            let (commands, replies): (Vec<Vec<Command>>, Vec<Reply>) =
                batch.into_iter().map(|(c, _, reply, _)| (c, reply)).unzip();
            let result = writer.write(commands.into_iter().flatten().collect()).await;
            deliver(result, &sizes, replies);
        });
    }
}

/// Splits a batch's outcomes back to the callers, in order.
fn deliver(result: Result<Vec<Outcome>, ProposeError>, sizes: &[usize], replies: Vec<Reply>) {
    match result {
        Ok(outcomes) if outcomes.len() == sizes.iter().sum::<usize>() => {
            let mut outcomes = outcomes.into_iter();
            for (size, reply) in sizes.iter().zip(replies) {
                let _ = reply.send(Ok(outcomes.by_ref().take(*size).collect()));
            }
        }
        Ok(outcomes) => {
            let error = ProposeError::Unknown(format!(
                "the state machine answered {} outcomes for {} commands",
                outcomes.len(),
                sizes.iter().sum::<usize>()
            ));
            tracing::error!(%error, "proposal answer does not match the batch");
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

struct Writer {
    raft: Raft,
    node_id: NodeId,
    network: PeerNetwork,
    /// What this node stamps entries with when it leads.
    clock: Arc<LeaderClock>,
    /// The cluster time this node has applied: stamps never go below it.
    shared: Arc<SharedState>,
    timings: Timings,
    parked: Arc<ParkedLeases>,
}

impl Writer {
    /// Proposes through whoever leads. While there is no reachable leader (an election is
    /// running), waits for one and tries again: nothing was applied, so this is safe, and the
    /// caller sees a failover as a slower answer instead of an error.
    ///
    /// On the leader the batch is moved into the log entry, not copied; if Raft refuses it (the
    /// node lost leadership a moment ago), the refusal goes back to the callers as "not applied"
    /// with the new leader's address, and they resend.
    async fn write(&self, commands: Vec<Command>) -> Result<Vec<Outcome>, ProposeError> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let leader = self.raft.metrics().borrow_watched().current_leader;
            let result = match leader {
                Some(id) if id == self.node_id => return self.write_local(commands).await,
                Some(id) => match self.leader_addr(id) {
                    Some(addr) => self.forward_while_leading(id, &addr, &commands).await,
                    None => Err(ProposeError::NoLeader { leader_addr: None }),
                },
                None => Err(ProposeError::NoLeader { leader_addr: None }),
            };
            let now = Instant::now();
            match result {
                Err(ProposeError::NoLeader { .. }) if now < deadline => {
                    let wait = (deadline - now).min(LEADER_POLL);
                    let _ = self
                        .raft
                        .wait(Some(wait))
                        .metrics(
                            |m| m.current_leader.is_some() && m.current_leader != leader,
                            "a new leader",
                        )
                        .await;
                }
                other => return other,
            }
        }
    }

    fn leader_addr(&self, id: NodeId) -> Option<String> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow_watched();
        metrics
            .membership_config
            .membership()
            .get_node(&id)
            .map(|node| node.addr.clone())
    }

    /// Stamps the batch with this node's clock and proposes it; only the leader succeeds.
    /// Leases parked for one of its submits ride along (`parked`), and get their own outcomes.
    async fn write_local(&self, mut commands: Vec<Command>) -> Result<Vec<Outcome>, ProposeError> {
        let riding = self.parked.board(&mut commands);
        let term = self.raft.metrics().borrow_watched().current_term;
        let cluster_ms = self.shared.queue().now_ms();
        let proposal = Proposal {
            stamped_at_ms: self.clock.stamp(term, cluster_ms),
            commands,
        };
        let started = Instant::now();
        let written = self.raft.client_write(proposal).await;
        if written.is_ok() {
            self.timings.leader_write.observe_since(started);
        }
        let result = match written {
            Ok(response) => Ok(response.data.outcomes),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                Err(ProposeError::NoLeader {
                    leader_addr: forward.leader_node.map(|n| n.addr),
                })
            }
            Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(_))) => Err(ProposeError::Unknown(
                "leadership changed before the entry committed".into(),
            )),
            Err(RaftError::APIError(other)) => Err(ProposeError::Unknown(other.to_string())),
            Err(RaftError::Fatal(fatal)) => Err(ProposeError::Unknown(format!("raft stopped: {fatal}"))),
        };
        riding.deliver(result)
    }

    /// Forwards to leader `id`, but gives up as soon as this node sees another leader (or none):
    /// a leader that froze or was cut off never answers, and waiting out the forward's timeout
    /// would hold every write here for that long after a new leader is already elected. The
    /// batch may have reached the old leader, so the outcome is unknown; callers resend with
    /// their idempotency keys.
    async fn forward_while_leading(
        &self,
        id: NodeId,
        addr: &str,
        commands: &[Command],
    ) -> Result<Vec<Outcome>, ProposeError> {
        let deposed = async {
            let moved = self
                .raft
                .wait(Some(FORWARD_TIMEOUT))
                .metrics(|m| m.current_leader != Some(id), "the leader changed")
                .await;
            if moved.is_err() {
                // The forward's own timeout decides then.
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            answer = self.forward(addr, commands) => answer,
            () = deposed => {
                // Mid-election there is no leader yet: wait a little for one to name.
                let _ = self
                    .raft
                    .wait(Some(LEADER_WAIT))
                    .metrics(|m| m.current_leader.is_some_and(|l| l != id), "a new leader")
                    .await;
                let leader = self.raft.metrics().borrow_watched().current_leader;
                Err(ProposeError::LeaderChanged {
                    leader_addr: leader.filter(|l| *l != id).and_then(|l| self.leader_addr(l)),
                })
            }
        }
    }

    async fn forward(&self, addr: &str, commands: &[Command]) -> Result<Vec<Outcome>, ProposeError> {
        let mut client = self
            .network
            .client(addr)
            .map_err(|_| ProposeError::NoLeader { leader_addr: None })?;
        let data = codec::encode(commands).map_err(|e| ProposeError::Unknown(e.to_string()))?;
        let request = client.request(pb_payload(data), Some(FORWARD_TIMEOUT));
        let started = Instant::now();
        match client.inner.propose(request).await {
            Ok(reply) => {
                self.timings.forward.observe_since(started);
                codec::decode::<Result<Vec<Outcome>, ProposeError>>(&reply.into_inner().data)
                    .map_err(|e| ProposeError::Unknown(format!("leader's answer is unreadable: {e}")))?
            }
            Err(status) if is_connect_failure(&status) => Err(ProposeError::NoLeader { leader_addr: None }),
            Err(status) => Err(ProposeError::Unknown(format!(
                "forwarding to the leader at {addr} failed: {}",
                status.message()
            ))),
        }
    }
}

fn pb_payload(data: Vec<u8>) -> qraft_proto::pb::RaftPayload {
    qraft_proto::pb::RaftPayload { data: data.into() }
}

/// The request never reached the leader: the connection could not be made.
fn is_connect_failure(status: &tonic::Status) -> bool {
    if status.code() != tonic::Code::Unavailable {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(error) = source {
        if error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        source = error.source();
    }
    status.message().contains("tcp connect error") || status.message().contains("Connection refused")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposals_past_the_waiting_bytes_are_refused_until_some_have_their_outcome() {
        let waiting = WaitingBytes::new(1024 * 1024);
        let first = waiting.hold(600 * 1024).expect("room");
        assert_eq!(waiting.hold(600 * 1024).err(), Some(601 * 1024), "no room left");
        let small = waiting.hold(100).expect("a small one fits");
        drop(first);
        let second = waiting.hold(600 * 1024).expect("room again");
        drop((small, second));
        let alone = waiting
            .hold(5 * 1024 * 1024)
            .expect("larger than the limit: alone");
        assert!(waiting.hold(100).is_err());
        drop(alone);
    }
}
