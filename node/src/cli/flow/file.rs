//! The JSON workflow file of `qraft flow submit`: the same JSON `POST /v1/flows` takes
//! ([`FlowJson`], which documents it), sent over gRPC.

use anyhow::Context;
use qraft_proto::pb;

use qraft_node::http::json::flow::FlowJson;
use qraft_node::ops::TaskInput;
use qraft_node::ops::flows::{FlowInput, ShapeInput, StepInput};
use qraft_node::queue::flow::OnMemberFailure;

/// Reads a workflow file's text into a flow spec, naming the first thing that is wrong.
pub fn parse(text: &str) -> anyhow::Result<pb::FlowSpec> {
    let mut decoder = serde_json::Deserializer::from_str(text);
    // Named by path (`chain[0]: unknown field ...`), as the HTTP API names it.
    let json: FlowJson =
        serde_path_to_error::deserialize(&mut decoder).context("the workflow is not a flow's JSON")?;
    decoder
        .end()
        .context("the workflow has more after its JSON object")?;
    Ok(spec_to_pb(json.into_input(None)?))
}

fn spec_to_pb(input: FlowInput) -> pb::FlowSpec {
    let steps = |steps: Vec<StepInput>| steps.into_iter().map(step_to_pb).collect();
    let (kind, steps, callback, on_failure) = match input.shape {
        ShapeInput::Chain(chain) => (
            pb::FlowKind::Chain,
            steps(chain),
            None,
            pb::OnMemberFailure::FailChord,
        ),
        ShapeInput::Group(group) => (
            pb::FlowKind::Group,
            steps(group),
            None,
            pb::OnMemberFailure::FailChord,
        ),
        ShapeInput::Chord {
            members,
            callback,
            on_failure,
        } => (
            pb::FlowKind::Chord,
            steps(members),
            Some(step_to_pb(*callback)),
            match on_failure {
                OnMemberFailure::FailChord => pb::OnMemberFailure::FailChord,
                OnMemberFailure::RunCallback => pb::OnMemberFailure::RunCallback,
            },
        ),
    };
    pb::FlowSpec {
        kind: kind.into(),
        steps,
        callback,
        on_failure: on_failure.into(),
        idempotency_key: input.idempotency_key.unwrap_or_default(),
        result_ttl_ms: input.result_ttl_ms,
    }
}

fn step_to_pb(step: StepInput) -> pb::FlowStep {
    pb::FlowStep {
        task: Some(task_to_pb(step.task)),
        immutable: step.immutable,
    }
}

/// A task in proto3's terms: a setting left out is a zero (the node's default), except the
/// `optional` fields, whose absence says it.
fn task_to_pb(task: TaskInput) -> pb::TaskSpec {
    pb::TaskSpec {
        name: task.name,
        queue: task.queue.unwrap_or_default(),
        args: task.args,
        headers: task.headers.into_iter().collect(),
        priority: task.priority.unwrap_or_default(),
        countdown_ms: task.countdown_ms.unwrap_or_default(),
        eta_ms: task.eta_ms.unwrap_or_default(),
        expires_in_ms: task.expires_in_ms.unwrap_or_default(),
        max_retries: task.max_retries.unwrap_or_default(),
        retry_delay_ms: task.retry_delay_ms,
        retry_factor: task.retry_factor.unwrap_or_default(),
        retry_max_delay_ms: task.retry_max_delay_ms,
        retry_no_jitter: task.retry_jitter == Some(false),
        timeout_ms: task.timeout_ms.unwrap_or_default(),
        idempotency_key: task.idempotency_key.unwrap_or_default(),
        result_ttl_ms: task.result_ttl_ms,
        delivery_limit: task.delivery_limit.unwrap_or_default(),
        concurrency_key: task.concurrency_key.unwrap_or_default(),
        concurrency_limit: task.concurrency_limit.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_parses() {
        let chain = parse(r#"{"chain": [{"task": "a", "args": {"n": 1}}, {"task": "b", "queue": "q"}], "idempotency_key": "k"}"#)
            .expect("chain");
        assert_eq!(chain.kind, pb::FlowKind::Chain as i32);
        assert_eq!(chain.steps.len(), 2);
        assert_eq!(chain.idempotency_key, "k");
        let first = chain.steps[0].task.as_ref().expect("task");
        assert_eq!(first.args, br#"{"n":1}"#);
        let chord = parse(
            r#"{"chord": {"group": [{"task": "a"}, {"task": "a", "timeout": "2s"}], "callback": {"task": "sum"}, "on_failure": "run_callback"}}"#,
        )
        .expect("chord");
        assert_eq!(chord.kind, pb::FlowKind::Chord as i32);
        assert_eq!(chord.on_failure, pb::OnMemberFailure::RunCallback as i32);
        assert_eq!(chord.steps[1].task.as_ref().expect("task").timeout_ms, 2_000);
        assert_eq!(
            chord
                .callback
                .as_ref()
                .and_then(|c| c.task.as_ref())
                .map(|t| t.name.as_str()),
            Some("sum")
        );
        let immutable = parse(
            r#"{"chain": [{"task": "a"}, {"task": "b", "args": 1, "immutable": true}], "result_ttl_ms": 0}"#,
        )
        .expect("chain");
        assert!(immutable.steps[1].immutable);
        assert_eq!(immutable.result_ttl_ms, Some(0), "zero is kept, not the default");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            ("[1]", "not a flow's JSON"),
            (
                r#"{"chain": [{"task": "a"}], "group": [{"task": "a"}]}"#,
                "exactly one",
            ),
            (r#"{"chain": []}"#, "no steps"),
            (
                r#"{"group": [{"task": "a", "colour": "red"}]}"#,
                "unknown field `colour`",
            ),
            (
                r#"{"group": [{"task": "a", "immutable": true}]}"#,
                "only a chain's steps",
            ),
            (r#"{"chain": [{"task": "a"}]} {}"#, "more after"),
        ] {
            let error = format!("{:#}", parse(text).expect_err(text));
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
