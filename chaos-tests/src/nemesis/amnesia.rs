//! Amnesia: a follower's disk is wiped and it comes back under its old id. It must refuse to
//! start (a node that lost its vote and its log must never vote), then rebuild when the operator
//! says so (`--rebuild`), while the leader is killed under it.

use rand::seq::IndexedRandom;

use super::{HOLD, must_exit};
use crate::cluster::Cluster;
use crate::history::{Entry, Recorder};

pub(super) async fn strike(
    cluster: &mut Cluster,
    history: &Recorder,
    leader: Option<usize>,
    fault: &impl Fn(String, bool) -> Entry,
) -> anyhow::Result<()> {
    let followers: Vec<usize> = (1..=cluster.size()).filter(|id| Some(*id) != leader).collect();
    let Some(&victim) = followers.choose(&mut rand::rng()) else {
        return Ok(());
    };
    cluster.wipe(victim)?;
    history.record(&fault(format!("wipe n{victim}, restart it under its id"), false));
    cluster.start_node(victim)?;
    let should_have = format!("amnesia: n{victim} came back without its data under its id");
    must_exit(cluster, history, victim, should_have).await;
    cluster.start_node_with(victim, &["--rebuild"])?;
    // While it rebuilds (and must not vote), the leader dies.
    if let Some(leader) = leader {
        cluster.kill(leader);
        history.record(&fault(
            format!("n{victim} rebuilds; kill -9 the leader n{leader}"),
            true,
        ));
        tokio::time::sleep(HOLD).await;
        cluster.start_node(leader)?;
    }
    Ok(())
}
