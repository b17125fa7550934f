//! Bad start-up input gets a clear error and a non-zero exit, never a panic.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::util::{QRAFT, TestCluster, free_port};

fn qraft(args: &[&str]) -> Output {
    Command::new(QRAFT)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run qraft")
}

fn must_fail_with(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure, got success; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked:\n{stderr}");
}

const PEERS: &str = "1@127.0.0.1:17071,2@127.0.0.1:17072,3@127.0.0.1:17073";

#[test]
fn unknown_peer_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    must_fail_with(
        &qraft(&["node", "--id", "4", "--peers", PEERS, "--data", data]),
        "node id 4 is not in --peers",
    );
    // The same settings from the environment.
    let output = Command::new(QRAFT)
        .args(["node", "--data", data])
        .env("QRAFT_ID", "5")
        .env("QRAFT_PEERS", PEERS)
        .stdin(Stdio::null())
        .output()
        .expect("run qraft");
    must_fail_with(&output, "node id 5 is not in --peers");
}

#[test]
fn malformed_flags_and_config() {
    must_fail_with(&qraft(&["node", "--id", "abc"]), "invalid value 'abc'");
    must_fail_with(
        &qraft(&["node", "--id", "1", "--peers", "1@nowhere"]),
        "is not HOST:PORT",
    );
    must_fail_with(
        &qraft(&[
            "node",
            "--id",
            "1",
            "--peers",
            PEERS,
            "--election-timeout-ms",
            "800,400",
        ]),
        "MAX must be greater than MIN",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "id = 1\n[raft]\nheartbeat_ms = \"fast\"\n").expect("write config");
    must_fail_with(
        &qraft(&["node", "--config", config.to_str().expect("utf-8")]),
        "config file",
    );
    must_fail_with(
        &qraft(&["node", "--config", "/nonexistent/qraft.toml"]),
        "cannot read config file",
    );
}

#[test]
fn port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let peers = format!("1@{addr}");
    let data = dir.path().to_str().expect("utf-8 path");
    must_fail_with(
        &qraft(&["node", "--id", "1", "--peers", &peers, "--data", data]),
        "the address is in use",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_dir_of_another_node_or_cluster() {
    let cluster = TestCluster::start(1, &[]);
    cluster.wait_for_leader(&[1], Duration::from_secs(15)).await;
    let data = cluster.nodes[&1].data.clone();
    let _keep = stop_and_keep_dir(cluster);

    let data = data.to_str().expect("utf-8 path");
    let peers = format!("2@127.0.0.1:{}", free_port());
    must_fail_with(
        &qraft(&["node", "--id", "2", "--peers", &peers, "--data", data]),
        "belongs to node 1",
    );
    let peers = format!("1@127.0.0.1:{}", free_port());
    must_fail_with(
        &qraft(&[
            "node",
            "--id",
            "1",
            "--peers",
            &peers,
            "--data",
            data,
            "--cluster-name",
            "other",
        ]),
        "of cluster \"qraft\"",
    );
}

/// Stops the cluster's processes but hands its directory to the caller.
fn stop_and_keep_dir(mut cluster: TestCluster) -> tempfile::TempDir {
    let ids: Vec<u64> = cluster.nodes.keys().copied().collect();
    for id in ids {
        cluster.kill_node(id);
    }
    std::mem::replace(&mut cluster.dir, tempfile::tempdir().expect("tempdir"))
}
