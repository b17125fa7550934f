//! Changing the cluster while it works: grow 3 → 5 under load and shrink back to 3 (the leader
//! among the removed), replace a node whose data is gone by a new one, move leadership, and
//! refuse the changes that would lose quorum.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use qraft_proto::{Client, ClientError, RetryPolicy, pb};

use crate::util::{Cli, TestCluster, spec, wait_for};

/// Acknowledged submits of a producer, by key: when each was answered.
type Acks = BTreeMap<String, (String, Instant)>;

/// Submits keyed tasks until stopped, resending a key whose outcome is unknown.
async fn produce(client: Client, stop: Arc<AtomicBool>, acked: Arc<AtomicUsize>) -> Acks {
    let mut acks = Acks::new();
    let mut n = 0;
    let mut pending: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let key = pending.take().unwrap_or_else(|| {
            n += 1;
            format!("grow-{n}")
        });
        let mut task = spec("builtin.noop");
        task.idempotency_key = key.clone();
        match client.submit(task).await {
            Ok(response) => {
                acks.insert(key, (response.id, Instant::now()));
                acked.fetch_add(1, Ordering::Relaxed);
            }
            Err(ClientError::InvalidArgument(reason)) => panic!("submit refused: {reason}"),
            Err(_) => pending = Some(key),
        }
        // The load's pace: about 50 submits a second.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    acks
}

/// The longest time between two acknowledgements: how long writes stalled.
fn longest_pause(acks: &Acks) -> Duration {
    let mut times: Vec<Instant> = acks.values().map(|(_, at)| *at).collect();
    times.sort();
    times
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default()
}

async fn voters(cluster: &TestCluster, via: &[u64]) -> Option<Vec<u64>> {
    for id in via {
        if let Some(status) = cluster.status(*id).await
            && status.role == pb::NodeRole::Leader as i32
            && !status.membership_changing
        {
            return Some(status.members.iter().filter(|m| m.voter).map(|m| m.id).collect());
        }
    }
    None
}

async fn wait_for_voters(cluster: &TestCluster, via: &[u64], want: &[u64]) {
    wait_for(&format!("voters {want:?}"), Duration::from_secs(60), || async {
        voters(cluster, via)
            .await
            .filter(|found| found.as_slice() == want)
    })
    .await;
}

/// Every acknowledged task reaches SUCCESS on the cluster that remains.
async fn all_succeed(client: &Client, acks: &Acks) {
    for (key, (id, _)) in acks {
        wait_for(
            &format!("task {id} ({key}) to succeed"),
            Duration::from_secs(60),
            || async {
                let task = client.get_task(id, true).await.ok()?;
                (task.state == pb::TaskState::Success as i32).then_some(())
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grow_to_five_under_load_and_shrink_back_to_three_losing_nothing() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = cluster.client(&[1, 2, 3]).with_retry(RetryPolicy {
        deadline: Duration::from_secs(3),
        ..RetryPolicy::default()
    });
    let acked = Arc::new(AtomicUsize::new(0));
    let producer = tokio::spawn(produce(writer, stop.clone(), acked.clone()));
    // Each step happens under load: a hundred more submits acknowledged before it.
    let load = |what: &'static str| {
        let acked = acked.clone();
        async move {
            let target = acked.load(Ordering::Relaxed) + 100;
            wait_for(what, Duration::from_secs(30), || async {
                (acked.load(Ordering::Relaxed) >= target).then_some(())
            })
            .await;
        }
    };
    load("load before growing").await;

    tracing::info!("--- grow: nodes 4 and 5 join through node 1");
    cluster.start_joining_node(4, 1);
    wait_for_voters(&cluster, &[1, 2, 3], &[1, 2, 3, 4]).await;
    load("load after node 4").await;
    cluster.start_joining_node(5, 2);
    wait_for_voters(&cluster, &[1, 2, 3], &[1, 2, 3, 4, 5]).await;
    load("load after node 5").await;

    tracing::info!("--- shrink: remove the leader and one more original node");
    let all = [1, 2, 3, 4, 5];
    let admin = cluster.client(&all);
    let other = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("another node");
    for id in [leader, other] {
        let removed = admin.remove_node(id).await.expect("remove");
        assert!(removed.removed, "node {id}: {removed:?}");
        load("load after a removal").await;
    }
    let remaining: Vec<u64> = all
        .into_iter()
        .filter(|id| *id != leader && *id != other)
        .collect();
    wait_for_voters(&cluster, &remaining, &remaining).await;
    for id in [leader, other] {
        wait_for(
            &format!("node {id} to see itself removed"),
            Duration::from_secs(20),
            || async {
                let log = std::fs::read_to_string(&cluster.nodes[&id].log).ok()?;
                log.contains("removed from the cluster").then_some(())
            },
        )
        .await;
        cluster.stop_node(id, Duration::from_secs(20));
    }
    load("load after the removed nodes stopped").await;

    stop.store(true, Ordering::Relaxed);
    let acks = producer.await.expect("producer");
    let survivors = cluster.client(&remaining);
    all_succeed(&survivors, &acks).await;
    let pause = longest_pause(&acks);
    println!(
        "grow 3→5 and shrink to 3: {} tasks acknowledged, none lost; longest pause between acks {} ms",
        acks.len(),
        pause.as_millis()
    );
    // A change may cost at most one failover (the removed leader hands over first).
    assert!(pause < Duration::from_secs(5), "writes stalled for {pause:?}");

    let cli = Cli::of(&cluster);
    let members = cli.json(&["cluster", "members"]);
    let listed: Vec<u64> = members["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["id"].as_u64())
        .collect();
    assert_eq!(listed, remaining, "{members}");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_data_is_gone_is_replaced_by_a_new_one() {
    // Small snapshots and log: the new node must catch up from a snapshot.
    let mut cluster = TestCluster::start(3, &["--snapshot-every", "50", "--keep-logs", "10"]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let client = cluster.client(&[1, 2, 3]);
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(client.submit(spec("builtin.noop")).await.expect("submit").id);
    }

    tracing::info!("--- node 3's machine is lost with its data");
    cluster.kill_node(3);
    cluster.wipe_node(3);

    tracing::info!("--- node 4 replaces it");
    cluster.start_joining_node(4, 1);
    wait_for_voters(&cluster, &[1, 2], &[1, 2, 3, 4]).await;
    let cli = Cli::of(&cluster);
    let removed = cli.json(&["cluster", "remove-node", "3"]);
    assert_eq!(removed["removed"], true, "{removed}");
    wait_for_voters(&cluster, &[1, 2, 4], &[1, 2, 4]).await;

    let status = cluster.status(4).await.expect("node 4 answers");
    assert!(
        status.snapshot_index > 0,
        "node 4 caught up by snapshot: {status:?}"
    );
    let node4 = cluster.client(&[4]);
    for id in &ids {
        wait_for(
            &format!("task {id} on node 4"),
            Duration::from_secs(30),
            || async {
                let task = node4.get_task(id, false).await.ok()?;
                (task.state == pb::TaskState::Success as i32).then_some(())
            },
        )
        .await;
    }

    tracing::info!("--- the retired id cannot come back");
    let refused = client.add_node(3, &cluster.addr(3), 1_000).await;
    assert!(
        matches!(&refused, Err(ClientError::InvalidArgument(reason)) if reason.contains("never used again")),
        "{refused:?}"
    );
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_with_a_short_pause_and_unsafe_changes_are_refused() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);
    let target = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("another node");
    let moved = cli.json(&["cluster", "transfer-leader", &target.to_string()]);
    assert_eq!(moved["leader_id"], target, "{moved}");
    let pause_ms = moved["pause_ms"].as_u64().expect("pause");
    println!("leadership transfer: writes paused {pause_ms} ms");

    let client = cluster.client(&[1, 2, 3]);
    let used = client.add_node(9, &cluster.addr(leader), 1_000).await;
    assert!(
        matches!(&used, Err(ClientError::InvalidArgument(reason)) if reason.contains("already serves")),
        "{used:?}"
    );

    tracing::info!("--- with one node down, removing another would leave no majority");
    let down = [1, 2, 3]
        .into_iter()
        .find(|id| *id != target)
        .expect("a follower");
    cluster.kill_node(down);
    let survivors: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != down).collect();
    let live_follower = survivors
        .iter()
        .copied()
        .find(|id| *id != target)
        .expect("a follower");
    wait_for(
        "the leader to notice the dead node",
        Duration::from_secs(10),
        || async {
            let status = cluster.status(target).await?;
            status.unreachable.contains(&down).then_some(())
        },
    )
    .await;
    let client = cluster.client(&survivors);
    let refused = client.remove_node(live_follower).await;
    assert!(
        matches!(&refused, Err(ClientError::Status(status))
            if status.code() == tonic::Code::FailedPrecondition && status.message().contains("needed to commit")),
        "{refused:?}"
    );
    let voters_now = voters(&cluster, &survivors).await.expect("a leader");
    assert_eq!(voters_now, vec![1, 2, 3], "nothing changed");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_that_never_catches_up_can_be_removed_while_its_add_waits() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    // Nothing serves at this address (a mistyped one, say): the learner never catches up.
    let nowhere = format!("127.0.0.1:{}", crate::util::free_port());
    let adder = cluster.client(&[1, 2, 3]).with_timeout(Duration::from_secs(120));
    let add = tokio::spawn(async move { adder.add_node(4, &nowhere, 60_000).await });
    wait_for("node 4 added as a learner", Duration::from_secs(15), || async {
        let status = cluster.status(1).await?;
        status
            .members
            .iter()
            .any(|member| member.id == 4 && !member.voter)
            .then_some(())
    })
    .await;
    // The add holds no change while its learner catches up: removing the learner goes through
    // (it used to be refused as "in progress" for as long as the add waited).
    let removed = cluster
        .client(&[1, 2, 3])
        .remove_node(4)
        .await
        .expect("remove the learner that cannot catch up");
    assert!(removed.removed);
    let added = tokio::time::timeout(Duration::from_secs(30), add)
        .await
        .expect("the add ends once its learner is gone")
        .expect("the add task");
    assert!(
        matches!(&added, Err(ClientError::InvalidArgument(reason)) if reason.contains("removed while it caught up")),
        "{added:?}"
    );
    cluster.must_not_have_panicked();
}
