//! Power loss: a node, a minority or every node loses power at once. Each is killed (`kill -9`)
//! and its lazy disk drops every write not yet fsynced, as a machine's page cache would; what
//! the cluster acknowledged must still be there when they come back.

use rand::seq::SliceRandom;

use super::HOLD;
use crate::cluster::Cluster;
use crate::history::{Entry, Recorder};

pub(super) async fn strike(
    cluster: &mut Cluster,
    history: &Recorder,
    leader: Option<usize>,
    round: usize,
    fault: &impl Fn(String, bool) -> Entry,
) -> anyhow::Result<()> {
    let n = cluster.size();
    let mut victims: Vec<usize> = (1..=n).collect();
    victims.shuffle(&mut rand::rng());
    // Everyone, one node, the largest minority, in turn: each loses different unsynced writes,
    // and the first strike of every run is the one only fsyncs survive.
    let count = match round % 3 {
        0 => n,
        1 => 1,
        _ => (n - 1) / 2,
    };
    victims.truncate(count.max(1));
    victims.sort_unstable();
    let disks = cluster
        .disks()
        .map(|disks| victims.iter().map(|id| disks.control(*id)).collect::<Vec<_>>())
        .ok_or_else(|| anyhow::anyhow!("power loss needs the nodes on lazy disks"))?;
    for victim in &victims {
        cluster.kill(*victim);
    }
    let dropped: u64 = disks.iter().map(|disk| disk.cut_power()).sum();
    let loses_leader = leader.is_some_and(|l| victims.contains(&l));
    history.record(&fault(
        format!("power cut to {victims:?}: kill -9, {dropped} unsynced bytes dropped"),
        loses_leader,
    ));
    tokio::time::sleep(HOLD).await;
    for victim in victims {
        cluster.start_node(victim)?;
    }
    Ok(())
}
