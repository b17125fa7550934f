//! Disks that give out: a node's disk fills up, or starts failing every write. The node must
//! exit (non-zero, so a supervisor sees it) rather than linger serving stale reads; the disk is
//! then repaired and the node restarted on the data it had, losing nothing acknowledged.

use rand::Rng;

use super::must_exit;
use crate::cluster::Cluster;
use crate::history::{Entry, Recorder};

pub(super) async fn strike(
    cluster: &mut Cluster,
    history: &Recorder,
    leader: Option<usize>,
    fault: &impl Fn(String, bool) -> Entry,
) -> anyhow::Result<()> {
    let victim = leader
        .filter(|_| rand::rng().random_bool(0.5))
        .unwrap_or_else(|| rand::rng().random_range(1..=cluster.size()));
    let disk = cluster
        .disks()
        .map(|disks| disks.control(victim))
        .ok_or_else(|| anyhow::anyhow!("disk faults need the nodes on lazy disks"))?;
    let full = rand::rng().random_bool(0.5);
    if full {
        disk.set_free_bytes(Some(0));
    } else {
        disk.fail_writes(true);
    }
    let what = if full { "full" } else { "failing every write" };
    history.record(&fault(
        format!("n{victim}'s disk is {what}"),
        Some(victim) == leader,
    ));
    must_exit(
        cluster,
        history,
        victim,
        format!("disk: n{victim}'s disk was {what}"),
    )
    .await;
    disk.fail_writes(false);
    disk.set_free_bytes(None);
    cluster.start_node(victim)?;
    Ok(())
}
