//! The cluster as a whole, as one refresh shows it: who leads, in which term, and whether a
//! majority of voters answered.

use std::collections::BTreeSet;

use super::{LeaderRef, NodeEntry, NodeView, Role};

/// What the status bar and banner say about the cluster as a whole, derived from one refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSummary {
    pub leader: Option<LeaderRef>,
    /// Where in the refresh's node list the leader's own answer is, when it answered as leader:
    /// its `peers` give everyone's lag and last contact.
    pub leader_entry: Option<usize>,
    /// Members the cluster recorded as unreachable, from the same answer the leader comes from.
    pub unreachable: Vec<u64>,
    /// The highest term any reachable node reported.
    pub term: u64,
    /// Voters that answered this refresh.
    pub voters_answered: usize,
    /// Voters in the membership; 0 when no node could tell.
    pub voters: usize,
}

impl ClusterSummary {
    pub fn of(nodes: &[NodeEntry]) -> ClusterSummary {
        let reachable: Vec<&NodeView> = nodes.iter().filter_map(NodeEntry::view).collect();
        let term = reachable.iter().map(|view| view.term).max().unwrap_or(0);
        // Trust the most recent term: a node cut off from the cluster may still name a leader
        // from an older term.
        let best = reachable
            .iter()
            .filter(|view| view.term == term)
            .find(|view| view.leader.is_some())
            .or_else(|| reachable.iter().find(|view| view.term == term));
        let leader = best.and_then(|view| view.leader.clone());
        let voter_ids: BTreeSet<u64> = best
            .map(|view| view.members.iter().filter(|m| m.voter).map(|m| m.id).collect())
            .unwrap_or_default();
        let answered: BTreeSet<u64> = reachable.iter().map(|view| view.id).collect();
        let leader_entry = leader.as_ref().and_then(|leader| {
            nodes.iter().position(|entry| {
                entry
                    .view()
                    .is_some_and(|view| view.id == leader.id && view.role == Role::Leader)
            })
        });
        ClusterSummary {
            unreachable: best.map(|view| view.unreachable.clone()).unwrap_or_default(),
            leader_entry,
            leader,
            term,
            voters_answered: voter_ids.intersection(&answered).count(),
            voters: voter_ids.len(),
        }
    }

    /// True when the cluster cannot commit: no leader known, or no majority of voters answered.
    pub fn no_quorum(&self) -> bool {
        self.leader.is_none() || self.voters == 0 || self.voters_answered < self.voters / 2 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Member;

    fn node(id: u64, term: u64, leader: Option<u64>) -> NodeEntry {
        NodeEntry {
            addr: format!("n{id}:1"),
            known_id: Some(id),
            status: Ok(NodeView {
                id,
                term,
                role: if leader == Some(id) {
                    Role::Leader
                } else {
                    Role::Follower
                },
                leader: leader.map(|id| LeaderRef {
                    id,
                    addr: format!("n{id}:1"),
                }),
                members: (1..=3)
                    .map(|id| Member {
                        id,
                        addr: format!("n{id}:1"),
                        voter: true,
                    })
                    .collect(),
                ..NodeView::default()
            }),
        }
    }

    fn down(id: u64) -> NodeEntry {
        NodeEntry {
            addr: format!("n{id}:1"),
            known_id: Some(id),
            status: Err("refused".into()),
        }
    }

    #[test]
    fn quorum_counts_voters_that_answered() {
        let summary = ClusterSummary::of(&[node(1, 3, Some(1)), node(2, 3, Some(1)), down(3)]);
        assert_eq!(summary.voters_answered, 2);
        assert_eq!(summary.voters, 3);
        assert_eq!(summary.leader.as_ref().map(|l| l.id), Some(1));
        assert!(!summary.no_quorum());
    }

    #[test]
    fn one_of_three_is_no_quorum_even_with_a_stale_leader() {
        let summary = ClusterSummary::of(&[node(1, 3, Some(2)), down(2), down(3)]);
        assert!(summary.no_quorum());
        assert!(ClusterSummary::of(&[down(1)]).no_quorum());
    }

    #[test]
    fn a_stale_leader_is_not_the_leader_whose_progress_is_shown() {
        // n1 still says it leads term 7; n3, in term 8, names n2 (which the console cannot reach).
        let nodes = [node(1, 7, Some(1)), down(2), node(3, 8, Some(2))];
        let summary = ClusterSummary::of(&nodes);
        assert_eq!(summary.leader.as_ref().map(|l| l.id), Some(2));
        assert_eq!(
            summary.leader_entry, None,
            "n2 did not answer: no progress to show"
        );
        let summary = ClusterSummary::of(&[node(1, 8, Some(1)), node(2, 8, Some(1))]);
        assert_eq!(summary.leader_entry, Some(0));
    }

    #[test]
    fn the_newest_term_wins() {
        let summary = ClusterSummary::of(&[node(1, 3, Some(1)), node(2, 4, Some(2)), node(3, 4, Some(2))]);
        assert_eq!(summary.term, 4);
        assert_eq!(summary.leader.map(|l| l.id), Some(2));
    }
}
