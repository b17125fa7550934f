//! Schedules between protobuf and queue types.

use qraft_proto::pb;
use tonic::Status;

use crate::api::{convert, status};
use crate::ops::schedules::{MisfirePolicy, ScheduleInput, next_run_ms};
use crate::queue::schedule::{Misfire, Schedule, When};

/// A schedule as proto3 sends it: an empty or zero field is "not given".
pub fn input_from_pb(spec: pb::ScheduleSpec) -> Result<ScheduleInput, Status> {
    let task = spec
        .task
        .ok_or_else(|| status::invalid("a schedule needs a task (name, queue, args, ...)"))?;
    let text = |s: String| (!s.is_empty()).then_some(s);
    let misfire = match pb::Misfire::try_from(spec.misfire) {
        Ok(pb::Misfire::Unspecified) => None,
        Ok(pb::Misfire::Skip) => Some(MisfirePolicy::Skip),
        Ok(pb::Misfire::CatchUp) => Some(MisfirePolicy::CatchUp),
        Err(_) => {
            return Err(status::invalid(format!(
                "unknown misfire policy {}",
                spec.misfire
            )));
        }
    };
    Ok(ScheduleInput {
        name: spec.name,
        task: convert::task_input_from_pb(task),
        cron: text(spec.cron),
        time_zone: text(spec.time_zone),
        every_ms: (spec.every_ms > 0).then_some(spec.every_ms),
        misfire,
        catch_up_limit: (spec.catch_up_limit > 0).then_some(spec.catch_up_limit),
        grace_ms: spec.grace_ms,
    })
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
        next_run_ms: next_run_ms(schedule).unwrap_or_default(),
        last_run_ms: schedule.last_run_ms.unwrap_or_default(),
        last_task_id: schedule.last_task.map(|id| id.to_string()).unwrap_or_default(),
        runs: schedule.runs,
        missed: schedule.missed,
        created_at_ms: schedule.created_at_ms,
    }
}
