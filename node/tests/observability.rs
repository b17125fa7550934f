//! What operators watch, end to end on three real processes: the replicated event timeline
//! through a failover, Raft progress from the leader's view, queue rates and totals, the
//! Prometheus endpoint, and leadership transfer.

use std::io::{Read, Write};
use std::time::Duration;

use qraft_proto::pb;
use qraft_proto::pb::event::Kind;

use crate::util::{TestCluster, spec, wait_for};

const ELECTION: Duration = Duration::from_secs(15);

/// Reads events from `stream` until `wanted` matches one; returns every event read.
async fn read_until(
    stream: &mut tonic::Streaming<pb::Events>,
    what: &str,
    wanted: impl Fn(&pb::Event) -> bool,
) -> Vec<pb::Event> {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(batch) = stream.message().await.expect("event stream") {
            for event in batch.events {
                let done = wanted(&event);
                seen.push(event);
                if done {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "no event for {what}; saw {seen:?}");
    seen
}

fn elected(event: &pb::Event) -> Option<&pb::LeaderElected> {
    match &event.kind {
        Some(Kind::LeaderElected(elected)) => Some(elected),
        _ => None,
    }
}

/// `GET /metrics` over a bare HTTP/1.0 request; returns the body.
fn scrape(addr: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the metrics port");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: test\r\n\r\n")
        .expect("send the request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    assert!(
        response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"),
        "{response}"
    );
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_progress_and_metrics_follow_a_failover() {
    let mut cluster = TestCluster::start(3, &[]);
    let all = [1, 2, 3];
    let leader = cluster.wait_for_leader(&all, ELECTION).await;
    let followers: Vec<u64> = all.iter().copied().filter(|id| *id != leader).collect();

    tracing::info!("--- every node holds the same election event under the same number");
    let mut first_seq = None;
    for id in all {
        let mut events = cluster
            .client(&[id])
            .watch_events(&cluster.addr(id), 0)
            .await
            .expect("watch");
        let seen = read_until(&mut events, "the first election", |e| {
            elected(e).is_some_and(|x| x.node == leader)
        })
        .await;
        let seq = seen.last().map(|e| e.seq);
        assert_eq!(
            *first_seq.get_or_insert(seq),
            seq,
            "node {id} numbers events differently"
        );
    }

    tracing::info!("--- the leader reports its peers' progress");
    let status = wait_for(
        "the leader's view of both peers",
        Duration::from_secs(10),
        || async {
            let status = cluster.status(leader).await?;
            let acked = status
                .peers
                .iter()
                .filter(|p| p.last_ack_ms_ago.is_some())
                .count();
            (status.peers.len() == 2 && acked == 2).then_some(status)
        },
    )
    .await
    .0;
    assert!(status.committed_index > 0 && status.committed_index <= status.last_log_index);
    assert!(status.peers.iter().all(|p| p.has_matched && p.id != leader));
    assert!(status.unreachable.is_empty());
    let follower_status = cluster.status(followers[0]).await.expect("follower status");
    assert!(follower_status.peers.is_empty(), "only the leader reports peers");

    tracing::info!("--- tasks show in totals, rates and metrics");
    let client = cluster.client(&all);
    for _ in 0..20 {
        client.submit(spec("builtin.noop")).await.expect("submit");
    }
    let queue = wait_for(
        "20 tasks completed with a rate",
        Duration::from_secs(20),
        || async {
            let queues = client.list_queues(false).await.ok()?;
            let queue = queues.into_iter().find(|q| q.name == "default")?;
            (queue.completed_total == 20 && queue.completed_per_s > 0.0).then_some(queue)
        },
    )
    .await
    .0;
    assert_eq!((queue.enqueued_total, queue.failed_total), (20, 0));
    assert!(queue.enqueued_per_s > 0.0);
    let metrics = scrape(&cluster.nodes[&followers[0]].metrics);
    for wanted in [
        "qraft_raft_term ",
        &format!("qraft_raft_leader_id {leader}"),
        "qraft_raft_is_leader 0",
        "qraft_raft_committed_index ",
        "qraft_raft_applied_index ",
        "qraft_queue_tasks{queue=\"default\",state=\"SUCCESS\"} 20",
        "qraft_tasks_total{queue=\"default\",outcome=\"enqueued\"} 20",
        "qraft_tasks_total{queue=\"default\",outcome=\"completed\"} 20",
        "qraft_fsync_duration_seconds_bucket",
        "qraft_apply_duration_seconds_count",
        "qraft_task_run_duration_seconds_count 20",
        "qraft_workers 3",
    ] {
        assert!(
            metrics.contains(wanted),
            "no {wanted:?} in the metrics:\n{metrics}"
        );
    }
    let leader_metrics = scrape(&cluster.nodes[&leader].metrics);
    assert!(leader_metrics.contains("qraft_raft_is_leader 1"));
    assert!(leader_metrics.contains("qraft_raft_peer_lag{peer="));

    tracing::info!("--- kill -9 the leader: the election and the lost node are on the timeline");
    let watcher = followers[0];
    let mut events = cluster
        .client(&[watcher])
        .watch_events(&cluster.addr(watcher), first_seq.flatten().unwrap_or_default())
        .await
        .expect("watch");
    cluster.kill_node(leader);
    let seen = read_until(&mut events, "the new election", |e| {
        elected(e).is_some_and(|x| x.previous == leader)
    })
    .await;
    let election = seen.last().and_then(elected).cloned().expect("an election");
    assert!(followers.contains(&election.node));
    assert!(
        election.election_ms > 0 && election.election_ms < 10_000,
        "election took {} ms",
        election.election_ms
    );
    let seen = read_until(
        &mut events,
        "the old leader unreachable",
        |e| matches!(&e.kind, Some(Kind::Node(n)) if n.node == leader && !n.reachable),
    )
    .await;
    let last_seq = seen.last().map(|e| e.seq).unwrap_or_default();

    tracing::info!("--- another node continues the timeline after the last event seen");
    let other = followers[1];
    cluster
        .client(&[other])
        .pause_queue("default")
        .await
        .expect("pause");
    let mut resumed = cluster
        .client(&[other])
        .watch_events(&cluster.addr(other), last_seq)
        .await
        .expect("watch");
    let seen = read_until(&mut resumed, "the pause", |e| {
        matches!(&e.kind, Some(Kind::Queue(q)) if q.queue == "default" && q.action == pb::QueueAction::Paused as i32)
    })
    .await;
    assert_eq!(
        seen.first().map(|e| e.seq),
        Some(last_seq + 1),
        "a gap or a repeat: {seen:?}"
    );

    tracing::info!("--- the old leader comes back; then leadership moves on request");
    cluster.start_node(leader);
    read_until(
        &mut resumed,
        "the old leader back",
        |e| matches!(&e.kind, Some(Kind::Node(n)) if n.node == leader && n.reachable),
    )
    .await;
    let current = cluster.wait_for_leader(&all, ELECTION).await;
    let moved = cluster
        .client(&all)
        .transfer_leader(Some(leader))
        .await
        .expect("transfer leadership");
    assert_eq!(
        moved.leader_id, leader,
        "moved from {current} to the node asked for"
    );
    read_until(&mut resumed, "the transfer's election", |e| {
        elected(e).is_some_and(|x| x.node == leader && x.previous == current)
    })
    .await;
    tracing::info!(pause_ms = moved.pause_ms, "leadership transferred");
    cluster.must_not_have_panicked();
}
