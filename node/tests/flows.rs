//! Workflows on a real cluster: a chord's callback runs once with every result even when the
//! leader dies in the middle; a chain passes results; a failed member reaches the callback when
//! the chord asks for it.

use std::time::Duration;

use qraft_proto::{Client, pb};
use serde_json::Value;

use crate::util::{Cli, TestCluster, wait_for};

fn sleep(ms: u64) -> pb::TaskSpec {
    pb::TaskSpec {
        name: "builtin.sleep".into(),
        args: format!("{{\"ms\":{ms}}}").into_bytes(),
        // A short time limit keeps the lease short: members on a killed node come back soon.
        timeout_ms: 3_000,
        ..Default::default()
    }
}

fn echo() -> pb::TaskSpec {
    pb::TaskSpec {
        name: "builtin.echo".into(),
        ..Default::default()
    }
}

async fn finished(client: &Client, id: &str) -> pb::Flow {
    let (flow, _) = wait_for(
        &format!("flow {id} to finish"),
        Duration::from_secs(60),
        || async {
            let flow = client.get_flow(id, true).await.ok()?;
            (flow.state != pb::FlowState::FlowRunning as i32).then_some(flow)
        },
    )
    .await;
    flow
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chord_callback_runs_once_with_every_result_through_a_leader_kill() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let client = cluster.client(&[1, 2, 3]);
    let mut chord = pb::FlowSpec::chord(
        (0..9).map(|i| sleep(300 + 100 * i)),
        echo(),
        pb::OnMemberFailure::FailChord,
    );
    chord.idempotency_key = "chord-1".into();
    let id = client.submit_flow(chord.clone()).await.expect("submit chord").id;
    let again = client.submit_flow(chord).await.expect("resubmit chord");
    assert_eq!((again.id.as_str(), again.duplicate), (id.as_str(), true));
    wait_for("two members done", Duration::from_secs(20), || async {
        let flow = client.get_flow(&id, false).await.ok()?;
        (flow.done >= 2).then_some(())
    })
    .await;

    cluster.kill_node(leader);
    let survivors: Vec<u64> = [1, 2, 3].into_iter().filter(|n| *n != leader).collect();
    let client = cluster.client(&survivors);
    let flow = finished(&client, &id).await;
    assert_eq!(flow.state, pb::FlowState::FlowSucceeded as i32, "{flow:?}");
    let callbacks = client
        .list_tasks(pb::ListTasksRequest {
            name: "builtin.echo".into(),
            limit: 1000,
            linearizable: true,
            ..Default::default()
        })
        .await
        .expect("list callbacks")
        .tasks;
    assert_eq!(callbacks.len(), 1, "the callback ran once: {callbacks:?}");
    let results: Value = serde_json::from_slice(&flow.result).expect("callback result is the results");
    let results = results.as_array().expect("an array");
    assert_eq!(results.len(), 9);
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["state"], "SUCCESS", "{result}");
        assert_eq!(
            result["result"]["slept_ms"],
            300 + 100 * i as u64,
            "member {i} in order"
        );
    }
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_pass_results_and_failed_members_follow_the_policy() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = dir.path().join("chain.json");
    std::fs::write(
        &chain,
        r#"{"chain": [{"task": "builtin.echo", "args": {"x": 1}}, {"task": "builtin.echo"}, {"task": "builtin.echo"}]}"#,
    )
    .expect("write chain");
    let flow = cli.json(&["flow", "submit", chain.to_str().expect("path"), "--wait", "30s"]);
    assert_eq!(flow["state"], "SUCCEEDED", "{flow}");
    assert_eq!(
        flow["result"]["x"], 1,
        "the first args went down the chain: {flow}"
    );
    assert_eq!(flow["done"], 3);

    let chord = dir.path().join("chord.json");
    std::fs::write(
        &chord,
        r#"{"chord": {"group": [{"task": "builtin.fail", "args": {"times": 9}}, {"task": "builtin.echo", "args": 2}],
            "callback": {"task": "builtin.echo"}, "on_failure": "run_callback"}}"#,
    )
    .expect("write chord");
    let flow = cli.json(&["flow", "submit", chord.to_str().expect("path"), "--wait", "30s"]);
    assert_eq!(flow["state"], "SUCCEEDED", "the callback ran: {flow}");
    assert_eq!(flow["result"][0]["state"], "FAILURE", "{flow}");
    assert!(
        flow["result"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("failing on purpose")
    );
    assert_eq!(flow["result"][1]["result"], 2);

    let id = flow["id"].as_str().expect("id").to_string();
    let shown = cli.json(&["flow", "show", &id]);
    assert_eq!(shown["callback"]["state"], "SUCCESS", "{shown}");
    let listed = cli.json(&["flow", "list"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    std::fs::write(&chord, r#"{"chord": {"group": [{"task": "builtin.fail", "args": {"times": 9}}], "callback": {"task": "builtin.echo"}}}"#)
        .expect("write failing chord");
    let output = cli.run(&[
        "flow",
        "submit",
        chord.to_str().expect("path"),
        "--wait",
        "30s",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1), "a failed flow exits 1");
    let failed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(failed["state"], "FAILED");
    assert_eq!(
        failed["callback"]["task_id"],
        Value::Null,
        "the callback never ran: {failed}"
    );
    cluster.must_not_have_panicked();
}
