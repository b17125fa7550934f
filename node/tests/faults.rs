//! Faults of the machine under a node, not of the network: a disk that stops taking writes.
//! A node that can no longer write must exit non-zero (so a supervisor sees it) instead of
//! lingering, serving stale reads.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qraft_proto::{Client, pb};

use crate::util::{QRAFT, free_port, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_disk_refuses_writes_exits_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.path().join("node.log")).expect("log");
    // Files of this process may not grow past 4 MiB (`ulimit -f`): writes beyond fail with
    // EFBIG, as on a failing or full disk. SIGXFSZ is ignored, so the write fails instead of
    // killing the process; both settings are inherited through exec.
    let script = format!(
        "trap '' XFSZ; ulimit -f 8192; exec {QRAFT} node --id 1 --listen {addr} --peers 1@{addr} \
         --data {} --no-worker",
        dir.path().join("n1").display()
    );
    let mut node = Command::new("sh")
        .args(["-c", &script])
        .env("RUST_LOG", "info,openraft=warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the node");
    let client = Client::new([addr.as_str()])
        .expect("client")
        .with_timeout(Duration::from_secs(2));
    wait_for("the node to lead", Duration::from_secs(20), || async {
        let status = client.node_status(&addr).await.ok()?;
        (status.role == pb::NodeRole::Leader as i32).then_some(())
    })
    .await;

    tracing::info!("--- fill the WAL past the file size limit");
    let started = Instant::now();
    let mut accepted = 0;
    let exit = loop {
        if let Some(status) = node.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the node kept running after its disk refused writes ({accepted} tasks accepted)"
        );
        let spec = pb::TaskSpec {
            name: "fill".into(),
            args: vec![b'x'; 256 * 1024],
            ..Default::default()
        };
        if client.submit(spec).await.is_ok() {
            accepted += 1;
        }
    };
    assert!(!exit.success(), "exit status {exit:?}");
    assert!(accepted < 32, "{accepted} tasks of 256 KiB fit in 4 MiB files");
    let text = std::fs::read_to_string(dir.path().join("node.log")).expect("log");
    assert!(
        text.contains("fatal error") && !text.contains("panicked"),
        "the node says why it stopped: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_free_disk_watermark_new_tasks_are_refused_and_the_rest_goes_on() {
    // A watermark no disk meets: every node is "full".
    let cluster = crate::util::TestCluster::start(3, &["--min-free-disk-bytes", "18000000000000000000"]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(20)).await;
    let client = cluster.client(&[leader]);
    let refused = client
        .submit(pb::TaskSpec {
            name: "fill".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    let message = refused.to_string();
    assert!(
        message.contains("watermark") && message.contains("--min-free-disk-bytes"),
        "the refusal says which limit and what to do: {message}"
    );
    assert!(
        client.list_queues(true).await.is_ok(),
        "reads and other calls go on"
    );
    client
        .pause_queue("default")
        .await
        .expect("writes that add nothing go on");
    cluster.must_not_have_panicked();
}

/// libfaketime, which scripts/setup.sh installs (Debian's `faketime`).
fn libfaketime() -> String {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
        "/usr/lib/faketime/libfaketimeMT.so.1",
    ];
    candidates
        .iter()
        .find(|path| std::path::Path::new(path).exists())
        .map(|path| path.to_string())
        .unwrap_or_else(|| panic!("libfaketime is missing: run scripts/setup.sh (it installs faketime)"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_clock_jumps_ahead_neither_drags_cluster_time_nor_keeps_leading() {
    let mut cluster = crate::util::TestCluster::prepare(3, &[]);
    let lib = libfaketime();
    for id in 1..=3u64 {
        // Each node's wall clock is shifted by what its file says; monotonic time is real.
        let file = cluster.dir.path().join(format!("n{id}.clock"));
        std::fs::write(&file, "+0").expect("clock file");
        cluster.node_env.insert(
            id,
            vec![
                ("LD_PRELOAD".into(), lib.clone()),
                ("FAKETIME_TIMESTAMP_FILE".into(), file.display().to_string()),
                ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
                ("FAKETIME_NO_CACHE".into(), "1".into()),
            ],
        );
        cluster.start_node(id);
    }
    let client = cluster.client(&[1, 2, 3]);
    client
        .submit(crate::util::spec("builtin.noop"))
        .await
        .expect("submit");
    // A settled leader: it has recorded every member as holding the log.
    let (leader, _) = wait_for("a settled leader", Duration::from_secs(20), || async {
        let id = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(5)).await;
        let status = cluster.status(id).await?;
        (status.active_members.len() == 3).then_some(id)
    })
    .await;

    tracing::info!("--- the leader's wall clock steps ten minutes ahead");
    std::fs::write(cluster.dir.path().join(format!("n{leader}.clock")), "+600").expect("step");
    let (new_leader, _) = wait_for("another node to lead", Duration::from_secs(30), || async {
        let id = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(5)).await;
        (id != leader).then_some(id)
    })
    .await;

    let log = std::fs::read_to_string(&cluster.nodes[&leader].log).expect("log");
    assert!(
        log.contains("far from its voters'"),
        "node {leader} handed leadership to node {new_leader} because of its clock"
    );
    let skew = crate::util::wait_for_event(
        &client,
        &cluster.addr(new_leader),
        "the skew",
        |kind| match kind {
            qraft_proto::pb::event::Kind::Clock(skew) if skew.node == leader => Some(*skew),
            _ => None,
        },
    )
    .await;
    assert!(
        skew.skew_ms > 500_000 && !skew.in_step,
        "node {leader}'s clock is ten minutes ahead: {skew:?}"
    );
    tracing::info!("--- cluster time went on at the pace of real time, not ten minutes ahead");
    client
        .submit(crate::util::spec("builtin.noop"))
        .await
        .expect("submit under the new leader");
    let cluster_ms = client.list_workers().await.expect("workers").now_ms;
    let real_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    assert!(
        cluster_ms < real_ms + 30_000,
        "cluster time is {} s ahead of real time after node {leader}'s clock jumped (node {new_leader} leads now)",
        (cluster_ms - real_ms) / 1000
    );
    cluster.must_not_have_panicked();
}
