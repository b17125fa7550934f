//! The JSON workflow file of `qraft flow submit`:
//!
//! ```json
//! {"chain": [STEP, ...]}
//! {"group": [STEP, ...]}
//! {"chord": {"group": [STEP, ...], "callback": STEP, "on_failure": "fail_chord" | "run_callback"}}
//! ```
//!
//! with an optional top-level `"idempotency_key"`, and each STEP
//! `{"task": NAME, "args": ANY JSON, "queue": Q, "priority": N, "max_retries": N,
//!   "timeout": "30s", "expires": "1h", "concurrency_key": K, "concurrency": N, "immutable": BOOL}`
//! where only `task` is required.

use anyhow::{Context, bail};
use qraft_proto::pb;
use serde_json::Value;

/// Reads a workflow file's text into a flow spec, naming the first thing that is wrong.
pub fn parse(text: &str) -> anyhow::Result<pb::FlowSpec> {
    let value: Value = serde_json::from_str(text).context("the workflow file is not JSON")?;
    let Value::Object(top) = value else {
        bail!("a workflow file is a JSON object with one of: chain, group, chord");
    };
    let kinds = ["chain", "group", "chord"]
        .iter()
        .filter(|k| top.contains_key(**k))
        .count();
    if kinds != 1 {
        bail!("a workflow has exactly one of: chain, group, chord");
    }
    let mut spec = None;
    let mut key = String::new();
    for (field, value) in &top {
        match field.as_str() {
            "chain" => spec = Some(pb::FlowSpec::chain(steps(value, "chain")?)),
            "group" => {
                must_not_be_immutable(value, "group")?;
                spec = Some(pb::FlowSpec::group(steps(value, "group")?));
            }
            "chord" => spec = Some(chord(value)?),
            "idempotency_key" => key = string(value, "idempotency_key")?,
            other => {
                bail!("unknown field {other:?}; a workflow has chain, group or chord (and idempotency_key)")
            }
        }
    }
    let mut spec = spec.context("a workflow has exactly one of: chain, group, chord")?;
    spec.idempotency_key = key;
    // Immutable chain steps keep their own args.
    if let Some(Value::Array(items)) = top.get("chain") {
        for (step, item) in spec.steps.iter_mut().zip(items) {
            step.immutable = item.get("immutable").and_then(Value::as_bool).unwrap_or(false);
        }
    }
    Ok(spec)
}

fn chord(value: &Value) -> anyhow::Result<pb::FlowSpec> {
    let Value::Object(chord) = value else {
        bail!("chord must be an object with group, callback and on_failure");
    };
    let group = chord.get("group").context("chord needs a group")?;
    must_not_be_immutable(group, "chord group")?;
    let members = steps(group, "chord group")?;
    let callback = chord.get("callback").context("chord needs a callback")?;
    must_not_be_immutable(&Value::Array(vec![callback.clone()]), "chord callback")?;
    let callback = task(callback, "chord callback")?;
    let on_failure = match chord
        .get("on_failure")
        .map(|v| string(v, "on_failure"))
        .transpose()?
        .as_deref()
    {
        None | Some("fail_chord") => pb::OnMemberFailure::FailChord,
        Some("run_callback") => pb::OnMemberFailure::RunCallback,
        Some(other) => bail!("on_failure {other:?} is not fail_chord or run_callback"),
    };
    if let Some(other) = chord
        .keys()
        .find(|k| !["group", "callback", "on_failure"].contains(&k.as_str()))
    {
        bail!("unknown chord field {other:?}");
    }
    Ok(pb::FlowSpec::chord(members, callback, on_failure))
}

/// Only a chain step can keep its own args instead of the previous result.
fn must_not_be_immutable(steps: &Value, what: &str) -> anyhow::Result<()> {
    let immutable = |step: &Value| step.get("immutable").and_then(Value::as_bool) == Some(true);
    if steps.as_array().is_some_and(|steps| steps.iter().any(immutable)) {
        bail!("{what}: only a chain's steps can be immutable (they take no previous result)");
    }
    Ok(())
}

fn steps(value: &Value, what: &str) -> anyhow::Result<Vec<pb::TaskSpec>> {
    let Value::Array(items) = value else {
        bail!("{what} must be a list of steps");
    };
    if items.is_empty() {
        bail!("{what} has no steps");
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| task(item, &format!("{what} step {i}")))
        .collect()
}

fn task(value: &Value, what: &str) -> anyhow::Result<pb::TaskSpec> {
    let Value::Object(step) = value else {
        bail!("{what} must be an object like {{\"task\": \"name\", \"args\": ...}}");
    };
    let mut spec = pb::TaskSpec {
        name: string(
            step.get("task")
                .with_context(|| format!("{what} has no \"task\""))?,
            "task",
        )?,
        ..Default::default()
    };
    for (field, value) in step {
        let context = || format!("{what}: field {field:?}");
        match field.as_str() {
            "task" => {}
            "immutable" if value.is_boolean() => {}
            "immutable" => bail!("{what}: immutable must be true or false"),
            "args" => spec.args = serde_json::to_vec(value)?,
            "queue" => spec.queue = string(value, field)?,
            "priority" => spec.priority = number(value).with_context(context)?,
            "max_retries" => spec.max_retries = number(value).with_context(context)?,
            "timeout" => spec.timeout_ms = duration(value).with_context(context)?,
            "expires" => spec.expires_in_ms = duration(value).with_context(context)?,
            "concurrency_key" => spec.concurrency_key = string(value, field)?,
            "concurrency" => spec.concurrency_limit = number(value).with_context(context)?,
            other => bail!("{what}: unknown field {other:?}"),
        }
    }
    Ok(spec)
}

fn string(value: &Value, what: &str) -> anyhow::Result<String> {
    value
        .as_str()
        .map(String::from)
        .with_context(|| format!("{what} must be a string"))
}

fn number(value: &Value) -> anyhow::Result<u32> {
    let n = value.as_u64().context("must be a non-negative integer")?;
    Ok(u32::try_from(n)?)
}

fn duration(value: &Value) -> anyhow::Result<u64> {
    let text = value.as_str().context("must be a duration like \"30s\"")?;
    Ok(humantime::parse_duration(text)?.as_millis().try_into()?)
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
        assert_eq!(chord.on_failure, pb::OnMemberFailure::RunCallback as i32);
        assert_eq!(chord.steps[1].task.as_ref().expect("task").timeout_ms, 2_000);
        assert!(chord.callback.is_some());
        let immutable = parse(r#"{"chain": [{"task": "a"}, {"task": "b", "args": 1, "immutable": true}]}"#)
            .expect("chain");
        assert!(immutable.steps[1].immutable);
    }

    #[test]
    fn mistakes_are_named() {
        for (text, expected) in [
            ("[1]", "JSON object"),
            (r#"{"chain": [], "group": []}"#, "exactly one"),
            (r#"{"chain": []}"#, "no steps"),
            (r#"{"chain": [{"args": 1}]}"#, "has no \"task\""),
            (
                r#"{"group": [{"task": "a", "colour": "red"}]}"#,
                "unknown field \"colour\"",
            ),
            (r#"{"chord": {"group": [{"task": "a"}]}}"#, "callback"),
            (
                r#"{"chord": {"group": [{"task": "a"}], "callback": {"task": "b"}, "on_failure": "shrug"}}"#,
                "shrug",
            ),
            (r#"{"group": [{"task": "a", "timeout": "soon"}]}"#, "timeout"),
            (
                r#"{"group": [{"task": "a", "immutable": true}]}"#,
                "only a chain's steps",
            ),
            (
                r#"{"chain": [{"task": "a", "immutable": "yes"}]}"#,
                "true or false",
            ),
        ] {
            let error = format!("{:#}", parse(text).expect_err(text));
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
