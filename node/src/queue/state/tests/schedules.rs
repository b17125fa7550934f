//! Periodic schedules: each due time fires once, misfires follow the policy.

use super::*;
use crate::queue::schedule::{DUE_HEADER, Misfire, SCHEDULE_HEADER, ScheduleSpec, When};
use crate::queue::template::TaskTemplate;

pub(super) fn spec(name: &str, when: When, misfire: Misfire, grace_ms: u64) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        template: TaskTemplate {
            name: "report".into(),
            queue: "beat".into(),
            args: b"{}".to_vec(),
            headers: BTreeMap::new(),
            priority: 0,
            options: options(),
            expires_in_ms: None,
        },
        when,
        misfire,
        grace_ms,
    }
}

pub(super) fn every(ms: u64) -> When {
    When::Every {
        interval_ms: ms,
        anchor_ms: 0,
    }
}

fn add(state: &mut QueueState, spec: ScheduleSpec) -> Outcome {
    state.apply(Command::AddSchedule {
        spec: Box::new(spec),
        seed: 42,
    })
}

/// Due times of the runs submitted so far, oldest first.
fn runs(state: &QueueState) -> Vec<u64> {
    let mut dues: Vec<u64> = state
        .tasks()
        .filter(|t| t.headers.contains_key(SCHEDULE_HEADER))
        .map(|t| t.headers[DUE_HEADER].parse::<u64>().expect("due") - T0)
        .collect();
    dues.sort();
    dues
}

#[test]
fn every_due_time_fires_once() {
    let mut state = new_state();
    let added = add(&mut state, spec("s", every(1_000), Misfire::Skip, 10_000));
    assert!(
        matches!(added, Outcome::Schedule { replaced: false, .. }),
        "{added:?}"
    );
    assert_eq!(state.next_due_ms(), Some(T0 + 1_000));
    at(&mut state, 999);
    assert!(runs(&state).is_empty());
    at(&mut state, 1_000);
    at(&mut state, 1_000);
    at(&mut state, 1_500);
    assert_eq!(runs(&state), vec![1_000]);
    // A failover: nothing applied for 2.5 s, then one late entry makes up every due time.
    at(&mut state, 4_000);
    assert_eq!(runs(&state), vec![1_000, 2_000, 3_000, 4_000]);
    let schedule = state.schedule("s").expect("schedule");
    assert_eq!((schedule.runs, schedule.missed), (4, 0));
    assert_eq!(schedule.next_due_ms, Some(T0 + 5_000));
    let last = schedule.last_task.expect("last run");
    let task = state.task(&last).expect("run task");
    assert_eq!((task.name.as_str(), task.queue.as_str()), ("report", "beat"));
    assert_eq!(task.state, TaskState::Pending);
}

#[test]
fn two_replicas_give_each_run_the_same_task_id() {
    let mut a = new_state();
    let mut b = new_state();
    for state in [&mut a, &mut b] {
        add(state, spec("s", every(1_000), Misfire::Skip, 10_000));
        at(state, 3_000);
    }
    let ids = |s: &QueueState| s.tasks().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(&a).len(), 3);
    assert_eq!(ids(&a), ids(&b));
    assert!(a.same_as(&b));
}

#[test]
fn skip_drops_due_times_missed_while_the_cluster_was_down() {
    let mut state = new_state();
    add(&mut state, spec("s", every(1_000), Misfire::Skip, 1_500));
    at(&mut state, 1_000);
    // Down from 1 s to 60 s: only the due times within the grace period still run.
    at(&mut state, 60_000);
    assert_eq!(runs(&state), vec![1_000, 59_000, 60_000]);
    let schedule = state.schedule("s").expect("schedule");
    assert_eq!(schedule.missed, 57, "2 s ..= 58 s");
    assert_eq!(schedule.next_due_ms, Some(T0 + 61_000));
}

#[test]
fn catch_up_runs_the_latest_missed_due_times_up_to_its_limit() {
    let mut state = new_state();
    add(
        &mut state,
        spec("s", every(1_000), Misfire::CatchUp { limit: 3 }, 1_500),
    );
    at(&mut state, 60_000);
    assert_eq!(runs(&state), vec![56_000, 57_000, 58_000, 59_000, 60_000]);
    assert_eq!(state.schedule("s").expect("schedule").missed, 55);
}

#[test]
fn a_paused_schedule_fires_nothing_and_resumes_from_now() {
    let mut state = new_state();
    add(
        &mut state,
        spec("s", every(1_000), Misfire::CatchUp { limit: 10 }, 10_000),
    );
    state.apply(Command::PauseSchedule { name: "s".into() });
    assert_eq!(state.next_due_ms(), None);
    at(&mut state, 5_500);
    assert!(runs(&state).is_empty());
    state.apply(Command::ResumeSchedule { name: "s".into() });
    at(&mut state, 6_000);
    assert_eq!(runs(&state), vec![6_000], "paused time is not made up for");
    let missing = state.apply(Command::PauseSchedule { name: "nope".into() });
    assert_eq!(missing, Outcome::Rejected(Rejection::NoSchedule("nope".into())));
}

#[test]
fn replacing_keeps_the_history_and_removing_stops_it() {
    let mut state = new_state();
    add(&mut state, spec("s", every(1_000), Misfire::Skip, 10_000));
    at(&mut state, 2_000);
    let replaced = add(&mut state, spec("s", every(500), Misfire::Skip, 10_000));
    assert!(matches!(replaced, Outcome::Schedule { replaced: true, .. }));
    at(&mut state, 2_500);
    let schedule = state.schedule("s").expect("schedule");
    assert_eq!(schedule.runs, 3);
    assert_eq!(runs(&state), vec![1_000, 2_000, 2_500]);
    assert_eq!(
        state.apply(Command::RemoveSchedule { name: "s".into() }),
        Outcome::Count(1)
    );
    at(&mut state, 10_000);
    assert_eq!(runs(&state).len(), 3);
    assert_eq!(state.take_changes().schedules(), vec!["s".to_string()]);
}

#[test]
fn the_same_interval_added_again_keeps_its_due_times() {
    let mut state = new_state();
    add(&mut state, spec("s", every(1_000), Misfire::Skip, 10_000));
    at(&mut state, 1_700);
    // A resend of the same add (its first answer was lost) lands 0.7 s after the first run.
    let again = add(&mut state, spec("s", every(1_000), Misfire::Skip, 10_000));
    assert!(matches!(again, Outcome::Schedule { replaced: true, .. }));
    assert_eq!(state.next_due_ms(), Some(T0 + 2_000), "not 2.7 s");
    at(&mut state, 3_000);
    assert_eq!(runs(&state), vec![1_000, 2_000, 3_000]);
}

fn every_5s_cron() -> When {
    When::Cron {
        expr: "*/5 * * * * *".into(),
        time_zone: "UTC".into(),
    }
}

/// What the leader's ticker does: plans every cron schedule due (or unplanned) at cluster time.
fn plan_crons(state: &mut QueueState) {
    let now = state.now_ms();
    let plans: Vec<Command> = state
        .schedules()
        .filter_map(|s| {
            let (from, firing) = s.plan(now)?;
            Some(Command::FireSchedule {
                name: s.spec.name.clone(),
                from,
                firing,
            })
        })
        .collect();
    for plan in plans {
        state.apply(plan);
    }
}

#[test]
fn cron_fires_on_its_seconds_as_the_leader_plans_them() {
    let mut state = new_state();
    add(&mut state, spec("c", every_5s_cron(), Misfire::Skip, 10_000));
    plan_crons(&mut state);
    // T0 is on a multiple of 5 s.
    assert_eq!(state.schedule("c").and_then(|s| s.next_due_ms), Some(T0 + 5_000));
    at(&mut state, 12_000);
    assert!(runs(&state).is_empty(), "apply never computes a cron due time");
    plan_crons(&mut state);
    assert_eq!(runs(&state), vec![5_000, 10_000]);
    assert_eq!(state.schedule("c").and_then(|s| s.next_due_ms), Some(T0 + 15_000));
}

#[test]
fn a_cron_plan_resent_or_stale_fires_nothing_twice() {
    let mut state = new_state();
    add(&mut state, spec("c", every_5s_cron(), Misfire::Skip, 10_000));
    plan_crons(&mut state);
    at(&mut state, 6_000);
    let schedule = state.schedule("c").expect("added").clone();
    let (from, firing) = schedule.plan(state.now_ms()).expect("due");
    let plan = Command::FireSchedule {
        name: "c".into(),
        from,
        firing,
    };
    state.apply(plan.clone());
    state.apply(plan);
    assert_eq!(runs(&state), vec![5_000]);
    tracing::info!("--- paused meanwhile: a plan made before the pause is dropped");
    state.apply(Command::PauseSchedule { name: "c".into() });
    at(&mut state, 11_000);
    let (from, firing) = schedule.plan(state.now_ms()).expect("as the old leader saw it");
    state.apply(Command::FireSchedule {
        name: "c".into(),
        from,
        firing,
    });
    assert_eq!(runs(&state), vec![5_000]);
}

#[test]
fn an_invalid_schedule_is_rejected_as_a_value() {
    let mut state = new_state();
    let bad_cron = When::Cron {
        expr: "every tuesday".into(),
        time_zone: String::new(),
    };
    // Cron rules are library data: the proposing node checks them, apply does not.
    let error = crate::queue::schedule::must_be_valid(&spec("s", bad_cron, Misfire::Skip, 0), T0)
        .expect_err("not cron");
    assert!(error.contains("cron"), "{error}");
    for spec in [
        spec("s", every(10), Misfire::Skip, 0),
        spec("s", every(1_000), Misfire::CatchUp { limit: 0 }, 0),
        spec("bad name", every(1_000), Misfire::Skip, 0),
    ] {
        assert!(matches!(
            add(&mut state, spec),
            Outcome::Rejected(Rejection::Invalid(_))
        ));
    }
    assert_eq!(state.schedules().count(), 0);
}
