//! Every client command of the `qraft` binary against a real cluster, in text and JSON.

use std::time::Duration;

use qraft_proto::pb;
use serde_json::Value;

use crate::util::{Cli, TestCluster, spec, wait_for};

fn states(tasks: &Value) -> Vec<String> {
    tasks
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["state"].as_str().expect("state").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_command_works_against_a_cluster() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);

    let submitted = cli.json(&[
        "submit",
        "mail.send",
        "--args",
        r#"{"to":"ada"}"#,
        "--queue",
        "mail",
        "--priority",
        "7",
    ]);
    assert_eq!(submitted["state"], "PENDING");
    let id = submitted["id"].as_str().expect("id").to_string();
    assert_eq!(
        cli.text(&["submit", "mail.send", "--queue", "mail"]).trim().len(),
        26,
        "text mode prints the id"
    );

    let task = cli.json(&["task", &id]);
    for field in [
        "id",
        "name",
        "queue",
        "state",
        "priority",
        "attempts",
        "worker",
        "args",
        "result",
        "error",
        "eta",
        "expires",
        "created_at",
        "started_at",
        "finished_at",
    ] {
        assert!(task.get(field).is_some(), "task JSON lacks {field}: {task}");
    }
    assert_eq!(
        (task["name"].as_str(), task["priority"].as_u64()),
        (Some("mail.send"), Some(7))
    );
    assert_eq!(task["args"]["to"], "ada");
    assert!(cli.text(&["task", &id]).contains("mail.send"));

    let later = cli.json(&[
        "submit",
        "report",
        "--countdown",
        "1h",
        "--expires",
        "2h",
        "--max-retries",
        "3",
        "--retry-delay",
        "2s",
        "--timeout",
        "30s",
    ]);
    assert_eq!(later["state"], "SCHEDULED");
    let keyed = cli.json(&["submit", "once", "--idempotency-key", "order-1"]);
    let again = cli.json(&["submit", "once", "--idempotency-key", "order-1"]);
    assert_eq!(keyed["id"], again["id"], "same key, same task");

    let listed = cli.json(&["tasks", "--queue", "mail"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert_eq!(
        states(&cli.json(&["tasks", "--state", "SCHEDULED"])),
        vec!["SCHEDULED"]
    );
    assert!(cli.text(&["tasks", "--name", "report"]).contains("report"));

    let queues = cli.json(&["queues"]);
    let mail = queues
        .as_array()
        .expect("array")
        .iter()
        .find(|q| q["name"] == "mail")
        .expect("mail queue")
        .clone();
    assert_eq!(mail["ready"], 2);
    assert_eq!(mail["enqueued_total"], 2);
    assert!(mail["enqueued_per_s"].is_number());
    cli.json(&["pause", "mail"]);
    let paused = cli.json(&["queues"]);
    assert!(
        paused
            .as_array()
            .expect("array")
            .iter()
            .any(|q| q["name"] == "mail" && q["paused"] == true)
    );
    cli.json(&["resume", "mail"]);

    let status = cli.json(&["status"]);
    let nodes = status["nodes"].as_array().expect("nodes");
    assert!(!nodes.is_empty());
    for node in nodes {
        assert!(node["committed_index"].as_u64().is_some_and(|c| c > 0), "{node}");
        assert!(
            node["lag"].is_u64(),
            "the leader reports every member's lag: {node}"
        );
    }
    assert!(cli.text(&["queues"]).contains("mail"));

    let revoked = cli.json(&["revoke", &id]);
    assert_eq!(revoked["state"], "REVOKED");
    let waited = cli.run(&["wait", &id, "--timeout", "5s", "--json"]);
    assert_eq!(
        waited.status.code(),
        Some(1),
        "a revoked task is finished, not successful"
    );
    let unfinished = cli.run(&["wait", later["id"].as_str().expect("id"), "--timeout", "300ms"]);
    assert_eq!(
        unfinished.status.code(),
        Some(3),
        "still scheduled when the wait ends"
    );
    let timed_out = cli.run(&["submit", "never.runs", "--wait", "300ms"]);
    assert_eq!(timed_out.status.code(), Some(3));

    let purged = cli.json(&["purge", "mail"]);
    assert_eq!(purged["count"], 1);

    // A dead letter: lease and fail it through the worker protocol.
    let client = cluster.client(&[1, 2, 3]);
    let dead_id = cli.json(&["submit", "doomed", "--queue", "jobs"])["id"]
        .as_str()
        .expect("id")
        .to_string();
    kill(&client, &dead_id, "it broke").await;
    let dead = cli.json(&["dead"]);
    assert_eq!(states(&dead), vec!["FAILURE"]);
    assert_eq!(dead[0]["error"], "it broke");
    assert!(cli.text(&["dead", "--queue", "jobs"]).contains("it broke"));
    assert_eq!(cli.json(&["dead", "retry", &dead_id])["count"], 1);
    assert_eq!(cli.json(&["task", &dead_id])["state"], "PENDING");
    kill(&client, &dead_id, "still broken").await;
    assert_eq!(cli.json(&["dead", "retry", "--all"])["count"], 1);
    kill(&client, &dead_id, "gone").await;
    assert_eq!(cli.json(&["dead", "purge"])["count"], 1);
    assert!(cli.json(&["dead"]).as_array().is_some_and(Vec::is_empty));

    // Bad input is refused with a message, not a panic.
    let bad = cli.run(&["submit", "bad name"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid argument"));
    let bad = cli.run(&["submit", "x", "--countdown", "soon"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a duration"));
    cluster.must_not_have_panicked();
}

/// Leases the only task of queue `jobs` (which must be `id`) and fails it for good.
async fn kill(client: &qraft_proto::Client, id: &str, error: &str) {
    let leased = client
        .lease(qraft_proto::pb::LeaseRequest {
            worker_id: "cli-test".into(),
            queues: vec!["jobs".into()],
            max: 1,
            ..Default::default()
        })
        .await
        .expect("lease");
    assert_eq!(leased.first().map(|t| t.id.as_str()), Some(id));
    client
        .fail(id, leased[0].delivery, error, false)
        .await
        .expect("fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_modes_measure_what_they_say() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);

    let submit = cli.json(&["bench", "submit", "-n", "200", "-c", "4", "-b", "10"]);
    assert_eq!(
        (submit["mode"].as_str(), submit["tasks"].as_u64()),
        (Some("submit"), Some(200))
    );
    assert_eq!(submit["errors"], 0);

    // Every task must have run on some node's pool and been seen finishing.
    let e2e = cli.json(&["bench", "e2e", "-n", "300", "-c", "2", "-b", "50"]);
    assert_eq!(
        (e2e["tasks"].as_u64(), e2e["errors"].as_u64()),
        (Some(300), Some(0))
    );
    assert!(e2e["latency_ms"]["p50"].as_f64().is_some_and(|ms| ms > 0.0));
    let latency = cli.json(&["bench", "latency", "-n", "40", "-r", "200"]);
    assert_eq!(
        (latency["tasks"].as_u64(), latency["offered_per_s"].as_u64()),
        (Some(40), Some(200))
    );
    let finished = cli.json(&[
        "tasks", "--queue", "default", "--state", "SUCCESS", "--limit", "1000",
    ]);
    assert_eq!(finished.as_array().map(Vec::len), Some(340));

    // Tasks no worker can run never finish: the bench says so and fails.
    let stuck = cli.run(&[
        "bench",
        "e2e",
        "-n",
        "5",
        "--name",
        "nobody.runs.this",
        "--timeout",
        "2s",
    ]);
    assert!(!stuck.status.success());
    assert!(String::from_utf8_lossy(&stuck.stderr).contains("only 0 of 5 tasks finished"));
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_breakdown_times_every_stage_of_the_run_and_only_the_run() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);
    // Submits before the run must not count in its breakdown.
    cli.json(&["bench", "submit", "-n", "50", "-c", "1", "-b", "1"]);

    // Batches of 100, more than the leader's pool (8 slots) takes as they land: it leases the
    // rest with leases of its own, and the followers' pools help once a task is 20 ms old, their
    // leases and answers forwarded. Single submits would all be leased in their own entries.
    let output = cli.run(&[
        "bench",
        "e2e",
        "-n",
        "300",
        "-c",
        "2",
        "-b",
        "100",
        "--breakdown",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert_eq!(lines.len(), 2, "the run's figures, then its breakdown: {stdout}");
    assert_eq!(lines[0]["tasks"].as_u64(), Some(300));
    let stages = &lines[1]["breakdown"];
    assert_eq!(lines[1]["nodes"].as_u64(), Some(3));
    assert_eq!(
        stages["api_submit"]["count"].as_u64(),
        Some(3),
        "one per submit call of this run: {stages}"
    );
    for stage in [
        "propose_wait",
        "forward",
        "leader_write",
        "fsync",
        "replicate",
        "apply",
        "worker_lease",
        "task_run",
        "worker_answer",
    ] {
        let timed = &stages[stage];
        assert!(
            timed["count"].as_u64().is_some_and(|n| n > 0)
                && timed["p50_ms"].as_f64().is_some_and(|ms| ms > 0.0)
                && timed["mean_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{stage} was not timed: {stages}"
        );
    }

    let text = cli.text(&["bench", "submit", "-n", "20", "--breakdown"]);
    assert!(text.contains("where the time went"), "{text}");
    assert!(text.contains("leader_write"), "{text}");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_larger_than_grpcs_default_message_limit_runs_and_lists_whole() {
    let cluster = TestCluster::start(3, &["--max-payload-bytes", "8388608"]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let client = cluster.client(&[1, 2, 3]);
    // 5 MiB of args and, echoed, 5 MiB of result: one task is more than gRPC's default 4 MiB
    // message in each direction, and twice that once it has run.
    let text = "x".repeat(5 << 20);
    let mut big = spec("builtin.echo");
    big.args = serde_json::to_vec(&text).expect("json");
    let id = client.submit(big).await.expect("a 5 MiB task is accepted").id;
    wait_for("the big task to run", Duration::from_secs(60), || async {
        let task = client.get_task(&id, true).await.ok()?;
        (task.state == pb::TaskState::Success as i32).then_some(())
    })
    .await;

    let cli = Cli::of(&cluster);
    let task = cli.json(&["task", &id]);
    assert_eq!(task["result"].as_str().map(str::len), Some(text.len()));
    let listed = cli.run(&["tasks", "--json"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(states(&listed), vec!["SUCCESS"]);
    assert!(
        !String::from_utf8_lossy(&cli.run(&["tasks"]).stderr).contains("did not fit"),
        "one 10 MiB task fits in a reply"
    );
    cluster.must_not_have_panicked();
}

/// Whether process `pid` catches `signal` (its handler is installed): read from
/// `/proc/PID/status`, so a test signals a command only once it would be caught.
fn catches(pid: u32, signal: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_commands_and_the_demo_stop_at_once_on_a_signal_while_the_cluster_is_unreachable() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    // Nothing listens on port 1: every command retries for as long as its deadline lets it.
    let nowhere = "127.0.0.1:1";
    for (args, signal, code) in [
        (vec!["tasks", "--cluster", nowhere], Signal::SIGTERM, Some(130)),
        (
            vec!["submit", "x", "--wait", "--cluster", nowhere],
            Signal::SIGINT,
            Some(130),
        ),
        (vec!["demo", "--cluster", nowhere], Signal::SIGINT, Some(0)),
    ] {
        let mut child = std::process::Command::new(crate::util::QRAFT)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn qraft");
        let pid = child.id();
        wait_for(
            &format!("qraft {args:?} to catch {signal}"),
            Duration::from_secs(10),
            || async move { catches(pid, signal as i32).then_some(()) },
        )
        .await;
        kill(Pid::from_raw(pid as i32), signal).expect("signal");
        // Before, a command kept retrying for its whole deadline (30 s and more).
        let (status, _) = wait_for(&format!("qraft {args:?} to stop"), Duration::from_secs(5), || {
            let status = child.try_wait().expect("try_wait");
            async move { status }
        })
        .await;
        let mut stderr = String::new();
        if let Some(mut err) = child.stderr.take() {
            std::io::Read::read_to_string(&mut err, &mut stderr).expect("stderr");
        }
        assert_eq!(status.code(), code, "qraft {args:?}: {stderr}");
    }
}
