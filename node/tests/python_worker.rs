//! A worker in another language: the Python remote worker (workers/python) runs tasks against a
//! real cluster, through a leader kill, with stubs generated from the same .proto files.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use qraft_proto::pb;

use crate::util::{TestCluster, wait_for};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_worker_runs_tasks_through_a_leader_failover() {
    let stubs = tempfile::tempdir().expect("tempdir");
    let generated = Command::new("python3")
        .args(["-m", "grpc_tools.protoc", "-I", "proto"])
        .arg(format!("--python_out={}", stubs.path().display()))
        .arg(format!("--grpc_python_out={}", stubs.path().display()))
        .args([
            "proto/qraft/v1/tasks.proto",
            "proto/qraft/v1/worker.proto",
            "proto/qraft/v1/admin.proto",
        ])
        .current_dir(repo().join("proto"))
        .output()
        .expect("run python3 (scripts/setup.sh installs grpcio-tools)");
    assert!(
        generated.status.success(),
        "stub generation failed: {}",
        String::from_utf8_lossy(&generated.stderr)
    );

    // No node runs tasks itself: only the Python worker does.
    let mut cluster = TestCluster::start(3, &["--no-worker"]);
    let all = [1, 2, 3];
    let leader = cluster.wait_for_leader(&all, Duration::from_secs(15)).await;
    let client = cluster.client(&all);
    let specs: Vec<pb::TaskSpec> = (0..30)
        .map(|i| pb::TaskSpec {
            name: "py.upper".into(),
            queue: "py".into(),
            args: format!("task-{i}").into_bytes(),
            idempotency_key: format!("py-{i}"),
            ..Default::default()
        })
        .chain(std::iter::once(pb::TaskSpec {
            name: "py.fail".into(),
            queue: "py".into(),
            args: b"no such file".to_vec(),
            ..Default::default()
        }))
        .collect();
    let ids: Vec<String> = client
        .submit_batch(specs)
        .await
        .expect("submit")
        .into_iter()
        .map(|r| r.id)
        .collect();

    let addrs = all
        .iter()
        .map(|id| cluster.addr(*id))
        .collect::<Vec<_>>()
        .join(",");
    let worker = Command::new("python3")
        .arg(repo().join("workers/python/qraft_worker.py"))
        .args(["--stubs", &stubs.path().display().to_string()])
        .args(["--cluster", &addrs, "--worker-id", "py-test", "--queue", "py"])
        .args(["--delay-ms", "30", "--max-tasks", "31", "--deadline-s", "90"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python worker");

    tracing::info!("--- kill -9 the leader while the Python worker is busy");
    let probe = cluster.client(&all);
    wait_for(
        "the Python worker to finish a few tasks",
        Duration::from_secs(30),
        || async {
            let done = probe
                .list_tasks(pb::ListTasksRequest {
                    queue: "py".into(),
                    state: pb::TaskState::Success as i32,
                    limit: 100,
                    linearizable: true,
                    ..Default::default()
                })
                .await
                .ok()?
                .tasks;
            (done.len() >= 5).then_some(())
        },
    )
    .await;
    cluster.kill_node(leader);

    let output = tokio::task::spawn_blocking(move || worker.wait_with_output())
        .await
        .expect("join")
        .expect("Python worker output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the Python worker failed:\n{stderr}");

    tracing::info!("--- every task answered once, with the right result");
    let survivors: Vec<u64> = all.iter().copied().filter(|id| *id != leader).collect();
    let client = cluster.client(&survivors);
    for (i, id) in ids.iter().enumerate() {
        let task = client.get_task(id, true).await.expect("task");
        if i < 30 {
            assert_eq!(task.state, pb::TaskState::Success as i32, "task {i}: {task:?}");
            assert_eq!(task.result, format!("TASK-{i}").into_bytes());
            assert_eq!(task.worker, "py-test");
        } else {
            assert_eq!(task.state, pb::TaskState::Failure as i32);
            assert_eq!(task.error, "no such file");
        }
    }
    cluster.must_not_have_panicked();
}
