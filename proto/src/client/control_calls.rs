//! `qraft.v1.Control` calls: rate limits and schedules. Each is safe to repeat (setting a limit
//! twice is setting it; adding a schedule again replaces it with itself and keeps its history),
//! so all are retried freely.

use super::{Client, ClientError, into_inner, stubs};
use crate::pb;

impl Client {
    /// Sets or changes the rate limit of `scope` (`task:NAME` or `queue:NAME`).
    pub async fn set_limit(&self, scope: &str, count: u32, per_ms: u64) -> Result<(), ClientError> {
        let request = pb::SetLimitRequest {
            scope: scope.to_owned(),
            count,
            per_ms,
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::control(channel).set_limit(request).await) }
        })
        .await
        .map(|_| ())
    }

    /// Sets one cap (`max-length` or `max-bytes`) of the queue `scope` names (`queue:NAME`);
    /// 0 removes it.
    pub async fn set_queue_cap(&self, scope: &str, cap: &str, value: u64) -> Result<(), ClientError> {
        let request = pb::SetQueueCapRequest {
            scope: scope.to_owned(),
            cap: cap.to_owned(),
            value,
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::control(channel).set_queue_cap(request).await) }
        })
        .await
        .map(|_| ())
    }

    /// Removes a rate limit, and a queue's caps; false if there was none.
    pub async fn remove_limit(&self, scope: &str) -> Result<bool, ClientError> {
        let request = pb::RemoveLimitRequest {
            scope: scope.to_owned(),
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::control(channel).remove_limit(request).await) }
        })
        .await
        .map(|r| r.removed)
    }

    pub async fn list_limits(&self, linearizable: bool) -> Result<pb::ListLimitsResponse, ClientError> {
        let request = pb::ListLimitsRequest { linearizable };
        self.call_hedged(
            |channel| async move { into_inner(stubs::control(channel).list_limits(request).await) },
        )
        .await
    }

    /// Adds a schedule, or replaces the one with the same name.
    pub async fn add_schedule(&self, spec: pb::ScheduleSpec) -> Result<pb::AddScheduleResponse, ClientError> {
        let request = pb::AddScheduleRequest { spec: Some(spec) };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::control(channel).add_schedule(request).await) }
        })
        .await
    }

    /// Removes a schedule; false if there was none.
    pub async fn remove_schedule(&self, name: &str) -> Result<bool, ClientError> {
        let request = pb::ScheduleRequest {
            name: name.to_owned(),
        };
        self.call_idempotent(|channel| {
            let request = request.clone();
            async move { into_inner(stubs::control(channel).remove_schedule(request).await) }
        })
        .await
        .map(|r| r.removed)
    }

    /// Pauses (`true`) or resumes a schedule and returns it.
    pub async fn pause_schedule(&self, name: &str, paused: bool) -> Result<pb::Schedule, ClientError> {
        let request = pb::ScheduleRequest {
            name: name.to_owned(),
        };
        let response = self
            .call_idempotent(|channel| {
                let request = request.clone();
                async move {
                    let mut control = stubs::control(channel);
                    if paused {
                        into_inner(control.pause_schedule(request).await)
                    } else {
                        into_inner(control.resume_schedule(request).await)
                    }
                }
            })
            .await?;
        response
            .schedule
            .ok_or_else(|| ClientError::Protocol("the node answered without the schedule".into()))
    }

    pub async fn list_schedules(&self, linearizable: bool) -> Result<pb::ListSchedulesResponse, ClientError> {
        let request = pb::ListSchedulesRequest { linearizable };
        self.call_hedged(|channel| async move {
            into_inner(stubs::control(channel).list_schedules(request).await)
        })
        .await
    }
}
