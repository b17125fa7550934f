//! Stepped wall clocks: the leader's jumps minutes ahead (an NTP step, a resumed VM), then the
//! clock of the node leading next jumps minutes back. Cluster time must keep the pace of real
//! time: nothing expires early, no due time is skipped or fired twice, leases still run out.

use std::time::Duration;

use qraft_proto::Client;
use rand::Rng;

use crate::cluster::Cluster;
use crate::history::{Entry, Recorder};

/// Longer than a leader's clock check (every 5 s), so a leader far off gives up leading.
const HOLD: Duration = Duration::from_secs(7);
/// A clock held back longer than the limited queue may stand still
/// ([`crate::checker::MAX_STALL_MS`]): were cluster time to stop while a leader's clock
/// is behind, the checker would see the stall.
const HOLD_BEHIND: Duration = Duration::from_secs(20);

pub(super) async fn strike(
    cluster: &mut Cluster,
    client: &Client,
    history: &Recorder,
    leader: Option<usize>,
    fault: &impl Fn(String, bool) -> Entry,
) -> anyhow::Result<()> {
    let clocks = cluster
        .clocks()
        .ok_or_else(|| anyhow::anyhow!("clock faults need the nodes behind libfaketime"))?;
    let ahead = rand::rng().random_range(2..=10) * 60;
    let first = leader.unwrap_or(1);
    clocks.shift(first, ahead)?;
    history.record(&fault(format!("n{first}'s clock {ahead:+} s"), false));
    tokio::time::sleep(HOLD).await;
    let next = cluster.leader(client).await.filter(|id| *id != first);
    if let (Some(next), Some(clocks)) = (next, cluster.clocks()) {
        let behind = -rand::rng().random_range(2..=10) * 60;
        clocks.shift(next, behind)?;
        history.record(&fault(
            format!("n{next}'s clock {behind:+} s (it leads now)"),
            false,
        ));
        tokio::time::sleep(HOLD_BEHIND).await;
    }
    if let Some(clocks) = cluster.clocks() {
        clocks.reset()?;
    }
    Ok(())
}
