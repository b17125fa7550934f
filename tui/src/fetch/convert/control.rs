//! `qraft.v1.Control` answers (schedules, limits) as console types.

use qraft_proto::pb;

use crate::model::{
    KeyUsageView, LimitsView, Misfire, QueueCapView, RateLimitView, ScheduleView, StoreUsageView, Trigger,
};

/// The schedules and the cluster time they reflect.
pub fn schedules(response: pb::ListSchedulesResponse) -> (Vec<ScheduleView>, u64) {
    (
        response.schedules.into_iter().map(schedule).collect(),
        response.now_ms,
    )
}

fn schedule(schedule: pb::Schedule) -> ScheduleView {
    let spec = schedule.spec.unwrap_or_default();
    let misfire = match spec.misfire() {
        pb::Misfire::CatchUp => Misfire::CatchUp {
            limit: spec.catch_up_limit,
        },
        // Unspecified means skip, as the protocol says.
        pb::Misfire::Skip | pb::Misfire::Unspecified => Misfire::Skip,
    };
    // The protocol allows exactly one of the two; a cron wins if a node ever sent both.
    let trigger = if spec.cron.is_empty() {
        Trigger::Every(spec.every_ms)
    } else {
        Trigger::Cron {
            expr: spec.cron,
            zone: spec.time_zone,
        }
    };
    let task = spec.task.unwrap_or_default();
    ScheduleView {
        name: spec.name,
        trigger,
        task: task.name,
        queue: task.queue,
        paused: schedule.paused,
        next_run_ms: schedule.next_run_ms,
        last_run_ms: schedule.last_run_ms,
        last_task_id: schedule.last_task_id,
        runs: schedule.runs,
        missed: schedule.missed,
        misfire,
        created_at_ms: schedule.created_at_ms,
    }
}

/// Rate limits, concurrency keys in use, queue caps and the cluster's stored totals, and the
/// cluster time they reflect.
pub fn limits(response: pb::ListLimitsResponse) -> (LimitsView, u64) {
    let rate_limits = response
        .limits
        .into_iter()
        .map(|limit| RateLimitView {
            scope: limit.scope,
            count: limit.count,
            per_ms: limit.per_ms,
            used: limit.used,
            frees_at_ms: limit.frees_at_ms,
        })
        .collect();
    let concurrency_keys = response
        .keys
        .into_iter()
        .map(|usage| KeyUsageView {
            key: usage.key,
            running: usage.running,
        })
        .collect();
    // The protocol says 0 for "no cap".
    let cap = |max: u64| (max != 0).then_some(max);
    let queue_caps = response
        .caps
        .into_iter()
        .map(|queue_cap| QueueCapView {
            queue: queue_cap.queue,
            max_length: cap(queue_cap.max_length),
            max_bytes: cap(queue_cap.max_bytes),
            length: queue_cap.length,
            bytes: queue_cap.bytes,
        })
        .collect();
    let store = response.store.map(|store| StoreUsageView {
        tasks: store.tasks,
        max_tasks: store.max_tasks,
        bytes: store.bytes,
        max_bytes: store.max_bytes,
    });
    let limits = LimitsView {
        rate_limits,
        concurrency_keys,
        queue_caps,
        store,
    };
    (limits, response.now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(spec: pb::ScheduleSpec) -> ScheduleView {
        let response = pb::ListSchedulesResponse {
            schedules: vec![pb::Schedule {
                spec: Some(spec),
                paused: true,
                runs: 12,
                ..Default::default()
            }],
            now_ms: 99,
        };
        let (mut schedules, now_ms) = schedules(response);
        assert_eq!(now_ms, 99);
        assert_eq!(schedules.len(), 1);
        schedules.remove(0)
    }

    #[test]
    fn a_schedule_is_cron_or_every_and_unspecified_misfire_is_skip() {
        let every = listed(pb::ScheduleSpec {
            name: "tick".into(),
            every_ms: 30_000,
            task: Some(pb::TaskSpec {
                name: "ping".into(),
                queue: "default".into(),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(every.trigger, Trigger::Every(30_000));
        assert_eq!(every.misfire, Misfire::Skip);
        assert_eq!((every.task.as_str(), every.queue.as_str()), ("ping", "default"));
        assert!(every.paused);
        assert_eq!(every.runs, 12);

        let cron = listed(pb::ScheduleSpec {
            name: "nightly".into(),
            cron: "0 0 3 * * *".into(),
            time_zone: "Europe/Paris".into(),
            misfire: pb::Misfire::CatchUp.into(),
            catch_up_limit: 4,
            ..Default::default()
        });
        assert_eq!(
            cron.trigger,
            Trigger::Cron {
                expr: "0 0 3 * * *".into(),
                zone: "Europe/Paris".into()
            }
        );
        assert_eq!(cron.misfire, Misfire::CatchUp { limit: 4 });
        assert_eq!(cron.task, "", "a schedule without a task spec still lists");
    }

    #[test]
    fn limits_keys_caps_and_store() {
        let (limits, now_ms) = limits(pb::ListLimitsResponse {
            limits: vec![pb::RateLimit {
                scope: "task:mail.send".into(),
                count: 100,
                per_ms: 1_000,
                used: 100,
                frees_at_ms: 7,
            }],
            keys: vec![pb::KeyUsage {
                key: "customer-42".into(),
                running: 3,
            }],
            now_ms: 5,
            caps: vec![
                pb::QueueCap {
                    queue: "emails".into(),
                    max_length: 1_000,
                    max_bytes: 0,
                    length: 950,
                    bytes: 4_096,
                },
                pb::QueueCap {
                    queue: "reports".into(),
                    max_length: 0,
                    max_bytes: 1 << 30,
                    length: 2,
                    bytes: 512,
                },
            ],
            store: Some(pb::StoreUsage {
                tasks: 1_234,
                max_tasks: 1_000_000,
                bytes: 9_000,
                max_bytes: 1 << 31,
            }),
        });
        assert_eq!(now_ms, 5);
        assert_eq!(
            limits,
            LimitsView {
                rate_limits: vec![RateLimitView {
                    scope: "task:mail.send".into(),
                    count: 100,
                    per_ms: 1_000,
                    used: 100,
                    frees_at_ms: 7,
                }],
                concurrency_keys: vec![KeyUsageView {
                    key: "customer-42".into(),
                    running: 3
                }],
                queue_caps: vec![
                    QueueCapView {
                        queue: "emails".into(),
                        max_length: Some(1_000),
                        max_bytes: None,
                        length: 950,
                        bytes: 4_096,
                    },
                    QueueCapView {
                        queue: "reports".into(),
                        max_length: None,
                        max_bytes: Some(1 << 30),
                        length: 2,
                        bytes: 512,
                    },
                ],
                store: Some(StoreUsageView {
                    tasks: 1_234,
                    max_tasks: 1_000_000,
                    bytes: 9_000,
                    max_bytes: 1 << 31,
                }),
            }
        );
    }

    #[test]
    fn a_node_that_reports_no_store_usage_leaves_it_unknown() {
        let (limits, _) = limits(pb::ListLimitsResponse::default());
        assert_eq!(limits, LimitsView::default());
        assert_eq!(limits.store, None);
    }
}
