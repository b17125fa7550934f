//! When to snapshot. A snapshot rewrites every record the state machine holds, so with a fixed
//! interval its cost per log entry grows with the state: holding a million tasks, a snapshot
//! every 5,000 entries kept each node writing snapshots back to back and pushed the
//! submit-to-finish p99 at 1,000 tasks/s from 9 ms to 930 ms. So the interval grows with the
//! state: at least `snapshot_every` entries, and at least one entry per [`RECORDS_PER_ENTRY`]
//! records, which bounds the snapshot work per entry whatever the size. The log is longer
//! between snapshots in exchange; it lives on disk, not in memory.
//!
//! An entry may carry one command or a thousand (a batched submit), so once nothing has been
//! applied for [`QUIET`] the floor is also met by commands: as many as there are records (a
//! snapshot then rewrites at most one record per command since the last). Counting entries
//! alone, ten million tasks submitted a thousand per entry never made a snapshot, and a node that
//! replaced another replayed the whole log; counting commands under load made `e2e` snapshot
//! every few seconds (7% of the leader's CPU), and after a pause of a moment, into the next
//! burst.

use std::sync::Arc;
use std::time::Duration;

use openraft::ServerState;
use openraft::type_config::async_runtime::WatchReceiver;

use super::state_machine::SharedState;
use crate::raft::loops::Stop;
use crate::raft::types::Raft;

/// Records a snapshot may rewrite per log entry since the previous one.
pub const RECORDS_PER_ENTRY: u64 = 4;
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// How long nothing must have been applied before commands count toward a snapshot.
const QUIET: Duration = Duration::from_secs(2);

/// Log entries to wait between two snapshots with `records` records held.
pub fn entries_between(snapshot_every: u64, records: u64) -> u64 {
    snapshot_every.max(records / RECORDS_PER_ENTRY)
}

/// Whether a snapshot is due, `entries` and `commands` applied since the last one; `quiet`:
/// nothing was applied since the last look.
pub fn due(snapshot_every: u64, records: u64, entries: u64, commands: u64, quiet: bool) -> bool {
    entries >= snapshot_every
        && (entries >= entries_between(snapshot_every, records) || (quiet && commands >= records))
}

/// Watches this node's log and triggers a snapshot when one is due, until told to stop (or
/// Raft ends).
pub(in crate::raft) async fn run(raft: Raft, shared: Arc<SharedState>, snapshot_every: u64, mut stop: Stop) {
    let mut interval = tokio::time::interval(CHECK_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since = SinceSnapshot::default();
    // Commands applied as of the last look (counted from this start); since when none were.
    let mut commands_seen = 0;
    let mut quiet_since = tokio::time::Instant::now();
    while stop.tick(&mut interval).await {
        let (applied, snapshot) = {
            let metrics = raft.metrics();
            let metrics = metrics.borrow_watched();
            if metrics.state == ServerState::Shutdown {
                return;
            }
            (
                metrics.last_applied.as_ref().map_or(0, |id| id.index()),
                metrics.snapshot.as_ref().map_or(0, |id| id.index()),
            )
        };
        let commands = shared.applied_commands();
        let commands_since = since.commands(snapshot, commands);
        if std::mem::replace(&mut commands_seen, commands) != commands {
            quiet_since = tokio::time::Instant::now();
        }
        let quiet = quiet_since.elapsed() >= QUIET;
        let records = shared.queue().task_count() as u64;
        let entries = applied.saturating_sub(snapshot);
        if due(snapshot_every, records, entries, commands_since, quiet)
            && raft.trigger().snapshot().await.is_err()
        {
            return;
        }
    }
}

/// Commands applied since the last snapshot. They are counted from this start, so those
/// before it are unknown: until a snapshot is made here, as many as can be. Counted as none, a
/// node restarted with a large quiet backlog and a long log behind its snapshot made no
/// snapshot and kept that log until as many new commands as records came.
#[derive(Default)]
struct SinceSnapshot {
    /// The snapshot this start began with.
    first: Option<u64>,
    /// The newest snapshot since (made or installed), and the commands applied as of it.
    made: Option<(u64, u64)>,
}

impl SinceSnapshot {
    fn commands(&mut self, snapshot: u64, commands: u64) -> u64 {
        let first = *self.first.get_or_insert(snapshot);
        match self.made {
            Some((index, _)) if index != snapshot => self.made = Some((snapshot, commands)),
            None if snapshot != first => self.made = Some((snapshot, commands)),
            _ => {}
        }
        self.made.map_or(u64::MAX, |(_, then)| commands - then)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_states_snapshot_at_the_configured_interval() {
        assert_eq!(entries_between(5000, 0), 5000);
        assert_eq!(entries_between(5000, 20_000), 5000);
    }

    #[test]
    fn entries_of_many_commands_count_as_their_commands() {
        // Ten million tasks a thousand per entry: 10,000 entries.
        assert!(!due(5000, 10_000_000, 10_000, 0, true), "entries alone");
        assert!(
            !due(5000, 10_000_000, 10_000, 9_000_000, true),
            "fewer commands than records"
        );
        assert!(due(5000, 10_000_000, 10_000, 10_000_000, true));
        assert!(
            !due(5000, 10_000_000, 10_000, 10_000_000, false),
            "not while applying"
        );
        assert!(
            !due(5000, 10_000_000, 4_000, 10_000_000, true),
            "at least snapshot_every entries"
        );
        assert!(
            due(5000, 1_000_000, 250_000, 0, false),
            "entries alone, as before"
        );
    }

    #[test]
    fn commands_before_a_restart_count_until_a_snapshot_is_made() {
        let mut since = SinceSnapshot::default();
        assert_eq!(since.commands(400, 0), u64::MAX, "unknown since the start");
        assert_eq!(since.commands(400, 30), u64::MAX);
        assert_eq!(since.commands(900, 50), 0, "a snapshot made here");
        assert_eq!(since.commands(900, 75), 25);
        assert_eq!(since.commands(1300, 80), 0);
        assert_eq!(since.commands(1300, 81), 1);
    }

    #[test]
    fn large_states_snapshot_in_proportion_to_their_size() {
        assert_eq!(entries_between(5000, 1_000_000), 250_000);
        assert_eq!(entries_between(50, 400), 100);
    }
}
