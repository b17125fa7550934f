//! What the leader sees of the cluster, written into the log so that it becomes part of the
//! replicated timeline: its own election, with how long the cluster went without a leader, and
//! which members it cannot reach. Reachability is compared with what the log already records,
//! so a new leader corrects whatever its predecessor last wrote (and reports the dead
//! predecessor itself).

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{Instant as _, ServerState};
use tokio::time::Instant;

use super::clock_check::{self, Verdict};
use crate::queue::{Command, Observation};
use crate::raft::loops::Stop;
use crate::raft::replica::Replica;
use crate::raft::types::NodeId;

/// How often the observer looks: the resolution of election and reachability events.
const INTERVAL: Duration = Duration::from_millis(100);
/// How often a leader checks its wall clock against its voters' (and at once in a new term).
const CLOCK_CHECK_EVERY: Duration = Duration::from_secs(5);
/// How soon a check that too few voters answered is tried again.
const CLOCK_RECHECK_EVERY: Duration = Duration::from_secs(1);

/// An election this node won and has not yet recorded.
struct Won {
    term: u64,
    election_ms: u64,
    since: Instant,
}

/// Watches this node's Raft state until told to stop.
pub(in crate::raft) async fn run(replica: Replica, mut stop: Stop) {
    // A follower that hears nothing for this long starts an election: the same patience.
    let unreachable_after = replica.settings().silence_before_election();
    let started = Instant::now();
    let mut campaign_since: Option<Instant> = None;
    let mut leading: Option<Won> = None;
    let mut recorded_term = 0;
    let mut clock_checked: Option<(u64, Instant, Duration)> = None;
    let mut interval = tokio::time::interval(INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while stop.tick(&mut interval).await {
        let metrics = replica.raft().metrics().borrow_watched().clone();
        match metrics.state {
            ServerState::Leader => {}
            ServerState::Candidate => {
                campaign_since.get_or_insert_with(Instant::now);
                leading = None;
                continue;
            }
            _ => {
                if metrics.current_leader.is_some() {
                    campaign_since = None;
                }
                leading = None;
                continue;
            }
        }
        let term = metrics.current_term;
        if leading.as_ref().is_none_or(|won| won.term != term) {
            // Leaderless since the last word from a leader; failing that (a first start),
            // since the campaign or since this node started.
            let since = replica
                .leader_contact()
                .last()
                .or(campaign_since)
                .unwrap_or(started);
            leading = Some(Won {
                term,
                election_ms: since.elapsed().as_millis() as u64,
                since: Instant::now(),
            });
        }
        let Some(won) = &leading else {
            continue;
        };
        if clock_checked.is_none_or(|(term, at, every)| term != won.term || at.elapsed() >= every) {
            clock_checked = Some((won.term, Instant::now(), CLOCK_CHECK_EVERY));
            let reading = clock_check::check(&replica).await;
            match reading.verdict {
                Verdict::Agree => {
                    tracing::debug!(term = won.term, "the voters confirmed this node's wall clock");
                    replica.leader_clock().confirm(won.term);
                    let voters = reading.voters.iter().copied().chain([(replica.id(), 0)]);
                    record_skews(&replica, voters).await;
                }
                Verdict::Disagree { skew_ms } => {
                    tracing::error!(
                        skew_ms,
                        "this node's wall clock is far from its voters': handing leadership over"
                    );
                    record_skews(&replica, [(replica.id(), skew_ms)]).await;
                    let _ = replica.transfer_leader(None).await;
                    continue;
                }
                Verdict::Unknown => {
                    tracing::info!(
                        answered = reading.voters.len(),
                        "too few voters told their wall clock; stamps follow the monotonic clock for now"
                    );
                    clock_checked = Some((won.term, Instant::now(), CLOCK_RECHECK_EVERY));
                }
            }
        }
        if recorded_term < won.term {
            let observation = Observation::LeaderElected {
                node: replica.id(),
                term: won.term,
                election_ms: won.election_ms,
            };
            match replica.propose_one(Command::Observe(observation)).await {
                Ok(_) => {
                    tracing::info!(term = won.term, election_ms = won.election_ms, "leader elected");
                    recorded_term = won.term;
                }
                Err(e) => tracing::debug!(error = %e, "election not recorded yet"),
            }
        }
        // Every member that holds part of the log (this leader, and each follower it has
        // matched), recorded once, before anything could be lost with its data.
        let active = replica.shared().queue().meta().active.clone();
        let matched = metrics.replication.clone().unwrap_or_default();
        let holding = std::iter::once(replica.id())
            .chain(matched.iter().filter(|(_, at)| at.is_some()).map(|(id, _)| *id));
        for node in holding.filter(|id| !active.contains(id)).collect::<BTreeSet<_>>() {
            match replica
                .propose_one(Command::Observe(Observation::Active { node }))
                .await
            {
                Ok(_) => tracing::debug!(node, "member recorded as holding the log"),
                Err(e) => tracing::debug!(error = %e, "active member not recorded yet"),
            }
        }
        // Right after an election nobody has answered yet: wait before judging anyone.
        if won.since.elapsed() < unreachable_after {
            continue;
        }
        let heard = metrics.heartbeat.clone().unwrap_or_default();
        let members: BTreeSet<NodeId> = metrics
            .membership_config
            .membership()
            .nodes()
            .map(|(id, _)| *id)
            .collect();
        let recorded = replica.shared().queue().meta().unreachable.clone();
        for id in members {
            let reachable = id == replica.id()
                || heard
                    .get(&id)
                    .copied()
                    .flatten()
                    .is_some_and(|at| at.elapsed() < unreachable_after);
            if reachable != recorded.contains(&id) {
                continue;
            }
            let observation = Observation::Reachability { node: id, reachable };
            match replica.propose_one(Command::Observe(observation)).await {
                Ok(_) => tracing::info!(node = id, reachable, "reachability recorded"),
                Err(e) => tracing::debug!(error = %e, "reachability not recorded yet"),
            }
        }
    }
}

/// Writes down each voter whose clock (`(node, skew_ms)`) went far off, or back in step, since
/// the log last said.
async fn record_skews(replica: &Replica, voters: impl IntoIterator<Item = (u64, i64)>) {
    let skewed = replica.shared().queue().meta().clock_skewed.clone();
    for (node, skew_ms) in voters {
        let far = skew_ms.unsigned_abs() > crate::clock::MAX_SKEW_MS;
        if far == skewed.contains(&node) {
            continue;
        }
        if far {
            tracing::warn!(node, skew_ms, "a voter's wall clock is far from the others'");
        }
        let observation = Observation::ClockSkew { node, skew_ms };
        if let Err(e) = replica.propose_one(Command::Observe(observation)).await {
            tracing::debug!(error = %e, "clock skew not recorded yet");
        }
    }
}
