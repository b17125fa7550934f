//! `qraft.v1.Worker` calls. Lease, ack, fail, release and extend are writes: an attempt of
//! unknown outcome is returned as [`ClientError::Unknown`], never resent blindly (a resent lease
//! would hand out more tasks). Register, heartbeat and leave are safe to repeat, and so is a batch
//! of answers (each is fenced by its delivery number).

use super::{Client, ClientError, into_inner, stubs};
use crate::pb;

impl Client {
    /// Registering twice is re-registering, so it is retried freely; so are heartbeats and leaves.
    pub async fn register_worker(&self, request: pb::RegisterRequest) -> Result<(), ClientError> {
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::worker(channel).register(request).await) }
        })
        .await
        .map(|_| ())
    }

    pub async fn heartbeat(&self, worker_id: &str, active: u32) -> Result<(), ClientError> {
        let request = pb::HeartbeatRequest {
            worker_id: worker_id.to_owned(),
            active,
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::worker(channel).heartbeat(request).await) }
        })
        .await
        .map(|_| ())
    }

    pub async fn leave(&self, worker_id: &str) -> Result<(), ClientError> {
        let request = pb::LeaveRequest {
            worker_id: worker_id.to_owned(),
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::worker(channel).leave(request).await) }
        })
        .await
        .map(|_| ())
    }

    /// Leases up to `request.max` tasks. A long poll (`wait_ms`) gets that much more time, per
    /// attempt and in all, so the client does not cut short the wait it asked for.
    pub async fn lease(&self, request: pb::LeaseRequest) -> Result<Vec<pb::LeasedTask>, ClientError> {
        let wait = std::time::Duration::from_millis(request.wait_ms);
        let mut retry = self.retry;
        retry.deadline += wait;
        let client = self.clone().with_timeout(self.timeout + wait).with_retry(retry);
        let response = client
            .call_write(|channel| {
                let request = request.clone();
                async move { into_inner(stubs::worker(channel).lease(request).await) }
            })
            .await?;
        Ok(response.tasks)
    }

    pub async fn ack(
        &self,
        id: &str,
        delivery: u32,
        result: Vec<u8>,
    ) -> Result<pb::AnswerResponse, ClientError> {
        let request = pb::AckRequest {
            id: id.to_owned(),
            delivery,
            result,
        };
        stubs::must_fit(&request, "the result")?;
        self.call_write(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::worker(channel).ack(request).await) }
        })
        .await
    }

    pub async fn fail(
        &self,
        id: &str,
        delivery: u32,
        error: &str,
        no_retry: bool,
    ) -> Result<pb::AnswerResponse, ClientError> {
        let request = pb::FailRequest {
            id: id.to_owned(),
            delivery,
            error: error.to_owned(),
            no_retry,
            retry_in_ms: None,
        };
        self.call_write(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::worker(channel).fail(request).await) }
        })
        .await
    }

    pub async fn extend(
        &self,
        id: &str,
        delivery: u32,
        lease_ms: u64,
    ) -> Result<pb::ExtendResponse, ClientError> {
        let request = pb::ExtendRequest {
            id: id.to_owned(),
            delivery,
            lease_ms,
        };
        self.call_write(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::worker(channel).extend(request).await) }
        })
        .await
    }

    /// Hands a leased task back unrun: it is ready again at once.
    pub async fn release(&self, id: &str, delivery: u32) -> Result<pb::AnswerResponse, ClientError> {
        let request = pb::ReleaseRequest {
            id: id.to_owned(),
            delivery,
        };
        self.call_write(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::worker(channel).release(request).await) }
        })
        .await
    }

    /// Many acks, fails and releases in one call and one log entry; each is answered on its own,
    /// in order. Resent across failovers like a read: every answer is fenced by its delivery
    /// number, so a resend of an answer that was applied is refused as `STALE_LEASE`, which
    /// means it was taken.
    pub async fn answer_batch(&self, answers: Vec<pb::Answer>) -> Result<Vec<pb::AnswerResult>, ClientError> {
        let request = pb::AnswerBatchRequest { answers };
        stubs::must_fit(&request, "the answers")?;
        let response = self
            .call_idempotent(|channel| {
                let request = request.clone();
                async move { into_inner(stubs::worker(channel).answer_batch(request).await) }
            })
            .await?;
        Ok(response.results)
    }
}
