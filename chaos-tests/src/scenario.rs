//! One scenario, start to verdict: a fresh cluster, the workload, the nemesis striking for the
//! run's length, then heal, drain, read what the cluster holds, and check the history.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use qraft_proto::{Client, pb};
use rand::seq::IndexedRandom;

use crate::checker::check;
use crate::cluster::net::Net;
use crate::cluster::{Cluster, QUEUE};
use crate::history::{self, Entry, Recorder};
use crate::nemesis::Nemesis;
use crate::report::ScenarioResult;
use crate::workload::Workload;

/// Between two strikes: time for a new leader and for submits to flow, so every failover is
/// measured against a working cluster.
const QUIET: Duration = Duration::from_secs(2);
/// After healing, how long the cluster has to elect, catch up and finish every acknowledged task.
/// A task whose worker died is handed out again once its lease runs out (about 7 s).
const DRAIN_DEADLINE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub nemeses: Vec<Nemesis>,
}

impl Scenario {
    /// `kill-leader`, or several joined by `+` (each strike picks one of them).
    pub fn parse(name: &str) -> anyhow::Result<Scenario> {
        let nemeses = name
            .split('+')
            .map(|part| {
                Nemesis::parse(part.trim()).with_context(|| {
                    let known: Vec<&str> = Nemesis::ALL.iter().map(|n| n.name()).collect();
                    format!("unknown scenario {part:?}; known: {}", known.join(", "))
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Scenario {
            name: name.to_owned(),
            nemeses,
        })
    }

    pub fn all() -> Vec<Scenario> {
        Nemesis::ALL
            .iter()
            .map(|n| Scenario {
                name: n.name().into(),
                nemeses: vec![*n],
            })
            .collect()
    }

    pub fn needs_network(&self) -> bool {
        self.nemeses.iter().any(|n| n.needs_network())
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub qraft: PathBuf,
    pub out: PathBuf,
    pub nodes: usize,
    pub duration: Duration,
    pub producers: u64,
    pub remote_workers: u64,
    /// Run nodes in network namespaces (else on loopback).
    pub namespaces: bool,
}

pub async fn run(scenario: &Scenario, settings: &Settings) -> anyhow::Result<ScenarioResult> {
    let dir = settings.out.join(&scenario.name);
    Cluster::must_be_empty(&dir)?;
    std::fs::create_dir_all(&dir)?;
    let net = if settings.namespaces {
        Some(Net::create(settings.nodes)?)
    } else {
        None
    };
    let mut cluster = Cluster::start(&settings.qraft, &dir, settings.nodes, net)?;
    let client = cluster.client()?;
    wait_for_leader(&cluster, &client).await?;

    let history = Recorder::create(&dir.join("history.jsonl"))?;
    let started = tokio::time::Instant::now();
    let workload = Workload::start(
        &cluster.addrs(),
        settings.producers,
        settings.remote_workers,
        &history,
    )?;
    while started.elapsed() + QUIET < settings.duration {
        tokio::time::sleep(QUIET).await;
        let nemesis = *scenario
            .nemeses
            .choose(&mut rand::rng())
            .context("a scenario has at least one nemesis")?;
        tracing::info!(nemesis = nemesis.name(), "strike");
        nemesis.strike(&mut cluster, &client, &history).await?;
    }
    cluster.heal()?;
    history.record(&Entry::Heal { t: history.now() });
    // Submits go on a moment after the last heal, so its failover is measured too.
    tokio::time::sleep(QUIET).await;
    workload.stop().await;

    history.flush()?;
    let acknowledged = acknowledged_tasks(&history::read(&dir.join("history.jsonl"))?);
    let drained = drain(&cluster, &client, &acknowledged).await;
    history.record(&Entry::Drained {
        t: history.now(),
        healthy: drained.is_ok(),
        detail: drained
            .as_ref()
            .map_or_else(|e| e.clone(), |_| "healthy and drained".into()),
    });
    for task in final_tasks(&client).await {
        history.record(&Entry::Final {
            key: task.idempotency_key,
            task_id: task.id,
            state: pb::TaskState::try_from(task.state)
                .map_or("UNKNOWN".into(), |s| s.as_str_name().to_owned()),
            attempts: task.attempts,
        });
    }
    for (node, task_id, attempt, micros) in cluster.executions() {
        history.record(&Entry::Executed {
            t: history.since_start(micros / 1_000),
            task_id,
            worker: format!("n{node}"),
            attempt,
        });
    }
    for (node, line) in cluster.panics() {
        history.record(&Entry::Panic {
            node: node as u64,
            line,
        });
    }
    cluster.shutdown();
    history.flush()?;

    let entries = history::read(&dir.join("history.jsonl"))?;
    Ok(ScenarioResult {
        scenario: scenario.name.clone(),
        nodes: settings.nodes,
        duration_ms: started.elapsed().as_millis() as u64,
        verdict: check(&entries),
    })
}

async fn wait_for_leader(cluster: &Cluster, client: &Client) -> anyhow::Result<()> {
    let started = tokio::time::Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if cluster.leader(client).await.is_some() {
            return Ok(());
        }
        // Polling a starting cluster; the limit above decides.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "no leader within 30 s of starting the cluster; see the node logs in {}",
        cluster.dir().display()
    )
}

fn acknowledged_tasks(entries: &[Entry]) -> BTreeSet<String> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Ok { task_id, .. } => Some(task_id.clone()),
            _ => None,
        })
        .collect()
}

/// Waits until one leader is known to every node, every node has applied what the leader
/// committed, and every acknowledged task succeeded. The error says what was still missing at
/// the deadline.
async fn drain(cluster: &Cluster, client: &Client, acknowledged: &BTreeSet<String>) -> Result<(), String> {
    let started = tokio::time::Instant::now();
    let mut missing = String::from("nothing checked yet");
    while started.elapsed() < DRAIN_DEADLINE {
        match drained(cluster, client, acknowledged).await {
            Ok(()) => return Ok(()),
            Err(why) => missing = why,
        }
        // Polling the cluster; the deadline above decides.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(format!(
        "not drained within {} s: {missing}",
        DRAIN_DEADLINE.as_secs()
    ))
}

async fn drained(cluster: &Cluster, client: &Client, acknowledged: &BTreeSet<String>) -> Result<(), String> {
    let statuses = cluster.statuses(client).await;
    let answering: Vec<&pb::NodeStatus> = statuses.iter().flatten().collect();
    if answering.len() < cluster.size() {
        return Err(format!("{} of {} nodes answer", answering.len(), cluster.size()));
    }
    let leader = answering
        .iter()
        .find(|s| s.role == pb::NodeRole::Leader as i32)
        .ok_or("no leader")?;
    if let Some(behind) = answering
        .iter()
        .find(|s| s.applied_index < leader.committed_index)
    {
        return Err(format!(
            "node {} applied {} of the leader's {} committed",
            behind.id, behind.applied_index, leader.committed_index
        ));
    }
    let tasks = client.list_tasks(listing()).await.map_err(|e| e.to_string())?;
    let done: BTreeSet<&str> = tasks
        .iter()
        .filter(|t| t.state == pb::TaskState::Success as i32)
        .map(|t| t.id.as_str())
        .collect();
    let unfinished = acknowledged
        .iter()
        .filter(|id| !done.contains(id.as_str()))
        .count();
    if unfinished > 0 {
        return Err(format!("{unfinished} acknowledged tasks not finished"));
    }
    Ok(())
}

/// Every task of the run, read on the leader; a run holds at most a few thousand.
fn listing() -> pb::ListTasksRequest {
    pb::ListTasksRequest {
        queue: QUEUE.into(),
        limit: 10_000,
        linearizable: true,
        ..Default::default()
    }
}

/// The final state, read even when the drain failed (then what is missing shows as lost). Tries
/// for up to 10 s; nothing read means every acknowledged task counts as lost.
async fn final_tasks(client: &Client) -> Vec<pb::Task> {
    let started = tokio::time::Instant::now();
    loop {
        match client.list_tasks(listing()).await {
            Ok(tasks) => return tasks,
            Err(e) if started.elapsed() > Duration::from_secs(10) => {
                tracing::error!(error = %e, "cannot read the final state");
                return Vec::new();
            }
            // Retried after a pause; the limit above decides.
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
