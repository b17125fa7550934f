//! A schedule in JSON: what `PUT /v1/schedules/{name}` takes and what the schedule routes answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{TaskJson, duration_ms, payload, time};
use crate::ops::OpError;
use crate::ops::schedules::{MisfirePolicy, ScheduleInput, next_run_ms};
use crate::queue::schedule::{Misfire, Schedule, When};

/// Exactly one of `cron` and `every` (or `every_ms`).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleJson {
    /// The task each run submits, as `POST /v1/tasks` takes it, without countdown, eta or key.
    pub task: TaskJson,
    /// Cron with seconds: `sec min hour day-of-month month day-of-week [year]`, e.g.
    /// `0 30 9 * * Mon-Fri`.
    pub cron: Option<String>,
    /// IANA time zone of `cron`, e.g. `Europe/Paris` (default UTC).
    pub time_zone: Option<String>,
    /// A fixed interval instead of cron, e.g. `30s` or `5m` (at least 100 ms).
    pub every: Option<String>,
    /// The same in milliseconds.
    pub every_ms: Option<u64>,
    /// What due times missed by more than `grace_ms` do (default `skip`).
    pub misfire: Option<MisfireJson>,
    /// With `catch_up`: the most missed runs made up for at once (default 10).
    pub catch_up_limit: Option<u32>,
    /// Lateness after which a due time is missed (default 10 s; 0: any lateness).
    pub grace_ms: Option<u64>,
}

/// `skip`: missed due times are counted, not run; `catch_up`: the latest of them run at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MisfireJson {
    Skip,
    CatchUp,
}

impl ScheduleJson {
    pub fn into_input(self, name: String) -> Result<ScheduleInput, OpError> {
        let every_ms = match (self.every, self.every_ms) {
            (Some(_), Some(_)) => return Err(OpError::Invalid("give every or every_ms, not both".into())),
            (Some(text), None) => Some(duration_ms("every", &text)?),
            (None, ms) => ms,
        };
        let task = self
            .task
            .into_input(None)
            .map_err(|e| OpError::Invalid(format!("the scheduled task: {e}")))?;
        Ok(ScheduleInput {
            name,
            task,
            cron: self.cron,
            time_zone: self.time_zone,
            every_ms,
            misfire: self.misfire.map(|misfire| match misfire {
                MisfireJson::Skip => MisfirePolicy::Skip,
                MisfireJson::CatchUp => MisfirePolicy::CatchUp,
            }),
            catch_up_limit: self.catch_up_limit,
            grace_ms: self.grace_ms,
        })
    }
}

/// The task a schedule's runs submit.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduledTaskView {
    pub name: String,
    pub queue: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_base64: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub priority: u8,
    pub max_retries: u32,
    pub timeout_ms: Option<u64>,
    pub expires_in_ms: Option<u64>,
}

/// A schedule and its run history.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleView {
    pub name: String,
    pub task: ScheduledTaskView,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    pub every_ms: Option<u64>,
    pub misfire: MisfireJson,
    pub catch_up_limit: Option<u32>,
    pub grace_ms: u64,
    pub paused: bool,
    /// None while paused, or when a cron has no future match.
    pub next_run: Option<String>,
    pub last_run: Option<String>,
    pub last_task_id: Option<String>,
    /// Runs submitted, and due times skipped by the misfire policy.
    pub runs: u64,
    pub missed: u64,
    pub created_at: String,
}

/// `GET /v1/schedules`.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleListView {
    pub schedules: Vec<ScheduleView>,
    /// The cluster time the schedules are read at.
    pub now: String,
}

/// `PUT /v1/schedules/{name}`'s answer.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleAddedView {
    pub schedule: ScheduleView,
    /// A schedule with this name existed and was replaced (its run history kept).
    pub replaced: bool,
}

impl From<&Schedule> for ScheduleView {
    fn from(schedule: &Schedule) -> Self {
        let spec = &schedule.spec;
        let template = &spec.template;
        let (cron, time_zone, every_ms) = match &spec.when {
            When::Cron { expr, time_zone } => (Some(expr.clone()), Some(time_zone.clone()), None),
            When::Every { interval_ms, .. } => (None, None, Some(*interval_ms)),
        };
        let (misfire, catch_up_limit) = match spec.misfire {
            Misfire::Skip => (MisfireJson::Skip, None),
            Misfire::CatchUp { limit } => (MisfireJson::CatchUp, Some(limit)),
        };
        let (args, args_base64) = payload(&template.args);
        ScheduleView {
            name: spec.name.clone(),
            task: ScheduledTaskView {
                name: template.name.clone(),
                queue: template.queue.clone(),
                args,
                args_base64,
                headers: template.headers.clone(),
                priority: template.priority,
                max_retries: template.options.retry.max_retries,
                timeout_ms: template.options.timeout_ms,
                expires_in_ms: template.expires_in_ms,
            },
            cron,
            time_zone,
            every_ms,
            misfire,
            catch_up_limit,
            grace_ms: spec.grace_ms,
            paused: schedule.paused,
            next_run: next_run_ms(schedule).map(time),
            last_run: schedule.last_run_ms.map(time),
            last_task_id: schedule.last_task.map(|id| id.to_string()),
            runs: schedule.runs,
            missed: schedule.missed,
            created_at: time(schedule.created_at_ms),
        }
    }
}
