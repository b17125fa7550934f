//! Every node runs tasks: the built-in handlers end to end through the CLI, retries, time
//! limits, dead letters and revoking a running task.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use qraft_proto::pb;
use serde_json::Value;

use crate::util::{QRAFT, TestCluster, wait_for};

fn qraft(cluster: &str, args: &[&str]) -> Output {
    Command::new(QRAFT)
        .args(args)
        .args(["--cluster", cluster])
        .stdin(Stdio::null())
        .output()
        .expect("run qraft")
}

/// `qraft submit ARGS --wait 30s --json`: the exit code and the finished task.
fn submit_wait(cluster: &str, args: &[&str]) -> (Option<i32>, Value) {
    let mut full = vec!["submit"];
    full.extend_from_slice(args);
    full.extend_from_slice(&["--wait", "30s", "--json"]);
    let output = qraft(cluster, &full);
    (output.status.code(), json_of(&output))
}

fn json_of(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_and_exec_handlers_run_retry_time_out_and_stop_when_revoked() {
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config = config_dir.path().join("node.toml");
    std::fs::write(
        &config,
        "[tasks.\"text.shout\"]\nexec = [\"sh\", \"-c\", \"tr a-z A-Z; test \\\"$QRAFT_ATTEMPT\\\" -ge 1\"]\n\n[tasks.\"text.broken\"]\nexec = [\"sh\", \"-c\", \"echo no disk >&2; exit 4\"]\n",
    )
    .expect("write config");
    let cluster = TestCluster::start(3, &["--config", config.to_str().expect("utf-8 path")]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let addrs = (1..=3).map(|id| cluster.addr(id)).collect::<Vec<_>>().join(",");

    tracing::info!("--- echo returns its args");
    let out = qraft(
        &addrs,
        &["submit", "builtin.echo", "--args", r#"{"x":1}"#, "--wait", "20s"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("SUCCESS") && text.contains(r#"{"x":1}"#), "{text}");

    tracing::info!("--- an exec handler: args on stdin, stdout is the result, stderr the error");
    let (code, task) = submit_wait(&addrs, &["text.shout", "--args", r#""hello""#]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (task["state"].as_str(), task["result"].as_str()),
        (Some("SUCCESS"), Some("HELLO")),
        "{task}"
    );
    let (code, task) = submit_wait(&addrs, &["text.broken"]);
    assert_eq!(code, Some(1));
    assert_eq!(task["state"], "FAILURE");
    assert!(
        task["error"]
            .as_str()
            .is_some_and(|e| e.contains("exit code 4") && e.ends_with("no disk")),
        "{task}"
    );

    tracing::info!("--- fail twice, three attempts allowed: succeeds on the third");
    let (code, task) = submit_wait(
        &addrs,
        &[
            "builtin.fail",
            "--args",
            r#"{"times":2}"#,
            "--max-retries",
            "3",
            "--retry-delay",
            "100ms",
        ],
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        (task["state"].as_str(), task["attempts"].as_u64()),
        (Some("SUCCESS"), Some(3)),
        "{task}"
    );

    tracing::info!("--- fail twice, one retry allowed: fails for good and is a dead letter");
    let (code, task) = submit_wait(
        &addrs,
        &[
            "builtin.fail",
            "--args",
            r#"{"times":2}"#,
            "--max-retries",
            "1",
            "--retry-delay",
            "100ms",
        ],
    );
    assert_eq!(code, Some(1));

    assert_eq!(task["state"], "FAILURE");
    let dead = json_of(&qraft(&addrs, &["dead", "--json"]));
    assert!(
        dead.as_array()
            .expect("array")
            .iter()
            .any(|t| t["id"] == task["id"]),
        "{dead}"
    );

    tracing::info!("--- a sleep past its time limit is stopped and retried, then fails");
    let (code, task) = submit_wait(
        &addrs,
        &[
            "builtin.sleep",
            "--args",
            r#"{"ms":60000}"#,
            "--timeout",
            "300ms",
            "--max-retries",
            "1",
            "--retry-delay",
            "100ms",
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        (task["state"].as_str(), task["attempts"].as_u64()),
        (Some("FAILURE"), Some(2)),
        "{task}"
    );
    assert!(
        task["error"].as_str().is_some_and(|e| e.contains("timed out")),
        "{task}"
    );

    tracing::info!("--- revoking a running sleep stops it");
    let client = cluster.client(&[1, 2, 3]);
    let (id, task, node) = start_sleep(&client, br#"{"ms":600000}"#, 0).await;
    assert!(
        task.worker.starts_with("node"),
        "run by a node's pool: {}",
        task.worker
    );
    client.revoke(&id).await.expect("revoke");
    wait_for(
        "the worker to stop the revoked task",
        Duration::from_secs(10),
        || async {
            let log = std::fs::read_to_string(&cluster.nodes[&node].log).ok()?;
            log.contains("task revoked while running").then_some(())
        },
    )
    .await;
    let task = client.get_task(&id, true).await.expect("task");
    assert_eq!(task.state, pb::TaskState::Revoked as i32);

    tracing::info!("--- the workers view: three embedded pools, with what they did");
    let (workers, _) = wait_for(
        "all three pools to be registered",
        Duration::from_secs(20),
        || async {
            let workers = json_of(&qraft(&addrs, &["workers", "--json"]));
            (workers.as_array().map(Vec::len) == Some(3)).then_some(workers)
        },
    )
    .await;
    let rows = workers.as_array().expect("array");
    assert!(
        rows.iter()
            .all(|w| w["kind"] == "embedded" && w["queues"][0] == "default"),
        "{workers}"
    );
    let processed: u64 = rows.iter().map(|w| w["processed"].as_u64().unwrap_or(0)).sum();
    let failed: u64 = rows.iter().map(|w| w["failed"].as_u64().unwrap_or(0)).sum();
    assert!(
        processed >= 3 && failed >= 5,
        "processed {processed}, failed {failed}: {workers}"
    );

    tracing::info!("--- a remote worker registers, heartbeats and leaves");
    client
        .register_worker(pb::RegisterRequest {
            worker_id: "py-1".into(),
            node: "laptop".into(),
            queues: vec!["images".into()],
            names: vec![],
            concurrency: 2,
        })
        .await
        .expect("register");
    client.heartbeat("py-1", 1).await.expect("heartbeat");
    // Lists are served by whichever node the client asks, which may apply a moment after the
    // leader answered the write.
    let (remote, _) = wait_for("py-1 listed as active", Duration::from_secs(10), || async {
        let listed = client.list_workers().await.ok()?;
        listed
            .workers
            .into_iter()
            .find(|w| w.id == "py-1" && w.active == 1)
    })
    .await;
    assert_eq!(
        (remote.kind.as_str(), remote.active, remote.node.as_str()),
        ("remote", 1, "laptop")
    );
    assert!(qraft(&addrs, &["workers"]).stdout.starts_with(b"ID"));
    client.leave("py-1").await.expect("leave");
    wait_for("py-1 gone from the list", Duration::from_secs(10), || async {
        let listed = client.list_workers().await.ok()?;
        listed.workers.iter().all(|w| w.id != "py-1").then_some(())
    })
    .await;
    assert!(
        client.heartbeat("ghost", 0).await.is_err(),
        "an unregistered heartbeat is refused"
    );
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_running_tasks_to_another_node_without_waiting_for_the_lease() {
    let mut cluster = TestCluster::start(3, &["--worker-grace", "300ms"]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let client = cluster.client(&[1, 2, 3]);
    let (id, first, node) = start_sleep(&client, br#"{"ms":600000}"#, 0).await;

    tracing::info!("--- SIGTERM the node running it: it hands the task back after the grace period");
    assert!(
        cluster.stop_node(node, Duration::from_secs(15)),
        "node {node} exited with an error"
    );
    let others: Vec<u64> = [1, 2, 3].into_iter().filter(|n| *n != node).collect();
    let client = cluster.client(&others);
    // Well inside the 30 s lease: only a hand-back explains a second start this soon.
    let (second, waited) = wait_for(
        "another node to take the task",
        Duration::from_secs(15),
        || async {
            client
                .get_task(&id, true)
                .await
                .ok()
                .filter(|t| t.state == pb::TaskState::Started as i32 && t.worker != first.worker)
        },
    )
    .await;
    assert_eq!(second.attempts, 2);
    assert!(
        waited < Duration::from_secs(25),
        "took {waited:?}: the lease expired instead"
    );
    let log = std::fs::read_to_string(&cluster.nodes[&node].log).expect("log");
    assert!(log.contains("handed back unfinished task"), "{log}");
    client.revoke(&id).await.expect("revoke");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_and_restarted_hands_back_what_it_ran_without_waiting_for_the_lease() {
    let mut cluster = TestCluster::start(3, &[]);
    let all = [1, 2, 3];
    cluster.wait_for_leader(&all, Duration::from_secs(15)).await;
    let client = cluster.client(&all);
    // No time limit: the lease is the default 30 s.
    let (id, first, node) = start_sleep(&client, br#"{"ms":600000}"#, 0).await;

    tracing::info!("--- kill -9 the node running it, and start it again");
    cluster.kill_node(node);
    let killed = std::time::Instant::now();
    cluster.start_node(node);
    let (second, _) = wait_for("the task to run again", Duration::from_secs(40), || async {
        client
            .get_task(&id, true)
            .await
            .ok()
            .filter(|t| t.state == pb::TaskState::Started as i32 && t.attempts == 2)
    })
    .await;
    let waited = killed.elapsed();
    assert!(
        waited < Duration::from_secs(20),
        "ran again {waited:?} after the kill: its 30 s lease expired instead of being handed back"
    );
    assert!(second.delivery > first.delivery, "{second:?}");
    let log = std::fs::read_to_string(&cluster.nodes[&node].log).expect("log");
    assert!(log.contains("handed back tasks leased to this worker"), "{log}");
    client.revoke(&id).await.expect("revoke");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoscale_grows_with_a_backlog_and_shrinks_when_idle() {
    let cluster = TestCluster::start(3, &["--autoscale", "1,4"]);
    let all = [1, 2, 3];
    cluster.wait_for_leader(&all, Duration::from_secs(15)).await;
    let client = cluster.client(&all);
    let specs = (0..24)
        .map(|_| pb::TaskSpec {
            name: "builtin.sleep".into(),
            args: br#"{"ms":400}"#.to_vec(),
            ..Default::default()
        })
        .collect();
    client.submit_batch(specs).await.expect("submit");
    let log_of = |id: u64| std::fs::read_to_string(&cluster.nodes[&id].log).unwrap_or_default();
    let (grown, _) = wait_for(
        "a pool to grow to its maximum",
        Duration::from_secs(20),
        || async {
            all.into_iter()
                .find(|id| log_of(*id).contains("autoscale: growing slots=4"))
        },
    )
    .await;
    wait_for("the backlog to drain", Duration::from_secs(30), || async {
        let queues = client.list_queues(true).await.ok()?;
        let default = queues.iter().find(|q| q.name == "default")?;
        (default.succeeded == 24).then_some(())
    })
    .await;
    wait_for(
        "the grown pool to shrink back to its minimum",
        Duration::from_secs(20),
        || async {
            log_of(grown)
                .contains("autoscale: shrinking slots=1")
                .then_some(())
        },
    )
    .await;
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_whose_node_dies_runs_again_elsewhere_and_the_late_ack_is_refused() {
    let mut cluster = TestCluster::start(3, &[]);
    let all = [1, 2, 3];
    cluster.wait_for_leader(&all, Duration::from_secs(15)).await;
    let client = cluster.client(&all);
    // A 3 s time limit makes the lease 8 s (limit + 5 s grace) instead of the default 30 s.
    let (id, first, node) = start_sleep(&client, br#"{"ms":1500}"#, 3_000).await;

    tracing::info!("--- kill -9 the node running it");
    cluster.kill_node(node);
    let others: Vec<u64> = all.iter().copied().filter(|n| *n != node).collect();
    let client = cluster.client(&others);
    let (done, _) = wait_for(
        "the task to be leased again after its lease expired, and finish",
        Duration::from_secs(40),
        || async {
            client
                .get_task(&id, true)
                .await
                .ok()
                .filter(|t| t.state == pb::TaskState::Success as i32)
        },
    )
    .await;
    assert_eq!(done.attempts, 2, "{done:?}");
    assert_ne!(done.worker, first.worker);

    tracing::info!("--- the dead worker's late ack is refused");
    match client.ack(&id, first.delivery, b"late".to_vec()).await {
        Err(qraft_proto::ClientError::StaleLease(_)) => {}
        other => panic!("a late ack must be refused as stale, got {other:?}"),
    }
    let task = client.get_task(&id, true).await.expect("task");
    assert_eq!(
        task.result,
        br#"{"slept_ms":1500}"#.to_vec(),
        "the late ack changed nothing"
    );
    cluster.must_not_have_panicked();
}

/// Submits a `builtin.sleep` and waits until a node's pool runs it: (id, the task, that node).
async fn start_sleep(client: &qraft_proto::Client, args: &[u8], timeout_ms: u64) -> (String, pb::Task, u64) {
    let id = client
        .submit(pb::TaskSpec {
            name: "builtin.sleep".into(),
            args: args.to_vec(),
            timeout_ms,
            ..Default::default()
        })
        .await
        .expect("submit")
        .id;
    let (task, _) = wait_for("the sleep to start", Duration::from_secs(15), || async {
        client
            .get_task(&id, true)
            .await
            .ok()
            .filter(|t| t.state == pb::TaskState::Started as i32)
    })
    .await;
    let node = task.worker.trim_start_matches("node").parse().expect("node id");
    (id, task, node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pools_queues_take_turns_so_a_low_priority_task_does_not_wait_behind_another_queue() {
    let cluster = TestCluster::start(1, &["--worker-queues", "busy,quiet", "--concurrency", "1"]);
    cluster.wait_for_leader(&[1], Duration::from_secs(15)).await;
    let client = cluster.client(&[1]);
    let task = |queue: &str, name: &str, priority: u32| pb::TaskSpec {
        name: name.into(),
        queue: queue.into(),
        args: br#"{"ms":50}"#.to_vec(),
        priority,
        ..Default::default()
    };
    // One entry: every task is ready at the same moment, for a pool with one slot.
    let mut specs: Vec<pb::TaskSpec> = (0..12).map(|_| task("busy", "builtin.sleep", 9)).collect();
    specs.push(task("quiet", "builtin.noop", 0));
    let ids: Vec<String> = client
        .submit_batch(specs)
        .await
        .expect("submit")
        .into_iter()
        .map(|answer| answer.id)
        .collect();

    let mut finished = Vec::new();
    for id in &ids {
        let (done, _) = wait_for("every task to finish", Duration::from_secs(30), || async {
            client
                .get_task(id, true)
                .await
                .ok()
                .filter(|t| t.state == pb::TaskState::Success as i32)
        })
        .await;
        finished.push(done.finished_at_ms);
    }
    let quiet = finished.pop().expect("the quiet task");
    let busy_before = finished.iter().filter(|at| **at < quiet).count();
    assert!(
        busy_before <= 1,
        "the priority-0 task of queue quiet ran after {busy_before} priority-9 tasks of queue busy: \
         the queues did not take turns"
    );
    cluster.must_not_have_panicked();
}
