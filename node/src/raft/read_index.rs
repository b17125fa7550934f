//! Linearizable reads on any node. The leader confirms with a quorum that it still leads and
//! names the log index a read must see (Raft's ReadIndex); a follower asks the leader for that
//! index over `Raft.ReadIndex` and waits until its own replica has applied it, so a client that
//! knows one address can read its own writes there (a `Wait` right after a `Submit`, say).

use std::time::Duration;

use openraft::error::{LinearizableReadError, RaftError};
use openraft::raft::ReadPolicy;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::persist::codec;
use super::propose_error::ProposeError;
use super::transport::network::PeerNetwork;
use super::types::Raft;

/// How long a follower waits for the leader's index, and then for its replica to apply it.
const READ_INDEX_TIMEOUT: Duration = Duration::from_secs(3);

/// The leader's answer to `Raft.ReadIndex`.
#[derive(Debug, Serialize, Deserialize)]
pub enum ReadIndexReply {
    /// Reads that see every write acknowledged so far must see this index applied.
    Index(u64),
    /// The node asked does not lead; the address of the one it believes does, if any.
    NotLeader(Option<String>),
}

/// On the node asked: confirms leadership with a quorum and returns the index to read at.
pub async fn read_index(raft: &Raft) -> Result<ReadIndexReply, String> {
    match raft.get_read_linearizer(ReadPolicy::ReadIndex).await {
        Ok(linearizer) => Ok(ReadIndexReply::Index(linearizer.read_log_id().index())),
        Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(forward))) => Ok(
            ReadIndexReply::NotLeader(forward.leader_node.map(|node| node.addr)),
        ),
        Err(other) => Err(other.to_string()),
    }
}

/// On a follower: asks the leader at `leader_addr` for its read index, then waits until
/// `applied` (this replica's applied index) reaches it.
pub async fn follow_leader(
    network: &PeerNetwork,
    leader_addr: &str,
    mut applied: watch::Receiver<u64>,
) -> Result<(), ProposeError> {
    let not_applied = || ProposeError::NoLeader {
        leader_addr: Some(leader_addr.to_owned()),
    };
    let mut client = network.client(leader_addr).map_err(|_| not_applied())?;
    let request = client.request(
        qraft_proto::pb::RaftPayload {
            data: codec::encode(&())
                .map_err(|e| ProposeError::Unknown(e.to_string()))?
                .into(),
        },
        Some(READ_INDEX_TIMEOUT),
    );
    let reply = client
        .inner
        .read_index(request)
        .await
        .map_err(|_| not_applied())?;
    let answer: Result<ReadIndexReply, String> = codec::decode(&reply.into_inner().data)
        .map_err(|e| ProposeError::Unknown(format!("leader's read index is unreadable: {e}")))?;
    let index = match answer {
        Ok(ReadIndexReply::Index(index)) => index,
        Ok(ReadIndexReply::NotLeader(leader_addr)) => return Err(ProposeError::NoLeader { leader_addr }),
        Err(_) => return Err(not_applied()),
    };
    let caught_up = tokio::time::timeout(READ_INDEX_TIMEOUT, applied.wait_for(|at| *at >= index)).await;
    match caught_up {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(_)) => Err(ProposeError::ShuttingDown),
        Err(_) => Err(ProposeError::NoLeader {
            leader_addr: Some(leader_addr.to_owned()),
        }),
    }
}
