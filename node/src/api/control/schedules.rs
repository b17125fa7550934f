//! Schedules between protobuf and queue types.

use qraft_proto::pb;
use tonic::Status;

use crate::api::{TaskDefaults, convert, status};
use crate::queue::schedule::{
    self, DEFAULT_CATCH_UP, DEFAULT_GRACE_MS, Misfire, Schedule, ScheduleSpec, When,
};

/// A schedule as the client sent it, with the task defaults filled in, checked.
pub fn spec_from_pb(spec: pb::ScheduleSpec, defaults: &TaskDefaults) -> Result<ScheduleSpec, Status> {
    let task = spec
        .task
        .ok_or_else(|| status::invalid("a schedule needs a task (name, queue, args, ...)"))?;
    let template = convert::template_from_pb(task, defaults, "a scheduled task")?;
    let when = match (spec.cron.is_empty(), spec.every_ms) {
        (false, 0) => When::Cron {
            expr: spec.cron,
            time_zone: if spec.time_zone.is_empty() {
                "UTC".to_string()
            } else {
                spec.time_zone
            },
        },
        (true, every) if every > 0 => {
            if !spec.time_zone.is_empty() {
                return Err(status::invalid("a time zone applies to cron schedules only"));
            }
            When::Every {
                interval_ms: every,
                anchor_ms: 0,
            }
        }
        _ => return Err(status::invalid("give a schedule exactly one of: cron, every")),
    };
    let misfire = match pb::Misfire::try_from(spec.misfire) {
        Ok(pb::Misfire::Unspecified | pb::Misfire::Skip) => {
            if spec.catch_up_limit != 0 {
                return Err(status::invalid(
                    "a catch-up limit needs the catch_up misfire policy",
                ));
            }
            Misfire::Skip
        }
        Ok(pb::Misfire::CatchUp) => Misfire::CatchUp {
            limit: if spec.catch_up_limit == 0 {
                DEFAULT_CATCH_UP
            } else {
                spec.catch_up_limit
            },
        },
        Err(_) => {
            return Err(status::invalid(format!(
                "unknown misfire policy {}",
                spec.misfire
            )));
        }
    };
    let spec = ScheduleSpec {
        name: spec.name,
        template,
        when,
        misfire,
        grace_ms: spec.grace_ms.unwrap_or(DEFAULT_GRACE_MS),
    };
    // The anchor of an interval is set in apply; any time works for the check.
    schedule::must_be_valid(&spec, crate::clock::wall_ms()).map_err(status::invalid)?;
    Ok(spec)
}

pub fn schedule_to_pb(schedule: &Schedule) -> pb::Schedule {
    let spec = &schedule.spec;
    let template = &spec.template;
    let options = &template.options;
    let (cron, time_zone, every_ms) = match &spec.when {
        When::Cron { expr, time_zone } => (expr.clone(), time_zone.clone(), 0),
        When::Every { interval_ms, .. } => (String::new(), String::new(), *interval_ms),
    };
    let (misfire, catch_up_limit) = match spec.misfire {
        Misfire::Skip => (pb::Misfire::Skip, 0),
        Misfire::CatchUp { limit } => (pb::Misfire::CatchUp, limit),
    };
    let task = pb::TaskSpec {
        name: template.name.clone(),
        queue: template.queue.clone(),
        args: template.args.clone(),
        headers: template
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        priority: u32::from(template.priority),
        expires_in_ms: template.expires_in_ms.unwrap_or_default(),
        max_retries: options.retry.max_retries,
        retry_delay_ms: Some(options.retry.initial_delay_ms),
        retry_factor: options.retry.factor,
        retry_max_delay_ms: Some(options.retry.max_delay_ms),
        retry_no_jitter: !options.retry.jitter,
        timeout_ms: options.timeout_ms.unwrap_or_default(),
        result_ttl_ms: Some(options.result_ttl_ms),
        delivery_limit: options.delivery_limit,
        concurrency_key: options
            .concurrency
            .as_ref()
            .map(|c| c.key.clone())
            .unwrap_or_default(),
        concurrency_limit: options.concurrency.as_ref().map_or(0, |c| c.max),
        ..Default::default()
    };
    pb::Schedule {
        spec: Some(pb::ScheduleSpec {
            name: spec.name.clone(),
            task: Some(task),
            cron,
            every_ms,
            time_zone,
            misfire: misfire.into(),
            catch_up_limit,
            grace_ms: Some(spec.grace_ms),
        }),
        paused: schedule.paused,
        // A cron schedule just added or resumed waits a tick for the leader's plan: shown as
        // what that plan will say.
        next_run_ms: schedule
            .next_due_ms
            .or_else(|| {
                schedule
                    .unplanned_after_ms
                    .and_then(|after| spec.when.next_after(after))
            })
            .unwrap_or_default(),
        last_run_ms: schedule.last_run_ms.unwrap_or_default(),
        last_task_id: schedule.last_task.map(|id| id.to_string()).unwrap_or_default(),
        runs: schedule.runs,
        missed: schedule.missed,
        created_at_ms: schedule.created_at_ms,
    }
}
