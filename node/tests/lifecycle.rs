//! Task semantics across a failover: states survive a leader `kill -9`, and a lease granted by
//! the old leader is acked on the new one (while its stale predecessor is refused).

use std::collections::BTreeMap;
use std::time::Duration;

use qraft_proto::{ClientError, pb};

use crate::util::{TestCluster, spec, wait_for};

const ELECTION: Duration = Duration::from_secs(15);

fn lease_request(queue: &str, max: u32) -> pb::LeaseRequest {
    pb::LeaseRequest {
        worker_id: "test-worker".into(),
        queues: vec![queue.into()],
        names: vec![],
        max,
        lease_ms: 60_000,
        wait_ms: 0,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_states_and_leases_survive_a_leader_kill() {
    let mut cluster = TestCluster::start(3, &[]);
    let all = [1, 2, 3];
    let leader = cluster.wait_for_leader(&all, ELECTION).await;
    let client = cluster.client(&all);
    let mut expected: BTreeMap<String, i32> = BTreeMap::new();

    tracing::info!("--- put tasks in every state");
    for _ in 0..5 {
        let id = client.submit(spec("pending")).await.expect("submit").id;
        expected.insert(id, pb::TaskState::Pending as i32);
    }
    let scheduled = pb::TaskSpec {
        countdown_ms: 3_600_000,
        ..spec("scheduled")
    };
    let id = client.submit(scheduled).await.expect("submit scheduled").id;
    expected.insert(id, pb::TaskState::Scheduled as i32);

    // Retries wait an hour, so the retrying task is still in RETRY after the failover.
    let on = |queue: &str, name: &str, max_retries: u32| pb::TaskSpec {
        queue: queue.into(),
        max_retries,
        retry_delay_ms: Some(3_600_000),
        ..spec(name)
    };
    client.submit(on("done", "succeeds", 0)).await.expect("submit");
    client.submit(on("retry", "retries", 3)).await.expect("submit");
    client.submit(on("running", "runs", 0)).await.expect("submit");
    let revoked = client
        .submit(on("revoked", "revoked", 0))
        .await
        .expect("submit")
        .id;

    let done = &client.lease(lease_request("done", 1)).await.expect("lease")[0];
    let answer = client
        .ack(&done.id, done.delivery, b"42".to_vec())
        .await
        .expect("ack");
    assert_eq!(answer.state, pb::TaskState::Success as i32);
    expected.insert(done.id.clone(), pb::TaskState::Success as i32);

    let retried = &client.lease(lease_request("retry", 1)).await.expect("lease")[0];
    let answer = client
        .fail(&retried.id, retried.delivery, "boom", false)
        .await
        .expect("fail");
    assert_eq!(answer.state, pb::TaskState::Retry as i32);
    expected.insert(retried.id.clone(), pb::TaskState::Retry as i32);

    let running = client.lease(lease_request("running", 1)).await.expect("lease")[0].clone();
    expected.insert(running.id.clone(), pb::TaskState::Started as i32);

    let answer = client.revoke(&revoked).await.expect("revoke");
    assert_eq!(answer.state, pb::TaskState::Revoked as i32);
    expected.insert(revoked, pb::TaskState::Revoked as i32);

    tracing::info!("--- kill -9 the leader");
    cluster.kill_node(leader);
    let survivors: Vec<u64> = all.iter().copied().filter(|id| *id != leader).collect();
    cluster.wait_for_leader(&survivors, ELECTION).await;
    let client = cluster.client(&survivors);
    for (id, state) in &expected {
        let task = client
            .get_task(id, true)
            .await
            .expect("task survives the failover");
        assert_eq!(task.state, *state, "task {id} ({}) changed state", task.name);
    }
    let done = client.get_task(&done.id, true).await.expect("done task");
    assert_eq!(done.result, b"42");

    tracing::info!("--- the old leader's lease is acked on the new leader");
    let answer = client
        .ack(&running.id, running.delivery, b"ok".to_vec())
        .await
        .expect("ack a lease granted by the old leader");
    assert_eq!(answer.state, pb::TaskState::Success as i32);
    match client.ack(&running.id, running.delivery, b"again".to_vec()).await {
        Err(ClientError::StaleLease(message)) => assert!(message.contains("SUCCESS"), "{message}"),
        other => panic!("a second ack must be refused as stale, got {other:?}"),
    }
    let (task, _) = wait_for(
        "the result on every survivor",
        Duration::from_secs(10),
        || async {
            let mut results = Vec::new();
            for id in &survivors {
                let task = cluster.client(&[*id]).get_task(&running.id, false).await.ok()?;
                (task.state == pb::TaskState::Success as i32).then_some(())?;
                results.push(task);
            }
            results.pop()
        },
    )
    .await;
    assert_eq!(task.result, b"ok");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_fire_without_traffic_and_late_acks_are_refused() {
    let cluster = TestCluster::start(3, &[]);
    let all = [1, 2, 3];
    cluster.wait_for_leader(&all, ELECTION).await;
    let client = cluster.client(&all);
    let state_of = |id: String| {
        let client = client.clone();
        async move { client.get_task(&id, true).await.ok().map(|t| t.state) }
    };

    tracing::info!("--- a countdown runs out with no other writes: the leader's tick releases it");
    let countdown = pb::TaskSpec {
        queue: "timers".into(),
        countdown_ms: 300,
        ..spec("later")
    };
    let id = client.submit(countdown).await.expect("submit").id;
    assert_eq!(state_of(id.clone()).await, Some(pb::TaskState::Scheduled as i32));
    wait_for(
        "the countdown to release the task",
        Duration::from_secs(10),
        || {
            let probe = state_of(id.clone());
            async move { probe.await.filter(|s| *s == pb::TaskState::Pending as i32) }
        },
    )
    .await;

    tracing::info!("--- a worker that dies holding a lease: the task comes back, its late ack is refused");
    let mut request = lease_request("timers", 1);
    request.lease_ms = 300;
    let first = client.lease(request.clone()).await.expect("lease")[0].clone();
    wait_for("the lease to expire", Duration::from_secs(10), || {
        let probe = state_of(id.clone());
        async move { probe.await.filter(|s| *s == pb::TaskState::Pending as i32) }
    })
    .await;
    request.lease_ms = 60_000;
    let second = client.lease(request).await.expect("lease again")[0].clone();
    assert_eq!(
        (second.id.as_str(), second.delivery),
        (first.id.as_str(), first.delivery + 1)
    );
    match client.ack(&first.id, first.delivery, b"late".to_vec()).await {
        Err(ClientError::StaleLease(message)) => assert!(message.contains("delivery 2"), "{message}"),
        other => panic!("the dead worker's late ack must be refused, got {other:?}"),
    }
    let answer = client
        .ack(&second.id, second.delivery, b"on time".to_vec())
        .await
        .expect("ack");
    assert_eq!(answer.state, pb::TaskState::Success as i32);
    let done = client.wait(&id, 5_000).await.expect("wait");
    assert!(done.finished);
    assert_eq!(done.task.map(|t| t.result), Some(b"on time".to_vec()));
    cluster.must_not_have_panicked();
}
