//! `qraft.v1.Tasks` calls beyond submit and get.

use super::{Client, ClientError, into_inner, stubs};
use crate::pb;

impl Client {
    /// Stores many tasks with one log entry. Retried on an unknown outcome only if every task
    /// carries an idempotency key.
    pub async fn submit_batch(
        &self,
        tasks: Vec<pb::TaskSpec>,
    ) -> Result<Vec<pb::SubmitResponse>, ClientError> {
        let keyed = tasks.iter().all(|t| !t.idempotency_key.is_empty());
        let request = pb::SubmitBatchRequest { tasks };
        stubs::must_fit(&request, "the batch")?;
        let call = |channel| {
            let request = request.clone();
            async move { into_inner(stubs::tasks(channel).submit_batch(request).await) }
        };
        let response = if keyed {
            self.call_hedged(call).await?
        } else {
            self.call_write(call).await?
        };
        Ok(response.results)
    }

    /// Waits until the task finishes or `timeout_ms` passes (0: the server's default, 30 s).
    /// The per-attempt timeout is stretched to cover the wait.
    pub async fn wait(&self, id: &str, timeout_ms: u64) -> Result<pb::WaitResponse, ClientError> {
        let request = pb::WaitRequest {
            id: id.to_owned(),
            timeout_ms: (timeout_ms > 0).then_some(timeout_ms),
        };
        let wait = std::time::Duration::from_millis(if timeout_ms == 0 { 30_000 } else { timeout_ms });
        let client = self
            .clone()
            .with_timeout(wait + std::time::Duration::from_secs(5));
        client
            .call_idempotent(|channel| {
                let request = request.clone();
                async move { into_inner(stubs::tasks(channel).wait(request).await) }
            })
            .await
    }

    /// Revokes a task; repeating a revoke changes nothing, so it is retried freely.
    pub async fn revoke(&self, id: &str) -> Result<pb::RevokeResponse, ClientError> {
        let request = pb::RevokeRequest { id: id.to_owned() };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::tasks(channel).revoke(request).await) }
        })
        .await
    }

    /// Tasks matching `request`, newest first; `truncated` when the rest did not fit in one
    /// reply.
    pub async fn list_tasks(
        &self,
        request: pb::ListTasksRequest,
    ) -> Result<pb::ListTasksResponse, ClientError> {
        self.call_hedged(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::tasks(channel).list_tasks(request).await) }
        })
        .await
    }

    /// Streams tasks as they finish, from the node at `addr` (see `Tasks.WatchFinished`), from
    /// the moment this returns. One node, no failover: a watcher that loses its node resumes on
    /// another with [`Client::watch_finished_after`] and the last `seq` it saw.
    pub async fn watch_finished(
        &self,
        addr: &str,
        queue: &str,
    ) -> Result<tonic::Streaming<pb::FinishedTasks>, ClientError> {
        self.watch_finished_after(addr, queue, None).await
    }

    /// Like [`Client::watch_finished`], from just after finish number `after_seq` (every later
    /// finish, once, in order), or from now when `None`.
    pub async fn watch_finished_after(
        &self,
        addr: &str,
        queue: &str,
        after_seq: Option<u64>,
    ) -> Result<tonic::Streaming<pb::FinishedTasks>, ClientError> {
        let (_, channel) = self.channel_to(addr)?;
        let request = pb::WatchFinishedRequest {
            queue: queue.to_owned(),
            after_seq,
            with_results: false,
        };
        let stream = self
            .attempt(stubs::tasks(channel).watch_finished(request))
            .await
            .map_err(ClientError::from_status)?;
        Ok(stream.into_inner())
    }
}
