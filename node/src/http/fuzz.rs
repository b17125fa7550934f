//! Property-based fuzzing of the JSON decoding: whatever body a client sends, the API refuses it
//! with a problem or builds a command that applies cleanly, and nothing panics. The bodies are
//! made from the real field names with values of every JSON kind, so the checks behind the
//! parser are reached, not only the parser. Longer runs: `PROPTEST_CASES=100000 cargo test -p
//! qraft-node --lib fuzz_`.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::json::{BatchJson, TaskJson};
use crate::ops::TaskDefaults;
use crate::queue::{Command, Outcome, QueueState};

const NOW: u64 = 1_700_000_000_000;

const TASK_FIELDS: &[&str] = &[
    "name",
    "task",
    "queue",
    "args",
    "args_base64",
    "headers",
    "priority",
    "countdown_ms",
    "eta",
    "eta_ms",
    "expires_in_ms",
    "max_retries",
    "retry_delay_ms",
    "retry_factor",
    "retry_max_delay_ms",
    "retry_jitter",
    "timeout_ms",
    "idempotency_key",
    "result_ttl_ms",
    "delivery_limit",
    "concurrency_key",
    "concurrency_limit",
    "colour",
];

/// A JSON value of any kind, weighted toward the edges: zero, huge, negative, fractional,
/// empty and long strings, times that are nearly right.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => Just(json!(0)),
        3 => (1..5_000u64).prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => (-1e6..1e6f64).prop_map(Value::from),
        1 => Just(json!(1e308)),
        2 => "[a-z]{1,12}".prop_map(Value::from),
        1 => "[a-zA-Z0-9._:/@ -]{0,40}".prop_map(Value::from),
        1 => "[a-z]{190,230}".prop_map(Value::from),
        1 => Just(json!("2026-12-24T18:00:00Z")),
        1 => Just(json!("1970-01-01T00:00:00+14:00")),
        1 => Just(json!("eA==")),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A task body: a name most of the time, and a few of the real fields (rarely an unknown one).
fn task_body() -> impl Strategy<Value = Value> {
    let fields = proptest::collection::vec((proptest::sample::select(TASK_FIELDS), value()), 0..6);
    (proptest::option::weighted(0.9, "[a-z.]{1,20}"), fields).prop_map(|(name, fields)| {
        let mut body = Map::new();
        if let Some(name) = name {
            body.insert("name".into(), Value::from(name));
        }
        for (field, value) in fields {
            body.insert((*field).to_owned(), value);
        }
        Value::Object(body)
    })
}

fn state() -> QueueState {
    let mut state = QueueState::default();
    state.advance_clock(NOW);
    state
}

fn must_apply(body: &Value, key: Option<&str>) -> Result<(), TestCaseError> {
    let Ok(task) = serde_json::from_value::<TaskJson>(body.clone()) else {
        return Ok(());
    };
    let Ok(input) = task.into_input(key) else {
        return Ok(());
    };
    if let Ok(submit) = input.prepare(&TaskDefaults::default(), NOW) {
        let outcome = state().apply(Command::Submit(submit));
        prop_assert!(
            !matches!(outcome, Outcome::Rejected(_)),
            "{body} passed the HTTP API's checks but apply rejected it: {outcome:?}"
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn fuzz_a_json_task_the_http_api_accepts_applies(
        body in task_body(),
        key in proptest::option::of("[a-z0-9-]{1,12}"),
    ) {
        must_apply(&body, key.as_deref())?;
    }

    #[test]
    fn fuzz_a_json_batch_decodes_or_is_refused(bodies in proptest::collection::vec(task_body(), 0..4), extra in value()) {
        let batch = json!({"tasks": bodies, "extra": extra});
        // An unknown field refuses the batch; without it, each task is judged as one.
        prop_assert!(serde_json::from_value::<BatchJson>(batch).is_err());
        for body in &bodies {
            must_apply(body, None)?;
        }
    }

    #[test]
    fn fuzz_any_bytes_as_a_task_body_are_decoded_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = serde_json::from_slice::<TaskJson>(&bytes).map(|task| task.into_input(None));
    }
}
