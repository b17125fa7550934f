//! The leader's tick: time in the state machine moves only with leader-stamped entries, so when
//! some task is due (a lease or eta runs out, a retry's backoff ends, a result's TTL passes) and
//! no other traffic carries the clock forward, the leader proposes a `Tick`. It also plans cron
//! schedules: their due times are computed here, by the leader alone, and carried in the log
//! (`FireSchedule`), so replicas of different builds never disagree on them.

use std::time::Duration;

use crate::queue::{Command, QueueState};
use crate::raft::loops::Stop;
use crate::raft::replica::Replica;

/// How often the leader checks for due work: the resolution of every timer in the queue.
const INTERVAL: Duration = Duration::from_millis(100);

/// Proposes ticks and cron plans while this node leads, until told to stop.
pub(in crate::raft) async fn run(replica: Replica, mut stop: Stop) {
    let mut interval = tokio::time::interval(INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while stop.tick(&mut interval).await {
        if !replica.is_leader() {
            continue;
        }
        let now = replica.leader_time();
        let plans = cron_plans(&replica.shared().queue(), now);
        if !plans.is_empty()
            && let Err(e) = replica.propose(plans).await
        {
            tracing::debug!(error = %e, "cron plans not proposed");
        }
        let due = replica.shared().queue().next_due_ms();
        if due.is_some_and(|due| due <= now)
            && let Err(e) = replica.propose_one(Command::Tick).await
        {
            tracing::debug!(error = %e, "tick not proposed");
        }
    }
}

/// A `FireSchedule` for every cron schedule whose next due time came or is not planned yet.
fn cron_plans(queue: &QueueState, now: u64) -> Vec<Command> {
    queue
        .schedules()
        .filter_map(|schedule| {
            let (from, firing) = schedule.plan(now)?;
            Some(Command::FireSchedule {
                name: schedule.spec.name.clone(),
                from,
                firing,
            })
        })
        .collect()
}
