//! Schedules and limits on real clusters: a schedule fires each due time once through a leader
//! kill and follows its misfire policy after a whole-cluster stop; a rate limit and a
//! concurrency key hold across every node's worker pool.

use std::collections::BTreeSet;
use std::time::Duration;

use qraft_proto::{Client, pb};

use crate::util::{Cli, TestCluster, wait_for};

/// Every run of `task` (newest first as listed): (due ms, created ms), read on the leader.
async fn runs(client: &Client, task: &str) -> Vec<(u64, u64)> {
    let tasks = client
        .list_tasks(pb::ListTasksRequest {
            name: task.into(),
            limit: 10_000,
            linearizable: true,
            ..Default::default()
        })
        .await
        .expect("list runs");
    let mut runs: Vec<(u64, u64)> = tasks
        .tasks
        .iter()
        .map(|t| {
            let due = t.headers["qraft-due-ms"].parse().expect("due header");
            (due, t.created_at_ms)
        })
        .collect();
    runs.sort();
    runs
}

async fn schedule(client: &Client, name: &str) -> pb::Schedule {
    let schedules = client.list_schedules(true).await.expect("list schedules");
    schedules
        .schedules
        .into_iter()
        .find(|s| s.spec.as_ref().is_some_and(|spec| spec.name == name))
        .expect("schedule listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_fires_each_due_time_once_through_a_leader_kill() {
    let mut cluster = TestCluster::start(3, &["--no-worker"]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);
    let added = cli.json(&[
        "schedule", "add", "beat", "--every", "500ms", "--task", "tick", "--queue", "beat",
    ]);
    assert_eq!(added["every_ms"], 500, "{added}");
    assert_eq!(added["replaced"], false);
    let client = cluster.client(&[1, 2, 3]);
    wait_for("four runs", Duration::from_secs(10), || async {
        (runs(&client, "tick").await.len() >= 4).then_some(())
    })
    .await;

    cluster.kill_node(leader);
    let survivors: Vec<u64> = [1, 2, 3].into_iter().filter(|id| *id != leader).collect();
    cluster.wait_for_leader(&survivors, Duration::from_secs(10)).await;
    let client = cluster.client(&survivors);
    let at_kill = runs(&client, "tick").await.len();
    wait_for("eight runs after the kill", Duration::from_secs(15), || async {
        (runs(&client, "tick").await.len() >= at_kill + 8).then_some(())
    })
    .await;

    let beat = schedule(&client, "beat").await;
    let dues: Vec<u64> = runs(&client, "tick")
        .await
        .into_iter()
        .map(|(due, _)| due)
        .collect();
    let distinct: BTreeSet<u64> = dues.iter().copied().collect();
    assert_eq!(distinct.len(), dues.len(), "a due time ran twice: {dues:?}");
    for pair in dues.windows(2) {
        assert_eq!(pair[1] - pair[0], 500, "a due time was missed: {dues:?}");
    }
    assert_eq!(beat.missed, 0);
    assert!(
        beat.runs >= dues.len() as u64,
        "{} runs, {} listed",
        beat.runs,
        dues.len()
    );
    let listed = cli.json(&["schedule", "list"]);
    assert_eq!(listed[0]["name"], "beat", "{listed}");
    cli.json(&["schedule", "pause", "beat"]);
    let paused = schedule(&client, "beat").await;
    assert!(paused.paused && paused.next_run_ms == 0);
    assert_eq!(cli.json(&["schedule", "rm", "beat"])["removed"], true);
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_schedule_fires_on_the_leaders_plan_and_again_after_a_resume() {
    let cluster = TestCluster::start(3, &["--no-worker"]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);
    cli.json(&[
        "schedule",
        "add",
        "paris",
        "--cron",
        "* * * * * *",
        "--tz",
        "Europe/Paris",
        "--task",
        "tock",
        "--queue",
        "beat",
    ]);
    let client = cluster.client(&[1, 2, 3]);
    wait_for("three cron runs", Duration::from_secs(10), || async {
        (runs(&client, "tock").await.len() >= 3).then_some(())
    })
    .await;
    cli.json(&["schedule", "pause", "paris"]);
    let before = runs(&client, "tock").await.len();
    cli.json(&["schedule", "resume", "paris"]);
    wait_for("a run after the resume", Duration::from_secs(10), || async {
        (runs(&client, "tock").await.len() > before).then_some(())
    })
    .await;
    let dues: Vec<u64> = runs(&client, "tock")
        .await
        .into_iter()
        .map(|(due, _)| due)
        .collect();
    assert!(
        dues.iter().all(|due| due % 1_000 == 0),
        "cron due times are whole seconds: {dues:?}"
    );
    let distinct: BTreeSet<u64> = dues.iter().copied().collect();
    assert_eq!(distinct.len(), dues.len(), "a due time ran twice: {dues:?}");
    assert!(schedule(&client, "paris").await.next_run_ms > 0, "planned again");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misfires_after_a_whole_cluster_stop_follow_the_policy() {
    let mut cluster = TestCluster::start(3, &["--no-worker"]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);
    for (name, misfire) in [("skipper", "skip"), ("catcher", "catch-up")] {
        cli.json(&[
            "schedule",
            "add",
            name,
            "--every",
            "500ms",
            "--task",
            name,
            "--misfire",
            misfire,
            "--catch-up-limit",
            "3",
            "--grace",
            "1s",
        ]);
    }
    let client = cluster.client(&[1, 2, 3]);
    wait_for("two runs of each", Duration::from_secs(10), || async {
        let skipped = runs(&client, "skipper").await.len();
        let caught = runs(&client, "catcher").await.len();
        (skipped >= 2 && caught >= 2).then_some(())
    })
    .await;
    for id in 1..=3 {
        assert!(
            cluster.stop_node(id, Duration::from_secs(20)),
            "node {id} stopped cleanly"
        );
    }
    // The outage under test: four seconds of due times pass with no node running.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for id in 1..=3 {
        cluster.start_node(id);
    }
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let client = cluster.client(&[1, 2, 3]);
    // Runs made late, more than the grace period after their due time: the catch-ups.
    let late = |runs: &[(u64, u64)]| runs.iter().filter(|(due, created)| created - due > 1_000).count();
    let (catcher, _) = wait_for("the catch-up runs", Duration::from_secs(15), || async {
        let runs = runs(&client, "catcher").await;
        (late(&runs) > 0).then_some(runs)
    })
    .await;
    assert_eq!(
        late(&catcher),
        3,
        "catch-up runs the latest 3 missed: {catcher:?}"
    );
    let skipper = runs(&client, "skipper").await;
    assert_eq!(late(&skipper), 0, "skip runs none of them: {skipper:?}");
    for name in ["skipper", "catcher"] {
        // Paused, so no run lands between reading the schedule's counts and its runs.
        cli.json(&["schedule", "pause", name]);
        let listed = schedule(&client, name).await;
        let runs = runs(&client, name).await;
        let (first, last) = (runs[0].0, runs[runs.len() - 1].0);
        let due_times = (last - first) / 500 + 1;
        assert_eq!(
            listed.runs + listed.missed,
            due_times,
            "{name}: every due time from the first run to the last is run or counted missed"
        );
        assert!(
            listed.missed >= 4,
            "{name}: four seconds down, {} missed",
            listed.missed
        );
        assert_eq!(runs.len() as u64, listed.runs, "{name}: one task per run");
    }
    cluster.must_not_have_panicked();
}

/// Cluster time at which each task of `name` started and finished, from the leader.
async fn spans(client: &Client, name: &str, expected: usize) -> Vec<(u64, u64)> {
    let (tasks, _) = wait_for(
        &format!("{expected} {name} tasks to succeed"),
        Duration::from_secs(60),
        || async {
            let tasks = client
                .list_tasks(pb::ListTasksRequest {
                    name: name.into(),
                    state: pb::TaskState::Success as i32,
                    limit: 10_000,
                    linearizable: true,
                    ..Default::default()
                })
                .await
                .ok()?
                .tasks;
            (tasks.len() == expected).then_some(tasks)
        },
    )
    .await;
    let mut spans: Vec<(u64, u64)> = tasks
        .iter()
        .map(|t| (t.started_at_ms, t.finished_at_ms))
        .collect();
    spans.sort();
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_and_a_concurrency_key_hold_across_every_nodes_pool() {
    let cluster = TestCluster::start(3, &[]);
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let cli = Cli::of(&cluster);
    cli.json(&["limit", "set", "task:builtin.noop", "10/s"]);
    let client = cluster.client(&[1, 2, 3]);
    let noops: Vec<pb::TaskSpec> = (0..40)
        .map(|i| pb::TaskSpec {
            name: "builtin.noop".into(),
            idempotency_key: format!("noop-{i}"),
            ..Default::default()
        })
        .collect();
    client.submit_batch(noops).await.expect("submit noops");
    let sleeps: Vec<pb::TaskSpec> = (0..12)
        .map(|i| pb::TaskSpec {
            name: "builtin.sleep".into(),
            args: br#"{"ms":300}"#.to_vec(),
            idempotency_key: format!("sleep-{i}"),
            concurrency_key: "customer-1".into(),
            concurrency_limit: 2,
            ..Default::default()
        })
        .collect();
    client.submit_batch(sleeps).await.expect("submit sleeps");

    let starts: Vec<u64> = spans(&client, "builtin.noop", 40)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    for window in starts.windows(11) {
        assert!(
            window[10] - window[0] >= 1_000,
            "11 starts within {} ms: {starts:?}",
            window[10] - window[0]
        );
    }
    let span_ms = starts[39] - starts[0];
    assert!(span_ms >= 3_000, "40 tasks at 10/s took only {span_ms} ms");
    eprintln!("rate limit 10/s: 40 starts over {span_ms} ms, never 11 within 1 s");

    let sleeps = spans(&client, "builtin.sleep", 12).await;
    let mut edges: Vec<(u64, i32)> = sleeps.iter().flat_map(|(s, f)| [(*s, 1), (*f, -1)]).collect();
    // At equal times an end comes first: the ack and the next lease may share a log entry.
    edges.sort_by_key(|(at, delta)| (*at, *delta));
    let mut running = 0;
    let mut most = 0;
    for (_, delta) in edges {
        running += delta;
        most = most.max(running);
    }
    assert!(most <= 2, "{most} tasks of customer-1 ran at once: {sleeps:?}");
    let listed = cli.json(&["limit", "list"]);
    assert_eq!(listed["limits"][0]["scope"], "task:builtin.noop", "{listed}");
    assert_eq!(listed["limits"][0]["rate"], "10/s");
    assert_eq!(cli.json(&["limit", "rm", "task:builtin.noop"])["removed"], true);
    cluster.must_not_have_panicked();
}
