//! What keeps a node that lost its data from hurting the cluster before it has caught up.
//!
//! A node whose data directory was wiped comes back with no vote and no log. Granting a vote
//! then could elect a candidate that lacks entries this node had acknowledged before (they
//! counted toward a quorum), or grant two votes in one term. So a node that starts without Raft
//! state keeps its Raft service closed until bootstrap has decided what it is, and then grants
//! no vote until it has applied what the cluster had committed when it came back. The mark is
//! durable, so a restart half-way does not lift it.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::raft::persist::storage::Storage;

pub struct VoteGuard {
    /// Raft traffic is refused until bootstrap opens it; a node with data opens at once.
    open: AtomicBool,
    /// The applied index this node must reach before it votes; 0: it votes freely.
    withheld_until: AtomicU64,
    storage: Storage,
}

impl VoteGuard {
    /// A guard as the stored mark says, open or closed.
    pub fn load(storage: Storage, open: bool) -> io::Result<VoteGuard> {
        let withheld_until = storage.votes_withheld_until()?.unwrap_or(0);
        Ok(VoteGuard {
            open: AtomicBool::new(open),
            withheld_until: AtomicU64::new(withheld_until),
            storage,
        })
    }

    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    /// From now on (and across restarts) no vote until `index` is applied.
    pub fn withhold_until(&self, index: u64) -> io::Result<()> {
        if index == 0 {
            return Ok(());
        }
        self.storage.withhold_votes_until(index)?;
        self.withheld_until.store(index, Ordering::SeqCst);
        Ok(())
    }

    /// The index still to be applied before this node votes, if any.
    pub fn withheld_until(&self) -> Option<u64> {
        Some(self.withheld_until.load(Ordering::SeqCst)).filter(|i| *i > 0)
    }

    /// Whether this node may grant a vote with `applied` entries applied; lifts the mark, for
    /// good, once they reach it.
    pub fn may_vote(&self, applied: u64) -> bool {
        let Some(until) = self.withheld_until() else {
            return true;
        };
        if applied < until {
            return false;
        }
        if let Err(e) = self.storage.stop_withholding_votes() {
            tracing::warn!(error = %e, "could not clear the withheld-votes mark; it is cleared next time");
        }
        self.withheld_until.store(0, Ordering::SeqCst);
        tracing::info!(
            applied,
            "caught up with the cluster after losing its data: voting again"
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::persist::storage::Identity;

    #[test]
    fn votes_are_withheld_until_the_index_is_applied_even_across_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let identity = Identity {
            cluster_name: "t".into(),
            node_id: 3,
        };
        let storage = Storage::open(dir.path(), &identity).expect("open");
        let guard = VoteGuard::load(storage.clone(), false).expect("guard");
        assert!(!guard.is_open() && guard.may_vote(0), "nothing withheld yet");
        guard.withhold_until(120).expect("withhold");
        assert!(!guard.may_vote(119));
        drop(guard);
        let restarted = VoteGuard::load(storage.clone(), true).expect("guard");
        assert_eq!(restarted.withheld_until(), Some(120), "the mark is durable");
        assert!(!restarted.may_vote(100));
        assert!(restarted.may_vote(120));
        assert!(restarted.withheld_until().is_none());
        assert!(
            VoteGuard::load(storage, true).expect("guard").may_vote(0),
            "lifted for good"
        );
    }
}
