//! Who serves a queue (consumers and task names nobody declares), and answers that choose their
//! own retry delay.

use super::*;
use crate::queue::worker::{WorkerKind, WorkerRegistration};

fn register(id: &str, queues: &[&str], names: &[&str]) -> Command {
    Command::RegisterWorker(WorkerRegistration {
        id: id.into(),
        node: "host".into(),
        kind: WorkerKind::Remote,
        queues: queues.iter().map(|q| q.to_string()).collect(),
        names: names.iter().map(|n| n.to_string()).collect(),
        concurrency: 4,
    })
}

fn unhandled(state: &QueueState, queue: &str) -> Vec<(String, u64)> {
    state.coverage(queue).unhandled
}

#[test]
fn waiting_tasks_nobody_declares_are_reported_until_a_worker_declares_them() {
    let mut state = new_state();
    for _ in 0..3 {
        state.apply(submit("mail.send", "mail", 0));
    }
    state.apply(submit("mail.sendd", "mail", 0));
    state.apply(submit_with("mail.send", "mail", 0, |s| {
        s.eta_ms = Some(T0 + 60_000)
    }));
    let coverage = state.coverage("mail");
    assert_eq!(coverage.consumers, 0);
    assert_eq!(
        coverage.unhandled,
        vec![("mail.send".into(), 4), ("mail.sendd".into(), 1)],
        "pending and scheduled tasks count, by name"
    );

    state.apply(register("w1", &["mail"], &["mail.send"]));
    assert_eq!(state.coverage("mail").consumers, 1);
    assert_eq!(unhandled(&state, "mail"), vec![("mail.sendd".into(), 1)]);

    tracing::info!("--- a worker of another queue changes nothing here");
    state.apply(register("w2", &["other"], &[]));
    assert_eq!(unhandled(&state, "mail"), vec![("mail.sendd".into(), 1)]);

    tracing::info!("--- a worker that runs any name handles them all");
    state.apply(register("w3", &["mail"], &[]));
    assert_eq!(state.coverage("mail").consumers, 2);
    assert!(unhandled(&state, "mail").is_empty());

    tracing::info!("--- once it leaves, the misspelt name is reported again");
    state.apply(Command::LeaveWorker { id: "w3".into() });
    assert_eq!(unhandled(&state, "mail"), vec![("mail.sendd".into(), 1)]);
}

#[test]
fn started_and_finished_tasks_are_not_waiting() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.options.retry.max_retries = 1)));
    assert_eq!(unhandled(&state, "q"), vec![("t".into(), 1)]);
    let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
    assert!(
        unhandled(&state, "q").is_empty(),
        "a started task waits for nothing"
    );
    state.apply(Command::Fail {
        id,
        delivery,
        error: "again".into(),
        retry: true,
        retry_in_ms: None,
    });
    assert_eq!(
        unhandled(&state, "q"),
        vec![("t".into(), 1)],
        "a retrying task waits again"
    );
    state.apply(Command::Revoke { id });
    assert!(unhandled(&state, "q").is_empty());
    assert!(state.coverage("nothing-here").unhandled.is_empty());
}

#[test]
fn a_failure_may_name_its_retry_delay() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.options.retry.max_retries = 2)));
    let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
    state.apply(Command::Fail {
        id,
        delivery,
        error: "later".into(),
        retry: true,
        retry_in_ms: Some(250),
    });
    assert_eq!(state.task(&id).expect("task").retry_at_ms, Some(T0 + 250));
    at(&mut state, 249);
    assert!(
        leased(state.apply(lease(&["q"], 1))).is_empty(),
        "not before its delay"
    );
    at(&mut state, 250);
    let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];

    tracing::info!("--- a delay is no retry when the task asked for none");
    let outcome = state.apply(Command::Fail {
        id,
        delivery,
        error: "for good".into(),
        retry: false,
        retry_in_ms: Some(10),
    });
    assert_eq!(
        outcome,
        Outcome::Updated {
            id,
            state: TaskState::Failure
        }
    );
}
