//! A replica's life: started with its background loops, stopped with them, in one place. The
//! loops (the leader's tick, the observer, compaction) are the replica's own: nothing else
//! starts or stops them.

use std::time::Duration;

use super::control::{observer, ticker};
use super::persist::compaction;
use super::persist::storage::Storage;
use super::replica::{RaftSettings, Replica, ReplicaError};
use super::types::NodeId;

/// How long a shutdown waits for the loops to end (one may be in the middle of a proposal).
const LOOPS_STOP_LIMIT: Duration = Duration::from_secs(3);

impl Replica {
    /// Opens the stores, recovers state, starts Raft and the loops beside it. Serving the RPC
    /// service returned by [`Replica::rpc_service`] is the caller's job.
    pub async fn start(
        id: NodeId,
        settings: RaftSettings,
        storage: Storage,
    ) -> Result<Replica, ReplicaError> {
        let replica = Replica::open(id, settings, storage).await?;
        let loops = replica.loops();
        loops.spawn(|stop| ticker::run(replica.clone(), stop));
        loops.spawn(|stop| observer::run(replica.clone(), stop));
        let (raft, shared) = (replica.raft().clone(), replica.shared_arc());
        let snapshot_every = replica.settings().snapshot_every;
        loops.spawn(move |stop| compaction::run(raft, shared, snapshot_every, stop));
        Ok(replica)
    }

    /// Hands leadership away if this node leads, so the cluster does not wait for an election
    /// timeout; stops the loops; then stops Raft.
    pub async fn shutdown(&self) {
        if self.is_leader() {
            tracing::info!("handing leadership over before shutdown");
            match self.transfer_leader(None).await {
                Ok((leader, pause)) => tracing::info!(
                    to = leader.id,
                    pause_ms = pause.as_millis() as u64,
                    "leadership handed over"
                ),
                Err(e) => tracing::info!(error = %e, "leadership not handed over before shutdown"),
            }
        }
        self.loops().stop(LOOPS_STOP_LIMIT).await;
        if let Err(e) = self.raft().shutdown().await {
            tracing::warn!(error = %e, "raft did not stop cleanly");
        }
    }
}
