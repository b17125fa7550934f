//! Workflows: chains pass results, groups gather them, a chord's callback runs once.

use super::*;
use crate::queue::flow::{Flow, FlowSpec, FlowState, OnMemberFailure, Part, Step, SubmitFlow};
use crate::queue::template::TaskTemplate;

pub(super) fn step(name: &str, queue: &str, args: &[u8]) -> Step {
    Step {
        template: TaskTemplate {
            name: name.into(),
            queue: queue.into(),
            args: args.to_vec(),
            headers: BTreeMap::new(),
            priority: 0,
            options: options(),
            expires_in_ms: None,
        },
        immutable: false,
    }
}

pub(super) fn flow_command(id: u128, spec: FlowSpec, key: Option<&str>) -> Command {
    Command::SubmitFlow(Box::new(SubmitFlow {
        id: TaskId::from_bytes(id.to_be_bytes()),
        spec,
        idempotency_key: key.map(String::from),
        result_ttl_ms: 60_000,
    }))
}

fn chord(on_failure: OnMemberFailure) -> FlowSpec {
    FlowSpec::Chord {
        members: (0..3)
            .map(|i| step("part", "q", format!("{{\"i\":{i}}}").as_bytes()))
            .collect(),
        callback: Box::new(step("sum", "q", b"")),
        on_failure,
    }
}

fn submit_flow(state: &mut QueueState, spec: FlowSpec) -> Flow {
    match state.apply(flow_command(7 << 80, spec, None)) {
        Outcome::FlowSubmitted { id, duplicate: false } => state.flow(&id).expect("stored").clone(),
        other => panic!("expected a new flow, got {other:?}"),
    }
}

/// Leases the flow's task for `part` and answers it.
fn finish(state: &mut QueueState, flow: &Flow, part: Part, result: Result<&[u8], &str>) {
    let id = Flow::task_id(flow.id, part, flow.parts.len());
    let (_, delivery) = leased(state.apply(lease(&["q"], 1000)))
        .into_iter()
        .find(|(leased, _)| *leased == id)
        .or_else(|| {
            let task = state.task(&id)?;
            task.lease.as_ref().map(|l| (id, l.delivery))
        })
        .unwrap_or_else(|| panic!("the task of {part:?} is not runnable"));
    let outcome = match result {
        Ok(result) => state.apply(Command::Ack {
            id,
            delivery,
            result: result.to_vec(),
        }),
        Err(error) => state.apply(Command::Fail {
            id,
            delivery,
            error: error.into(),
            retry: false,
            retry_in_ms: None,
        }),
    };
    assert!(matches!(outcome, Outcome::Updated { .. }), "{outcome:?}");
}

fn now(state: &QueueState, flow: &Flow) -> Flow {
    state.flow(&flow.id).expect("flow").clone()
}

fn args_of(state: &QueueState, flow: &Flow, part: Part) -> Option<String> {
    let id = Flow::task_id(flow.id, part, flow.parts.len());
    state
        .task(&id)
        .map(|t| String::from_utf8_lossy(&t.args).into_owned())
}

#[test]
fn a_chain_passes_each_result_to_the_next_step() {
    let mut state = new_state();
    let mut own = step("c", "q", b"own");
    own.immutable = true;
    let flow = submit_flow(
        &mut state,
        FlowSpec::Chain(vec![
            step("a", "q", b"start"),
            step("b", "q", b""),
            own,
            step("d", "q", b""),
        ]),
    );
    assert_eq!(args_of(&state, &flow, Part::Member(0)).as_deref(), Some("start"));
    assert_eq!(
        args_of(&state, &flow, Part::Member(1)),
        None,
        "one step at a time"
    );
    finish(&mut state, &flow, Part::Member(0), Ok(b"1"));
    assert_eq!(args_of(&state, &flow, Part::Member(1)).as_deref(), Some("1"));
    finish(&mut state, &flow, Part::Member(1), Ok(b"2"));
    assert_eq!(
        args_of(&state, &flow, Part::Member(2)).as_deref(),
        Some("own"),
        "immutable"
    );
    finish(&mut state, &flow, Part::Member(2), Ok(b"3"));
    assert_eq!(args_of(&state, &flow, Part::Member(3)).as_deref(), Some("3"));
    assert_eq!(now(&state, &flow).state, FlowState::Running);
    finish(&mut state, &flow, Part::Member(3), Ok(b"4"));
    let done = now(&state, &flow);
    assert_eq!(
        (done.state, done.result.as_slice()),
        (FlowState::Succeeded, b"4".as_slice())
    );
}

#[test]
fn a_failed_chain_step_fails_the_chain_and_stops_it() {
    let mut state = new_state();
    let flow = submit_flow(
        &mut state,
        FlowSpec::Chain(vec![step("a", "q", b""), step("b", "q", b"")]),
    );
    finish(&mut state, &flow, Part::Member(0), Err("boom"));
    let failed = now(&state, &flow);
    assert_eq!(failed.state, FlowState::Failed);
    assert!(
        failed.error.as_deref().unwrap_or_default().contains("boom"),
        "{failed:?}"
    );
    assert_eq!(args_of(&state, &flow, Part::Member(1)), None);
}

#[test]
fn a_group_gathers_every_result_in_order() {
    let mut state = new_state();
    let flow = submit_flow(
        &mut state,
        FlowSpec::Group((0..3).map(|_| step("g", "q", b"")).collect()),
    );
    for part in [2, 0, 1] {
        assert_eq!(now(&state, &flow).state, FlowState::Running);
        finish(
            &mut state,
            &flow,
            Part::Member(part),
            Ok(format!("{part}").as_bytes()),
        );
    }
    let done = now(&state, &flow);
    assert_eq!(done.state, FlowState::Succeeded);
    let results: serde_json::Value = serde_json::from_slice(&done.result).expect("JSON");
    let values: Vec<&serde_json::Value> = results
        .as_array()
        .expect("array")
        .iter()
        .map(|r| &r["result"])
        .collect();
    assert_eq!(values, [0, 1, 2]);
}

#[test]
fn a_chord_callback_runs_once_with_every_result() {
    let mut state = new_state();
    let flow = submit_flow(&mut state, chord(OnMemberFailure::FailChord));
    finish(&mut state, &flow, Part::Member(1), Ok(b"{\"n\":1}"));
    finish(&mut state, &flow, Part::Member(0), Ok(b"{\"n\":0}"));
    assert_eq!(
        args_of(&state, &flow, Part::Callback),
        None,
        "one member still runs"
    );
    assert_eq!(now(&state, &flow).remaining, 1);
    finish(&mut state, &flow, Part::Member(2), Ok(b"plain text"));
    let args = args_of(&state, &flow, Part::Callback).expect("callback enqueued");
    let results: serde_json::Value = serde_json::from_str(&args).expect("JSON");
    assert_eq!(results[0]["result"]["n"], 0);
    assert_eq!(results[1]["result"]["n"], 1);
    assert_eq!(results[2]["result"], "plain text");
    assert_eq!(results[2]["state"], "SUCCESS");
    // A stale answer for a member changes nothing and enqueues nothing more.
    let member = Flow::task_id(flow.id, Part::Member(0), 3);
    let stale = state.apply(Command::Ack {
        id: member,
        delivery: 1,
        result: vec![],
    });
    assert!(matches!(stale, Outcome::Rejected(Rejection::StaleLease { .. })));
    let callbacks = state.tasks().filter(|t| t.name == "sum").count();
    assert_eq!(callbacks, 1);
    finish(&mut state, &flow, Part::Callback, Ok(b"3"));
    let done = now(&state, &flow);
    assert_eq!(
        (done.state, done.result.as_slice()),
        (FlowState::Succeeded, b"3".as_slice())
    );
}

#[test]
fn a_failed_chord_member_fails_the_chord_or_reaches_the_callback_by_policy() {
    let mut state = new_state();
    let flow = submit_flow(&mut state, chord(OnMemberFailure::FailChord));
    finish(&mut state, &flow, Part::Member(0), Err("bad input"));
    assert_eq!(now(&state, &flow).state, FlowState::Failed, "failed at once");
    finish(&mut state, &flow, Part::Member(1), Ok(b"1"));
    finish(&mut state, &flow, Part::Member(2), Ok(b"2"));
    assert_eq!(
        args_of(&state, &flow, Part::Callback),
        None,
        "the callback never runs"
    );
    assert_eq!(now(&state, &flow).state, FlowState::Failed);

    let mut state = new_state();
    let flow = submit_flow(&mut state, chord(OnMemberFailure::RunCallback));
    finish(&mut state, &flow, Part::Member(0), Err("bad input"));
    finish(&mut state, &flow, Part::Member(1), Ok(b"1"));
    finish(&mut state, &flow, Part::Member(2), Ok(b"2"));
    let args = args_of(&state, &flow, Part::Callback).expect("callback runs");
    let results: serde_json::Value = serde_json::from_str(&args).expect("JSON");
    assert_eq!(results[0]["state"], "FAILURE");
    assert_eq!(results[0]["error"], "bad input");
    assert_eq!(results[1]["result"], 1);
}

#[test]
fn a_purged_step_fails_its_flow_instead_of_stalling_it() {
    let mut state = new_state();
    let flow = submit_flow(&mut state, chord(OnMemberFailure::RunCallback));
    assert_eq!(
        state.apply(Command::PurgeQueue { queue: "q".into() }),
        Outcome::Count(3)
    );
    let args = args_of(&state, &flow, Part::Callback).expect("the callback still runs");
    assert!(args.contains("purged"), "{args}");
}

#[test]
fn a_flow_submit_is_idempotent_and_finished_flows_expire() {
    let mut state = new_state();
    let spec = FlowSpec::Group(vec![step("g", "q", b"")]);
    let first = state.apply(flow_command(1 << 80, spec.clone(), Some("k")));
    let again = state.apply(flow_command(2 << 80, spec, Some("k")));
    let Outcome::FlowSubmitted { id, duplicate: false } = first else {
        panic!("{first:?}");
    };
    assert_eq!(again, Outcome::FlowSubmitted { id, duplicate: true });
    let flow = state.flow(&id).expect("flow").clone();
    finish(&mut state, &flow, Part::Member(0), Ok(b""));
    assert_eq!(state.next_due_ms(), Some(T0 + 60_000), "results kept for the TTL");
    at(&mut state, 60_000);
    assert!(state.flow(&id).is_none());
    assert!(state.take_changes().flows().contains(&id));
}

#[test]
fn an_invalid_flow_is_rejected_as_a_value() {
    let mut state = new_state();
    let own_args = FlowSpec::Chain(vec![step("a", "q", b""), step("b", "q", b"mine")]);
    let empty = FlowSpec::Group(vec![]);
    for spec in [own_args, empty] {
        let outcome = state.apply(flow_command(1, spec, None));
        assert!(
            matches!(outcome, Outcome::Rejected(Rejection::Invalid(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(state.flows().count(), 0);
}

#[test]
fn a_callback_whose_args_would_be_too_large_fails_the_chord_instead_of_being_stored() {
    let mut state = new_state();
    let flow = submit_flow(&mut state, chord(OnMemberFailure::FailChord));
    // Three results of 6 MiB: the callback's args would be over the 16 MiB any task may have.
    let large = vec![b'x'; 6 * 1024 * 1024];
    for i in 0..3 {
        finish(&mut state, &flow, Part::Member(i), Ok(&large));
    }
    let done = now(&state, &flow);
    assert_eq!(done.state, FlowState::Failed);
    let error = done.error.unwrap_or_default();
    assert!(
        error.contains("could not be enqueued") && error.contains("bytes"),
        "{error}"
    );
    assert!(
        args_of(&state, &flow, Part::Callback).is_none(),
        "no callback task was stored"
    );
}
