//! `qraft.v1.Admin` calls on queues and dead letters. Each is safe to repeat (pausing twice is
//! pausing; a second purge finds nothing more), so all are retried freely.

use super::{Client, ClientError, into_inner, stubs};
use crate::pb;

/// Which dead letters a call acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeadLetters {
    Task(String),
    Queue(String),
    All,
}

impl DeadLetters {
    fn request(&self) -> pb::DeadRequest {
        match self {
            DeadLetters::Task(id) => pb::DeadRequest {
                id: id.clone(),
                ..Default::default()
            },
            DeadLetters::Queue(queue) => pb::DeadRequest {
                queue: queue.clone(),
                ..Default::default()
            },
            DeadLetters::All => pb::DeadRequest {
                all: true,
                ..Default::default()
            },
        }
    }
}

impl Client {
    pub async fn list_workers(&self) -> Result<pb::ListWorkersResponse, ClientError> {
        self.call_hedged(|channel| async move {
            into_inner(
                stubs::admin(channel)
                    .list_workers(pb::ListWorkersRequest {})
                    .await,
            )
        })
        .await
    }

    /// Queue statistics; `linearizable` reads them on the leader, reflecting every write
    /// acknowledged before the call.
    pub async fn list_queues(&self, linearizable: bool) -> Result<Vec<pb::QueueStats>, ClientError> {
        let request = pb::ListQueuesRequest { linearizable };
        let response = self
            .call_hedged(
                |channel| async move { into_inner(stubs::admin(channel).list_queues(request).await) },
            )
            .await?;
        Ok(response.queues)
    }

    pub async fn pause_queue(&self, queue: &str) -> Result<(), ClientError> {
        let request = pb::QueueRequest {
            queue: queue.to_owned(),
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::admin(channel).pause_queue(request).await) }
        })
        .await
        .map(|_| ())
    }

    pub async fn resume_queue(&self, queue: &str) -> Result<(), ClientError> {
        let request = pb::QueueRequest {
            queue: queue.to_owned(),
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::admin(channel).resume_queue(request).await) }
        })
        .await
        .map(|_| ())
    }

    /// Deletes the queue's waiting tasks; returns how many.
    pub async fn purge_queue(&self, queue: &str) -> Result<u64, ClientError> {
        let request = pb::QueueRequest {
            queue: queue.to_owned(),
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::admin(channel).purge_queue(request).await) }
        })
        .await
        .map(|r| r.count)
    }

    /// Dead letters of `queue` (empty: every queue), newest first; `truncated` when the rest
    /// did not fit in one reply.
    pub async fn list_dead(
        &self,
        queue: &str,
        limit: u32,
        linearizable: bool,
    ) -> Result<pb::ListTasksResponse, ClientError> {
        let request = pb::ListDeadRequest {
            queue: queue.to_owned(),
            limit,
            linearizable,
        };
        self.call_hedged(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::admin(channel).list_dead(request).await) }
        })
        .await
    }

    /// Puts dead letters back in their queues; returns how many.
    pub async fn retry_dead(&self, which: &DeadLetters) -> Result<u64, ClientError> {
        let request = which.request();
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::admin(channel).retry_dead(request).await) }
        })
        .await
        .map(|r| r.count)
    }

    /// Deletes dead letters; returns how many.
    pub async fn purge_dead(&self, which: &DeadLetters) -> Result<u64, ClientError> {
        let request = which.request();
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::admin(channel).purge_dead(request).await) }
        })
        .await
        .map(|r| r.count)
    }

    /// Streams the event timeline of the node at `addr`: the events it keeps after `after_seq`,
    /// then new ones as they are applied. One node, no failover; events carry replicated
    /// sequence numbers, so after losing the node, watch another from the last `seq` seen.
    pub async fn watch_events(
        &self,
        addr: &str,
        after_seq: u64,
    ) -> Result<tonic::Streaming<pb::Events>, ClientError> {
        let (_, channel) = self.channel_to(addr)?;
        let stream = self
            .attempt(stubs::admin(channel).watch_events(pb::WatchEventsRequest { after_seq }))
            .await
            .map_err(ClientError::from_status)?;
        Ok(stream.into_inner())
    }

    /// Adds node `id` at `addr` (a learner, then a voter once caught up). Safe to resend: a
    /// node added before goes on from where it is. Give the client a per-call timeout longer
    /// than `timeout_ms`: the call answers only when the node votes.
    pub async fn add_node(
        &self,
        id: u64,
        addr: &str,
        timeout_ms: u64,
    ) -> Result<pb::AddNodeResponse, ClientError> {
        let request = pb::AddNodeRequest {
            id,
            addr: addr.to_owned(),
            timeout_ms,
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::admin(channel).add_node(request).await) }
        })
        .await
    }

    /// Removes node `id` (the leader included: it hands over and the call follows the new
    /// leader). Safe to resend: a node removed already answers `removed: false`.
    pub async fn remove_node(&self, id: u64) -> Result<pb::RemoveNodeResponse, ClientError> {
        let request = pb::RemoveNodeRequest { id };
        self.call_idempotent(
            |channel| async move { into_inner(stubs::admin(channel).remove_node(request).await) },
        )
        .await
    }

    /// Hands leadership to voter `to` (`None`: the most up-to-date one) and returns the new
    /// leader. Sent to the leader, following not-leader answers.
    pub async fn transfer_leader(&self, to: Option<u64>) -> Result<pb::TransferLeaderResponse, ClientError> {
        let request = pb::TransferLeaderRequest {
            to: to.unwrap_or_default(),
        };
        self.call_write(
            |channel| async move { into_inner(stubs::admin(channel).transfer_leader(request).await) },
        )
        .await
    }
}
