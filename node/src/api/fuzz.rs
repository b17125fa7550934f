//! Property-based fuzzing of request validation: whatever a client sends, the API either
//! refuses it with a status or builds a command that applies cleanly. No input may panic a
//! node, and none may put into the log a command that apply then rejects (every replica would
//! carry it forever). Longer runs: `PROPTEST_CASES=100000 cargo test -p qraft-node --lib fuzz_`.

use std::collections::HashMap;

use proptest::prelude::*;
use qraft_proto::pb;

use super::TaskDefaults;
use crate::queue::{Command, Outcome, QueueState};

const NOW: u64 = 1_700_000_000_000;

/// Strings that hit the edges: empty, long, control characters, the separators names allow.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        4 => "[a-z]{1,12}",
        2 => "[a-zA-Z0-9._:/@-]{1,40}",
        1 => ".{0,40}",
        1 => "[a-z]{190,230}",
    ]
}

fn big() -> impl Strategy<Value = u64> {
    prop_oneof![6 => Just(0u64), 2 => 1..10_000u64, 1 => any::<u64>(), 1 => Just(u64::MAX)]
}

fn small() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(0u32), 2 => 1..20u32, 1 => any::<u32>()]
}

fn task_spec() -> impl Strategy<Value = pb::TaskSpec> {
    let names = (
        text(),
        text(),
        proptest::collection::vec(any::<u8>(), 0..64),
        text(),
        text(),
    );
    let times = (
        big(),
        big(),
        big(),
        proptest::option::of(big()),
        proptest::option::of(big()),
        big(),
        proptest::option::of(big()),
    );
    let counts = (small(), small(), small(), small(), any::<bool>(), any::<f64>());
    let headers = proptest::collection::hash_map(text(), text(), 0..4);
    (names, times, counts, headers).prop_map(
        |(
            (name, queue, args, idempotency_key, concurrency_key),
            (
                countdown_ms,
                eta_ms,
                expires_in_ms,
                retry_delay_ms,
                retry_max_delay_ms,
                timeout_ms,
                result_ttl_ms,
            ),
            (priority, max_retries, delivery_limit, concurrency_limit, retry_no_jitter, retry_factor),
            headers,
        ): (_, _, _, HashMap<String, String>)| pb::TaskSpec {
            name,
            queue,
            args,
            headers,
            priority,
            countdown_ms,
            eta_ms,
            expires_in_ms,
            max_retries,
            retry_delay_ms,
            retry_factor,
            retry_max_delay_ms,
            retry_no_jitter,
            timeout_ms,
            idempotency_key,
            result_ttl_ms,
            delivery_limit,
            concurrency_key,
            concurrency_limit,
        },
    )
}

fn state() -> QueueState {
    let mut state = QueueState::default();
    state.advance_clock(NOW);
    state
}

fn must_not_be_rejected(outcome: &Outcome, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !matches!(outcome, Outcome::Rejected(_)),
        "{what} passed the API's checks but apply rejected it: {outcome:?}"
    );
    Ok(())
}

proptest! {
    #[test]
    fn fuzz_a_submit_the_api_accepts_applies(spec in task_spec()) {
        if let Ok(submit) = super::convert::submit_from_pb(spec, &TaskDefaults::default(), NOW) {
            let outcome = state().apply(Command::Submit(submit));
            must_not_be_rejected(&outcome, "a submit")?;
        }
    }

    #[test]
    fn fuzz_a_flow_the_api_accepts_applies(
        kind in 0..5i32,
        steps in proptest::collection::vec((task_spec(), any::<bool>()), 0..4),
        callback in proptest::option::of(task_spec()),
        on_failure in 0..3i32,
        key in text(),
    ) {
        let spec = pb::FlowSpec {
            kind,
            steps: steps
                .into_iter()
                .map(|(task, immutable)| pb::FlowStep { task: Some(task), immutable })
                .collect(),
            callback: callback.map(|task| pb::FlowStep { task: Some(task), immutable: false }),
            on_failure,
            idempotency_key: key,
            result_ttl_ms: None,
        };
        if let Ok(Ok(submit)) = super::flows::input_from_pb(spec).map(|input| input.prepare(&TaskDefaults::default())) {
            let outcome = state().apply(Command::SubmitFlow(Box::new(submit)));
            must_not_be_rejected(&outcome, "a flow")?;
        }
    }

    #[test]
    fn fuzz_a_schedule_the_api_accepts_applies(
        name in text(),
        task in task_spec(),
        cron in prop_oneof![
            Just(String::new()),
            Just("*/5 * * * * *".to_owned()),
            Just("0 30 9 * * Mon-Fri".to_owned()),
            Just("0 0 0 30 2 *".to_owned()),
            ".{0,30}",
        ],
        every_ms in big(),
        time_zone in prop_oneof![Just(String::new()), Just("Europe/Paris".to_owned()), text()],
        misfire in 0..4i32,
        catch_up_limit in small(),
        grace_ms in proptest::option::of(big()),
    ) {
        let spec = pb::ScheduleSpec {
            name,
            task: Some(task),
            cron,
            every_ms,
            time_zone,
            misfire,
            catch_up_limit,
            grace_ms,
        };
        if let Ok(Ok(spec)) = super::control::schedules::input_from_pb(spec).map(|input| input.prepare(&TaskDefaults::default())) {
            let outcome = state().apply(Command::AddSchedule { spec: Box::new(spec), seed: 7 });
            must_not_be_rejected(&outcome, "a schedule")?;
        }
    }
}
