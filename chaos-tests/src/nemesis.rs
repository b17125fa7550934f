//! Faults. A nemesis strikes, holds the fault for a while, and undoes it, writing `Fault` and
//! `Heal` into the history; the scenario runner strikes again and again for the run's length.
//!
//! The faults of real machines have a file each: `amnesia` (a wiped disk), `power` (power
//! loss), `disk` (full and failing disks), `clock` (stepped wall clocks).

mod amnesia;
mod clock;
mod disk;
mod power;

use std::time::Duration;

use anyhow::Context;
use qraft_proto::{Client, pb};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use crate::cluster::Cluster;
use crate::history::{Entry, Recorder};
use crate::wait::poll;

/// Far longer than a follower waits before it campaigns (at most 400 ms by default), so a
/// held fault costs a leader.
const HOLD: Duration = Duration::from_secs(2);
/// How long a SIGTERM'd node gets to hand over and stop.
const STOP_LIMIT: Duration = Duration::from_secs(20);
/// How long a membership step (a removal, a new node's catching up) may take.
const CHANGE_LIMIT: Duration = Duration::from_secs(30);
/// How long a node that lost its data, or its disk, may take to exit.
const EXIT_LIMIT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nemesis {
    KillLeader,
    KillRandom,
    PauseLeader,
    IsolateLeader,
    PartitionHalves,
    OneWay,
    Lossy,
    RollingRestart,
    KillAll,
    KillExecuting,
    KillMinority,
    Membership,
    Amnesia,
    PowerLoss,
    Disk,
    Clock,
}

impl Nemesis {
    pub const ALL: [Nemesis; 16] = [
        Nemesis::KillLeader,
        Nemesis::KillRandom,
        Nemesis::PauseLeader,
        Nemesis::IsolateLeader,
        Nemesis::PartitionHalves,
        Nemesis::OneWay,
        Nemesis::Lossy,
        Nemesis::RollingRestart,
        Nemesis::KillAll,
        Nemesis::KillExecuting,
        Nemesis::KillMinority,
        Nemesis::Membership,
        Nemesis::Amnesia,
        Nemesis::PowerLoss,
        Nemesis::Disk,
        Nemesis::Clock,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Nemesis::KillLeader => "kill-leader",
            Nemesis::KillRandom => "kill-random",
            Nemesis::PauseLeader => "pause-leader",
            Nemesis::IsolateLeader => "isolate-leader",
            Nemesis::PartitionHalves => "partition-halves",
            Nemesis::OneWay => "one-way",
            Nemesis::Lossy => "lossy",
            Nemesis::RollingRestart => "rolling-restart",
            Nemesis::KillAll => "kill-all",
            Nemesis::KillExecuting => "kill-executing",
            Nemesis::KillMinority => "kill-minority",
            Nemesis::Membership => "membership",
            Nemesis::Amnesia => "amnesia",
            Nemesis::PowerLoss => "power-loss",
            Nemesis::Disk => "disk",
            Nemesis::Clock => "clock",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Nemesis::KillLeader => "kill -9 the leader, restart it 2 s later",
            Nemesis::KillRandom => "kill -9 a random node, restart it 2 s later",
            Nemesis::PauseLeader => "SIGSTOP the leader for 2 s (past the election timeout), then SIGCONT",
            Nemesis::IsolateLeader => "cut the leader off from every peer for 2 s",
            Nemesis::PartitionHalves => "split the nodes into two random sides for 2 s",
            Nemesis::OneWay => "the followers stop hearing the leader (it still hears them) for 2 s",
            Nemesis::Lossy => "every node drops 20% of its peers' packets for 4 s",
            Nemesis::RollingRestart => "SIGTERM and restart every node in turn",
            Nemesis::KillAll => "kill -9 every node at once, restart them all",
            Nemesis::KillExecuting => "kill -9 a node while its pool runs tasks",
            Nemesis::KillMinority => {
                "kill -9 the largest minority at once (two of five), the leader among them, restart them 2 s later"
            }
            Nemesis::Membership => {
                "remove a random node (the leader too), wipe it, and add a new node with a new id in its place"
            }
            Nemesis::Amnesia => {
                "wipe a follower and restart it under its id (it must refuse), then with --rebuild, and kill -9 the leader while it catches up"
            }
            Nemesis::PowerLoss => {
                "cut the power to one node, a minority or every node: kill -9 and drop every write not yet fsynced"
            }
            Nemesis::Disk => "fill a node's disk, or make its writes fail: it must exit; then repair it",
            Nemesis::Clock => {
                "step the leader's wall clock minutes ahead, then the next leader's minutes back"
            }
        }
    }

    pub fn parse(name: &str) -> Option<Nemesis> {
        Nemesis::ALL.into_iter().find(|n| n.name() == name)
    }

    /// Cuts the network: only possible with namespaces.
    pub fn needs_network(self) -> bool {
        matches!(
            self,
            Nemesis::IsolateLeader | Nemesis::PartitionHalves | Nemesis::OneWay | Nemesis::Lossy
        )
    }

    /// Data directories on lazy disks (FUSE): only for the faults of disks.
    pub fn needs_lazy_disks(self) -> bool {
        matches!(self, Nemesis::PowerLoss | Nemesis::Disk)
    }

    /// Wall clocks behind libfaketime.
    pub fn needs_fake_clocks(self) -> bool {
        self == Nemesis::Clock
    }

    /// One fault, held, then undone; `round` counts the strikes before it in the run.
    pub async fn strike(
        self,
        cluster: &mut Cluster,
        client: &Client,
        history: &Recorder,
        round: usize,
    ) -> anyhow::Result<()> {
        let leader = cluster.leader(client).await;
        // Recorded once the fault is in force (iptables rules take a few ms to install), so
        // failover is timed from when the cluster really lost its leader.
        let fault = |detail: String, leader_loss: bool| Entry::Fault {
            t: history.now(),
            nemesis: self.name().into(),
            detail,
            leader_loss,
        };
        let n = cluster.size();
        match self {
            Nemesis::KillLeader | Nemesis::KillRandom | Nemesis::KillExecuting => {
                let victim = match self {
                    Nemesis::KillLeader => leader,
                    Nemesis::KillExecuting => busy_node(cluster, client).await,
                    _ => None,
                }
                .unwrap_or_else(|| rand::rng().random_range(1..=n));
                cluster.kill(victim);
                history.record(&fault(format!("kill -9 n{victim}"), Some(victim) == leader));
                tokio::time::sleep(HOLD).await;
                cluster.start_node(victim)?;
            }
            Nemesis::PauseLeader => {
                let victim = leader.unwrap_or_else(|| rand::rng().random_range(1..=n));
                cluster.pause(victim);
                history.record(&fault(format!("SIGSTOP n{victim}"), Some(victim) == leader));
                tokio::time::sleep(HOLD).await;
                cluster.resume(victim);
            }
            Nemesis::IsolateLeader | Nemesis::PartitionHalves | Nemesis::OneWay | Nemesis::Lossy => {
                let net = cluster.net().context("this nemesis needs network namespaces")?;
                let mut nodes: Vec<usize> = (1..=n).collect();
                match self {
                    Nemesis::IsolateLeader => {
                        let victim = leader.unwrap_or(1);
                        let others: Vec<usize> = nodes.iter().copied().filter(|id| *id != victim).collect();
                        net.partition(&[victim], &others)?;
                        history.record(&fault(format!("n{victim} | {others:?}"), Some(victim) == leader));
                    }
                    Nemesis::PartitionHalves => {
                        nodes.shuffle(&mut rand::rng());
                        let (minority, majority) = nodes.split_at(n / 2);
                        // With an even count neither side has a majority: the leader is lost
                        // wherever it is.
                        let loses = leader.is_some_and(|l| !majority.contains(&l)) || 2 * majority.len() <= n;
                        net.partition(minority, majority)?;
                        history.record(&fault(format!("{minority:?} | {majority:?}"), loses));
                    }
                    Nemesis::OneWay => {
                        let victim = leader.unwrap_or(1);
                        for follower in nodes.iter().copied().filter(|id| *id != victim) {
                            net.drop_from(follower, victim)?;
                        }
                        history.record(&fault(format!("nobody hears n{victim}"), Some(victim) == leader));
                    }
                    _ => {
                        net.lossy(0.2)?;
                        history.record(&fault("20% loss on every link".into(), false));
                    }
                }
                tokio::time::sleep(if self == Nemesis::Lossy { HOLD * 2 } else { HOLD }).await;
                net.heal()?;
            }
            Nemesis::RollingRestart => {
                for id in 1..=n {
                    let leads = cluster.leader(client).await == Some(id);
                    history.record(&fault(format!("restart n{id}"), leads));
                    cluster.stop(id, STOP_LIMIT).await;
                    cluster.start_node(id)?;
                    wait_answering(cluster, client, id).await;
                }
            }
            Nemesis::KillMinority => {
                // As many as the cluster survives losing: one of three, two of five.
                let mut victims: Vec<usize> = (1..=n).filter(|id| Some(*id) != leader).collect();
                victims.shuffle(&mut rand::rng());
                victims.truncate((n - 1) / 2 - usize::from(leader.is_some()));
                victims.extend(leader);
                for victim in &victims {
                    cluster.kill(*victim);
                }
                history.record(&fault(format!("kill -9 {victims:?}"), leader.is_some()));
                tokio::time::sleep(HOLD).await;
                for victim in victims {
                    cluster.start_node(victim)?;
                }
            }
            Nemesis::Membership => {
                let slot = rand::rng().random_range(1..=n);
                replace(cluster, client, history, slot, fault).await?;
            }
            Nemesis::Amnesia => amnesia::strike(cluster, history, leader, &fault).await?,
            Nemesis::PowerLoss => power::strike(cluster, history, leader, round, &fault).await?,
            Nemesis::Disk => disk::strike(cluster, history, leader, &fault).await?,
            Nemesis::Clock => clock::strike(cluster, client, history, leader, &fault).await?,
            Nemesis::KillAll => {
                for id in 1..=n {
                    cluster.kill(id);
                }
                history.record(&fault("kill -9 every node".into(), true));
                tokio::time::sleep(HOLD / 2).await;
                for id in 1..=n {
                    cluster.start_node(id)?;
                }
            }
        }
        history.record(&Entry::Heal { t: history.now() });
        Ok(())
    }
}

/// Removes the node in `slot` (a leader hands over first) and, once it is out, puts a new node
/// with a new id and no data in its place, which joins and catches up. A removal the cluster
/// refuses (other faults leave too few voters answering) changes nothing; so it is recorded.
async fn replace(
    cluster: &mut Cluster,
    client: &Client,
    history: &Recorder,
    slot: usize,
    fault: impl Fn(String, bool) -> Entry,
) -> anyhow::Result<()> {
    let old = cluster.raft_id(slot);
    history.record(&fault(format!("remove n{old} (slot {slot})"), false));
    let removed = poll(CHANGE_LIMIT, Duration::from_millis(200), || async {
        client.remove_node(old).await.map_err(|e| e.to_string())
    })
    .await;
    if let Err(e) = removed {
        tracing::warn!(node = old, error = %e, "removal not done; the membership stays as it is");
        return Ok(());
    }
    let via = if slot == 1 { 2 } else { 1 };
    let new = cluster.replace(slot, via)?;
    history.record(&fault(format!("n{new} joins in slot {slot}"), false));
    let voter = poll(CHANGE_LIMIT, Duration::from_millis(200), || async {
        let members = cluster
            .statuses(client)
            .await
            .into_iter()
            .flatten()
            .find(|status| status.role == pb::NodeRole::Leader as i32)
            .map(|leader| leader.members)
            .unwrap_or_default();
        if members.iter().any(|m| m.id == new && m.voter) {
            Ok(())
        } else {
            Err(format!("n{new} is not a voter yet"))
        }
    })
    .await;
    if let Err(e) = voter {
        tracing::warn!(node = new, error = %e, "the new node did not become a voter in time");
    }
    Ok(())
}

/// A node whose pool is running tasks now, by the workers' heartbeats; `None` if none is.
async fn busy_node(cluster: &Cluster, client: &Client) -> Option<usize> {
    let workers = client.list_workers().await.ok()?;
    let busy: Vec<usize> = (1..=cluster.size())
        .filter(|id| {
            let pool = format!("node{}", cluster.raft_id(*id));
            workers.workers.iter().any(|w| w.id == pool && w.active > 0)
        })
        .collect();
    busy.choose(&mut rand::rng()).copied()
}

/// Node `id` must exit non-zero by itself within [`EXIT_LIMIT`]; if it does not, it is killed
/// and `should_have` (why it should have exited) recorded as a problem.
async fn must_exit(cluster: &mut Cluster, history: &Recorder, id: usize, should_have: String) {
    match cluster.wait_exit(id, EXIT_LIMIT).await {
        Some(status) if !status.success() => {}
        other => {
            cluster.kill(id);
            problem(
                history,
                format!("{should_have}, but did not exit non-zero ({other:?})"),
            );
        }
    }
}

/// Records what a nemesis saw go wrong that the history shows nowhere else.
fn problem(history: &Recorder, detail: String) {
    tracing::error!("{detail}");
    history.record(&Entry::Problem {
        t: history.now(),
        detail,
    });
}

/// Waits (up to 20 s) until node `id` answers and knows a leader: a rolling restart moves on
/// only once the restarted node is back.
async fn wait_answering(cluster: &Cluster, client: &Client, id: usize) {
    let addr = cluster.addr(id);
    let back = poll(Duration::from_secs(20), Duration::from_millis(100), || async {
        match client.node_status(&addr).await {
            Ok(status) if status.leader_id != 0 => Ok(()),
            Ok(_) => Err("no leader known".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;
    if let Err(e) = back {
        tracing::warn!(node = id, error = %e, "did not come back within 20 s");
    }
}
