//! One scenario, start to verdict: a fresh cluster, the workload, the nemesis striking for the
//! run's length, then heal, drain, read what the cluster holds, and check the history.
//!
//! - `finals`: reading what the cluster holds at the end into the history.

mod converge;
mod finals;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use qraft_proto::{Client, pb};
use rand::seq::IndexedRandom;

use crate::checker::check;
use crate::cluster::net::Net;
use crate::cluster::{Cluster, EXPIRING_QUEUE, FLOW_QUEUE, LIMITED_QUEUE, Machines, QUEUE};
use crate::history::{Entry, Millis, Recorder};
use crate::nemesis::Nemesis;
use crate::report::ScenarioResult;
use crate::wait::poll;
use crate::workload::{Workload, flows, timed};

pub use self::finals::MAX_TASKS;

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

    pub fn needs_lazy_disks(&self) -> bool {
        self.nemeses.iter().any(|n| n.needs_lazy_disks())
    }

    /// The machines the nemeses need: lazy disks, movable clocks.
    fn machines(&self, skip_wal_sync: bool) -> Machines {
        Machines {
            lazy_disks: self.nemeses.iter().any(|n| n.needs_lazy_disks()),
            fake_clocks: self.nemeses.iter().any(|n| n.needs_fake_clocks()),
            skip_wal_sync,
        }
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
    /// Nodes speak TLS and require a token.
    pub tls: bool,
    /// The canary: nodes acknowledge writes without syncing the WAL (the run should fail).
    pub skip_wal_sync: bool,
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
    let machines = scenario.machines(settings.skip_wal_sync);
    let mut cluster = Cluster::start(&settings.qraft, &dir, settings.nodes, net, settings.tls, machines)?;
    let client = cluster.client()?;
    poll(Duration::from_secs(30), Duration::from_millis(100), || async {
        cluster
            .leader(&client)
            .await
            .ok_or_else(|| "no leader".to_owned())
    })
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "no leader within 30 s of starting the cluster; see the node logs in {}",
            dir.display()
        )
    })?;

    let history = Recorder::create(&dir.join("history.jsonl"))?;
    poll(Duration::from_secs(30), Duration::from_millis(200), || async {
        flows::add_schedule(&client).await.map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot add the schedule: {e}"))?;
    history.record(&Entry::ScheduleAdded {
        t: history.now(),
        name: flows::SCHEDULE.into(),
    });
    poll(Duration::from_secs(30), Duration::from_millis(200), || async {
        timed::set_limit(&client).await.map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot set the limited queue's rate: {e}"))?;
    let started = tokio::time::Instant::now();
    // Dropped (and so stopped) on any early return below.
    let workload = Workload::start(
        &cluster.addrs(),
        cluster.credentials(),
        settings.producers,
        settings.remote_workers,
        &history,
    )?;
    let mut round = 0;
    while started.elapsed() + QUIET < settings.duration {
        tokio::time::sleep(QUIET).await;
        let nemesis = *scenario
            .nemeses
            .choose(&mut rand::rng())
            .context("a scenario has at least one nemesis")?;
        tracing::info!(nemesis = nemesis.name(), "strike");
        nemesis.strike(&mut cluster, &client, &history, round).await?;
        round += 1;
    }
    cluster.heal()?;
    let healed_at = history.now();
    history.record(&Entry::Heal { t: healed_at });
    // Submits go on until one sent after the last heal is answered, so its failover is
    // measured too; one that never comes is the checker's to report.
    let _ = poll(DRAIN_DEADLINE, Duration::from_millis(50), || async {
        history
            .inspect(|entries| answered_after(entries, healed_at))
            .then_some(())
            .ok_or_else(|| "no submit answered since the heal".to_owned())
    })
    .await;
    workload.stop().await;
    // The schedule stops before the drain, or its next run would keep it from ever draining.
    // Every due time well before this moment must have fired.
    let schedule_stopped_at_ms = unix_ms();
    let paused = poll(DRAIN_DEADLINE, Duration::from_millis(200), || async {
        client
            .pause_schedule(flows::SCHEDULE, true)
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    // A cluster that does not come back is a verdict, not a run that could not be made: go on
    // to the drain and the final reads, which then find what it lost.
    if let Err(e) = paused {
        history.record(&Entry::Problem {
            t: history.now(),
            detail: format!("cannot pause the schedule after healing: {e}"),
        });
    }

    let drained = poll(DRAIN_DEADLINE, Duration::from_millis(250), || {
        drained(&cluster, &client)
    })
    .await
    .map_err(|missing| format!("not drained within {} s: {missing}", DRAIN_DEADLINE.as_secs()));
    let healthy = drained.is_ok();
    history.record(&Entry::Drained {
        t: history.now(),
        healthy,
        detail: drained.err().unwrap_or_else(|| "healthy and drained".into()),
    });
    finals::record(&cluster, &history, schedule_stopped_at_ms).await;
    if healthy {
        let compared = converge::check(&cluster).await;
        history.record(&Entry::Converged {
            t: history.now(),
            same: compared.is_ok(),
            detail: compared
                .err()
                .unwrap_or_else(|| "every replica holds the same state".into()),
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

    Ok(ScenarioResult {
        scenario: scenario.name.clone(),
        nodes: settings.nodes,
        duration_ms: started.elapsed().as_millis() as u64,
        verdict: history.inspect(check),
    })
}

/// Whether some producer sent a submit at or after `t` and had it acknowledged.
fn answered_after(entries: &[Entry], t: Millis) -> bool {
    let sent: BTreeSet<(u64, &str)> = entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Invoke {
                t: sent_at,
                process,
                key,
                ..
            } if *sent_at >= t => Some((*process, key.as_str())),
            _ => None,
        })
        .collect();
    entries.iter().any(|entry| {
        matches!(entry, Entry::Ok { t: ok_at, process, key, .. }
            if *ok_at >= t && sent.contains(&(*process, key.as_str())))
    })
}

/// Healthy and drained: every node answers, one leads, every node has applied what it
/// committed, and every task of the run succeeded (acknowledged or not: a task the cluster
/// accepted is owed a result). The error says what is still missing.
async fn drained(cluster: &Cluster, client: &Client) -> Result<(), String> {
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
    let ends = [
        (QUEUE, pb::TaskState::Success),
        (FLOW_QUEUE, pb::TaskState::Success),
        (LIMITED_QUEUE, pb::TaskState::Success),
        (EXPIRING_QUEUE, pb::TaskState::Expired),
    ];
    for (queue, end) in ends {
        let listed = client
            .list_tasks(finals::listing(queue))
            .await
            .map_err(|e| e.to_string())?;
        if listed.truncated {
            return Err(format!("the tasks of queue {queue} do not fit in one list reply"));
        }
        let unfinished = listed.tasks.iter().filter(|t| t.state != end as i32).count();
        if unfinished > 0 {
            return Err(format!(
                "{unfinished} tasks of queue {queue} not {}",
                end.as_str_name()
            ));
        }
    }
    let listed = client
        .list_flows(MAX_TASKS, true)
        .await
        .map_err(|e| e.to_string())?;
    if listed.truncated {
        return Err("the flows do not fit in one list reply".to_owned());
    }
    let running = listed
        .flows
        .iter()
        .filter(|flow| flow.state == pb::FlowState::FlowRunning as i32)
        .count();
    if running > 0 {
        return Err(format!("{running} flows still running"));
    }
    Ok(())
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
