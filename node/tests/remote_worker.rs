//! A remote worker that speaks only to a follower: it long-polls for work, answers in batches
//! (ack, fail with its own retry delay, release), and the producer waits for results on another
//! follower. Queues say when their tasks have no worker.

use std::time::{Duration, Instant};

use qraft_proto::pb;

use crate::util::{Cli, TestCluster, wait_for};

fn lease(max: u32, wait_ms: u64) -> pb::LeaseRequest {
    pb::LeaseRequest {
        worker_id: "remote-1".into(),
        queues: vec!["remote".into()],
        names: vec!["py.add".into()],
        max,
        lease_ms: 30_000,
        wait_ms,
        ..Default::default()
    }
}

fn task(i: u32) -> pb::TaskSpec {
    pb::TaskSpec {
        name: "py.add".into(),
        queue: "remote".into(),
        args: format!("{{\"args\":[{i}]}}").into_bytes(),
        max_retries: 1,
        idempotency_key: format!("remote-{i}"),
        ..Default::default()
    }
}

fn answer(leased: &pb::LeasedTask, outcome: pb::answer::Outcome) -> pb::Answer {
    pb::Answer {
        id: leased.id.clone(),
        delivery: leased.delivery,
        outcome: Some(outcome),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_worker_long_polls_and_answers_in_batches_through_followers() {
    // No node runs tasks itself: only the remote worker does.
    let cluster = TestCluster::start(3, &["--no-worker"]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let followers: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    let worker = cluster
        .client(&[followers[0]])
        .with_timeout(Duration::from_secs(10));
    let producer = cluster.client(&[followers[1]]);
    let cli = Cli::of(&cluster);

    tracing::info!("--- a queue with tasks and no worker says so");
    let first = producer.submit(task(0)).await.expect("submit");
    let queues = cli.text(&["queues"]);
    assert!(
        queues.contains("warning: queue remote: 1 waiting task(s) and no worker consumes it"),
        "{queues}"
    );
    tracing::info!("--- a node's own pool's id is not a remote worker's to take");
    let taken = worker
        .register_worker(pb::RegisterRequest {
            worker_id: format!("node{leader}"),
            node: "laptop".into(),
            queues: vec!["remote".into()],
            names: vec![],
            concurrency: 1,
        })
        .await
        .expect_err("refused");
    assert!(
        taken
            .to_string()
            .contains("reserved for a node's own worker pool"),
        "{taken}"
    );
    let mut as_a_node = lease(1, 0);
    as_a_node.worker_id = format!("node{}", followers[0]);
    let taken = worker.lease(as_a_node).await.expect_err("refused");
    assert!(taken.to_string().contains("reserved"), "{taken}");

    worker
        .register_worker(pb::RegisterRequest {
            worker_id: "remote-1".into(),
            node: "laptop".into(),
            queues: vec!["remote".into()],
            names: vec!["py.other".into()],
            concurrency: 4,
        })
        .await
        .expect("register");
    let queues = cli.json(&["queues"]);
    let remote = queues
        .as_array()
        .and_then(|q| q.iter().find(|q| q["name"] == "remote"))
        .expect("queue listed")
        .clone();
    assert_eq!(remote["consumers"], 1, "{remote}");
    assert_eq!(remote["unhandled"][0]["name"], "py.add", "{remote}");
    assert!(
        cli.text(&["queues"])
            .contains("1 waiting task(s) named py.add that no worker of the queue declares")
    );

    tracing::info!("--- a wait on a follower sees the result of an ack sent to the other");
    let leased = worker.lease(lease(4, 2_000)).await.expect("lease");
    assert_eq!(leased.len(), 1);
    let waiter = {
        let producer = producer.clone();
        let id = first.id.clone();
        tokio::spawn(async move { producer.wait(&id, 10_000).await })
    };
    let results = worker
        .answer_batch(vec![answer(
            &leased[0],
            pb::answer::Outcome::Result(b"1".to_vec()),
        )])
        .await
        .expect("answer");
    assert_eq!(results[0].refusal, pb::AnswerRefusal::AnswerTaken as i32);
    let waited = waiter.await.expect("join").expect("wait on a follower");
    assert!(waited.finished);
    assert_eq!(waited.task.expect("task").result, b"1");

    tracing::info!("--- an idle long poll answers empty after its wait, having written nothing");
    // The leader's own notes (every member holding the log) are written by now, so the log
    // is quiet but for what the poll itself would propose.
    wait_for(
        "every member recorded as active",
        Duration::from_secs(10),
        || async {
            let status = cluster.status(leader).await?;
            (status.active_members.len() == 3).then_some(())
        },
    )
    .await;
    let applied_before = cluster.status(leader).await.expect("status").applied_index;
    let started = Instant::now();
    assert!(worker.lease(lease(4, 500)).await.expect("lease").is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
    let applied_after = cluster.status(leader).await.expect("status").applied_index;
    assert!(
        applied_after <= applied_before + 1,
        "an idle long poll proposed leases: {applied_before} -> {applied_after}"
    );

    tracing::info!("--- a long poll is woken by a submit");
    let poll = {
        let worker = worker.clone();
        tokio::spawn(async move { worker.lease(lease(4, 8_000)).await })
    };
    let ids: Vec<String> = producer
        .submit_batch((1..=3).map(task).collect())
        .await
        .expect("submit")
        .into_iter()
        .map(|r| r.id)
        .collect();
    let started = Instant::now();
    let mut leased = poll.await.expect("join").expect("lease");
    while leased.len() < 3 {
        leased.extend(worker.lease(lease(4, 2_000)).await.expect("lease"));
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken late: {:?}",
        started.elapsed()
    );

    tracing::info!("--- one batch: an ack, a failure retried after 200 ms, a release, and a bad id");
    let by_id = |id: &str| leased.iter().find(|t| t.id == id).expect("leased").clone();
    let (ack, fail, release) = (by_id(&ids[0]), by_id(&ids[1]), by_id(&ids[2]));
    let results = worker
        .answer_batch(vec![
            answer(&ack, pb::answer::Outcome::Result(b"2".to_vec())),
            answer(
                &fail,
                pb::answer::Outcome::Failure(pb::Failure {
                    error: "try again".into(),
                    no_retry: false,
                    retry_in_ms: Some(200),
                }),
            ),
            answer(&release, pb::answer::Outcome::Release(pb::HandBack {})),
            pb::Answer {
                id: "not-an-id".into(),
                delivery: 1,
                outcome: Some(pb::answer::Outcome::Result(Vec::new())),
            },
        ])
        .await
        .expect("answers");
    let refusals: Vec<i32> = results.iter().map(|r| r.refusal).collect();
    let taken = pb::AnswerRefusal::AnswerTaken as i32;
    assert_eq!(
        refusals,
        vec![taken, taken, taken, pb::AnswerRefusal::AnswerInvalid as i32]
    );
    let states: Vec<i32> = results.iter().take(3).map(|r| r.state).collect();
    assert_eq!(
        states,
        vec![
            pb::TaskState::Success as i32,
            pb::TaskState::Retry as i32,
            pb::TaskState::Pending as i32
        ]
    );
    tracing::info!("--- a resent answer is refused as stale: it was taken");
    let resent = worker
        .answer_batch(vec![answer(&ack, pb::answer::Outcome::Result(b"2".to_vec()))])
        .await
        .expect("resend");
    assert_eq!(resent[0].refusal, pb::AnswerRefusal::AnswerStaleLease as i32);

    tracing::info!("--- the released task and the retry (after its 200 ms) come back");
    let (again, _) = wait_for("the released and retried tasks", Duration::from_secs(10), || {
        let worker = worker.clone();
        async move {
            let got = worker.lease(lease(4, 1_000)).await.ok()?;
            (!got.is_empty()).then_some(got)
        }
    })
    .await;
    let mut again: Vec<pb::LeasedTask> = again;
    while again.len() < 2 {
        again.extend(worker.lease(lease(4, 2_000)).await.expect("lease"));
    }
    let mut back: Vec<&str> = again.iter().map(|t| t.id.as_str()).collect();
    back.sort_unstable();
    let mut expected = vec![ids[1].as_str(), ids[2].as_str()];
    expected.sort_unstable();
    assert_eq!(back, expected);
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_whose_answer_was_lost_hands_its_tasks_to_the_next_one_that_says_so() {
    let cluster = TestCluster::start(3, &["--no-worker"]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let follower = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    // Through a follower: what it reads must include every answer the leader gave.
    let worker = cluster.client(&[follower]).with_timeout(Duration::from_secs(10));
    let producer = cluster.client(&[leader]);
    producer
        .submit_batch((10..13).map(task).collect())
        .await
        .expect("submit");
    let recover = |held: &[&pb::LeasedTask]| pb::LeaseRequest {
        recover: true,
        held: held.iter().map(|t| t.id.clone()).collect(),
        ..lease(4, 0)
    };
    let by_id = |mut tasks: Vec<pb::LeasedTask>| {
        tasks.sort_by(|a, b| a.id.cmp(&b.id));
        tasks
    };

    tracing::info!("--- two tasks leased, and the answer lost: a plain lease gets the third");
    let lost = by_id(worker.lease(lease(2, 2_000)).await.expect("lease"));
    assert_eq!(lost.len(), 2);
    let third = worker.lease(lease(4, 2_000)).await.expect("lease");
    assert_eq!(third.len(), 1);

    tracing::info!("--- told what the worker holds, the next lease hands out what it does not");
    let again = by_id(worker.lease(recover(&[&third[0]])).await.expect("recover"));
    assert_eq!(
        again, lost,
        "the lost answer's tasks: deliveries, deadlines, args"
    );
    let one_held = worker
        .lease(recover(&[&third[0], &lost[0]]))
        .await
        .expect("recover");
    assert_eq!(one_held, lost[1..]);

    tracing::info!("--- once all are answered, nothing is handed out twice");
    let everything: Vec<pb::Answer> = lost
        .iter()
        .chain(&third)
        .map(|t| answer(t, pb::answer::Outcome::Result(b"0".to_vec())))
        .collect();
    let results = worker.answer_batch(everything).await.expect("answers");
    assert!(
        results
            .iter()
            .all(|r| r.refusal == pb::AnswerRefusal::AnswerTaken as i32),
        "{results:?}"
    );
    assert!(worker.lease(recover(&[])).await.expect("recover").is_empty());

    tracing::info!("--- a held id that is no task id is refused");
    let bad = pb::LeaseRequest {
        held: vec!["not-an-id".into()],
        ..recover(&[])
    };
    let refused = worker.lease(bad).await.expect_err("refused");
    assert!(refused.to_string().contains("not-an-id"), "{refused}");
    cluster.must_not_have_panicked();
}
