//! Admission control on real clusters: a queue at its cap and a cluster at its task cap refuse
//! submits at once and cleanly (gRPC RESOURCE_EXHAUSTED, HTTP 429, the CLI's failure), store
//! nothing, and the cluster serves every other queue meanwhile.

use std::time::Duration;

use qraft_proto::pb;
use serde_json::{Value, json};

use crate::util::{Cli, TestCluster, spec};

/// Submits a task of `name` to `queue` over gRPC.
async fn submit(client: &qraft_proto::Client, name: &str, queue: &str) -> Result<String, String> {
    client
        .submit(pb::TaskSpec {
            queue: queue.into(),
            ..spec(name)
        })
        .await
        .map(|r| r.id)
        .map_err(|e| e.to_string())
}

async fn count_in(client: &qraft_proto::Client, queue: &str) -> usize {
    client
        .list_tasks(pb::ListTasksRequest {
            queue: queue.into(),
            limit: 1_000,
            linearizable: true,
            ..Default::default()
        })
        .await
        .expect("list")
        .tasks
        .len()
}

/// One HTTP/1.1 exchange on `addr`, body as JSON if given: (status, body text).
async fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.expect("read");
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply[9..12].parse().expect("a status");
    let body = reply.split_once("\r\n\r\n").map(|(_, body)| body.to_owned());
    (status, body.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_and_a_full_cluster_refuse_cleanly_and_everything_else_goes_on() {
    let cluster = TestCluster::start(3, &["--no-worker", "--max-tasks", "6"]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let client = cluster.client(&[1, 2, 3]);
    let cli = Cli::of(&cluster);

    tracing::info!("--- a queue capped at 2 takes 2");
    let set = cli.json(&["limit", "set", "queue:mail", "max-length", "2"]);
    assert_eq!(
        set,
        json!({"scope": "queue:mail", "cap": "max-length", "value": 2})
    );
    for _ in 0..2 {
        submit(&client, "mail.send", "mail").await.expect("room for it");
    }

    tracing::info!("--- the third is refused at once, over gRPC, HTTP and the CLI");
    let started = std::time::Instant::now();
    let refused = submit(&client, "mail.send", "mail").await.expect_err("full");
    assert!(
        refused.contains("resource exhausted") || refused.contains("ResourceExhausted"),
        "{refused}"
    );
    assert!(
        refused.contains("queue \"mail\" is full")
            && refused.contains("qraft limit set queue:mail max-length"),
        "says which cap and how to raise it: {refused}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not retried: {:?}",
        started.elapsed()
    );
    let task = json!({"name": "mail.send", "queue": "mail"});
    let (status, problem) = http(&cluster.nodes[&leader].http, "POST", "/v1/tasks", Some(&task)).await;
    assert_eq!(status, 429, "{problem}");
    assert!(problem.contains("queue-full"), "{problem}");
    let output = cli.run(&["submit", "mail.send", "--queue", "mail"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is full"), "{stderr}");
    assert_eq!(count_in(&client, "mail").await, 2, "nothing half-written");

    tracing::info!("--- other queues are served meanwhile, up to the cluster's task cap");
    for _ in 0..4 {
        submit(&client, "report", "default").await.expect("another queue");
    }
    let refused = submit(&client, "report", "default")
        .await
        .expect_err("cluster full");
    assert!(
        refused.contains("6 tasks") && refused.contains("--max-tasks"),
        "{refused}"
    );
    assert_eq!(count_in(&client, "default").await, 4);

    tracing::info!("--- the caps and what is held are listed, and shown in /metrics");
    let listed = cli.json(&["limit", "list"]);
    assert_eq!(
        listed["caps"],
        json!([{"queue": "mail", "max_length": 2, "max_bytes": 0, "length": 2, "bytes": 14}]),
        "{listed}"
    );
    assert_eq!(listed["store"]["tasks"], 6, "{listed}");
    assert_eq!(listed["store"]["max_tasks"], 6, "{listed}");
    let (_, metrics) = http(&cluster.nodes[&leader].http, "GET", "/metrics", None).await;
    for line in [
        "qraft_stored_tasks 6",
        "qraft_stored_tasks_max 6",
        "qraft_queue_cap{queue=\"mail\",cap=\"max_length\",value=\"held\"} 2",
        "qraft_queue_cap{queue=\"mail\",cap=\"max_length\",value=\"max\"} 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line:?} in:\n{metrics}");
    }

    tracing::info!("--- removing the cap lets the queue grow again (within the cluster's cap)");
    let removed = cli.json(&["limit", "rm", "queue:mail"]);
    assert_eq!(removed["removed"], true, "{removed}");
    assert!(
        cli.json(&["limit", "list"])["caps"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_past_its_request_limit_sheds_at_once_while_raft_goes_on() {
    let cluster = TestCluster::start(3, &["--no-worker", "--max-requests", "2"]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let follower = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    let on_leader = cluster.client(&[leader]);
    on_leader
        .register_worker(pb::RegisterRequest {
            worker_id: "poller".into(),
            node: "test".into(),
            queues: vec!["idle".into()],
            concurrency: 2,
            names: vec![],
        })
        .await
        .expect("register");

    tracing::info!("--- two long polls take both of the leader's places");
    let polls: Vec<_> = (0..2)
        .map(|_| {
            let client = on_leader.clone();
            tokio::spawn(async move {
                client
                    .lease(pb::LeaseRequest {
                        worker_id: "poller".into(),
                        queues: vec!["idle".into()],
                        max: 1,
                        wait_ms: 30_000,
                        ..Default::default()
                    })
                    .await
            })
        })
        .collect();
    let leader_http = cluster.nodes[&leader].http.clone();
    let (refusal, _) = crate::util::wait_for("the leader to shed", Duration::from_secs(10), || {
        let leader_http = leader_http.clone();
        async move {
            let (status, body) = http(&leader_http, "GET", "/v1/queues", None).await;
            (status == 503).then_some(body)
        }
    })
    .await;
    assert!(
        refusal.contains("overloaded") && refusal.contains("--max-requests"),
        "{refusal}"
    );
    let started = std::time::Instant::now();
    let (status, _) = http(&leader_http, "GET", "/v1/status", None).await;
    assert_eq!(status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused at once, not queued"
    );

    tracing::info!("--- a write through a follower still commits: Raft is never shed");
    let on_follower = cluster.client(&[follower]);
    for _ in 0..2 {
        submit(&on_follower, "wake", "idle")
            .await
            .expect("forwarded to the leader");
    }
    let mut leased = 0;
    for poll in polls {
        match poll.await.expect("poll task") {
            Ok(tasks) => leased += tasks.len(),
            Err(e) => panic!("a long poll failed: {e}"),
        }
    }
    assert_eq!(leased, 2, "each poll was woken with a task");
    let (status, _) = http(&leader_http, "GET", "/v1/status", None).await;
    assert_eq!(status, 200, "places are given back once answered");
    cluster.must_not_have_panicked();
}

/// Five batches of 56 MB each, sent while a follower is down, leave it 280 MB of log behind:
/// more than one Raft message may carry (256 MiB). It catches up all the same, because a
/// replication read stops at a byte budget instead of sending 64 entries whatever their size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_further_behind_than_one_message_can_carry_catches_up() {
    let mut cluster = TestCluster::start(3, &["--no-worker"]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let behind = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    cluster.kill_node(behind);
    let up: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != behind).collect();
    // A 56 MB batch takes a while to write and replicate on this shared machine; keyed, so a
    // resend is safe.
    let client = cluster
        .client(&up)
        .with_timeout(Duration::from_secs(60))
        .with_retry(qraft_proto::RetryPolicy {
            deadline: Duration::from_secs(120),
            ..Default::default()
        });
    for batch in 0..5 {
        let tasks = (0..56)
            .map(|i| pb::TaskSpec {
                queue: "big".into(),
                args: vec![b'x'; 1_000_000],
                idempotency_key: format!("big-{batch}-{i}"),
                ..spec("big")
            })
            .collect();
        client.submit_batch(tasks).await.expect("a 56 MB batch");
    }
    let target = cluster
        .status(leader)
        .await
        .map(|status| status.last_log_index)
        .expect("the leader's log");

    tracing::info!("--- the follower comes back 280 MB behind");
    cluster.start_node(behind);
    let (_, took) = crate::util::wait_for("the follower to catch up", Duration::from_secs(120), || {
        let status = cluster.status(behind);
        async move {
            status
                .await
                .map(|status| status.applied_index)
                .filter(|applied| *applied >= target)
        }
    })
    .await;
    tracing::info!(?took, "caught up");
    let queues = cluster
        .client(&[behind])
        .list_queues(false)
        .await
        .expect("the follower's own view");
    let big = queues.iter().find(|q| q.name == "big").expect("queue big");
    assert_eq!(big.ready, 280, "the follower holds every task");
    cluster.must_not_have_panicked();
}
