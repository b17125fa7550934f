//! The cluster as a whole, as one refresh shows it: who leads, in which term, who the members
//! are (voters and learners), whether a membership change is under way, and whether a majority
//! of voters answered.

use std::collections::BTreeSet;

use super::{LeaderRef, Member, NodeEntry, NodeView, Role};

/// What the status bar and banner say about the cluster as a whole, derived from one refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSummary {
    pub leader: Option<LeaderRef>,
    /// Where in the refresh's node list the leader's own answer is, when it answered as leader:
    /// its `peers` give everyone's lag and last contact, and its membership is the newest.
    pub leader_entry: Option<usize>,
    /// Members the cluster recorded as unreachable, from the same answer the leader comes from.
    pub unreachable: Vec<u64>,
    /// The highest term any reachable node reported.
    pub term: u64,
    /// The membership, voters and learners, from the leader's own answer when it gave one (a
    /// follower's may lag a change behind); empty when no node could tell.
    pub members: Vec<Member>,
    /// A membership change is under way, as the same answer says.
    pub membership_changing: bool,
    /// Voters that answered this refresh. Learners never count: they do not vote.
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
            .or_else(|| reachable.iter().find(|view| view.term == term))
            .copied();
        let leader = best.and_then(|view| view.leader.clone());
        let leader_entry = leader.as_ref().and_then(|leader| {
            nodes.iter().position(|entry| {
                entry
                    .view()
                    .is_some_and(|view| view.id == leader.id && view.role == Role::Leader)
            })
        });
        let source = leader_entry.and_then(|index| nodes.get(index)?.view()).or(best);
        let members = source.map(|view| view.members.clone()).unwrap_or_default();
        let voter_ids: BTreeSet<u64> = members.iter().filter(|m| m.voter).map(|m| m.id).collect();
        let answered: BTreeSet<u64> = reachable.iter().map(|view| view.id).collect();
        ClusterSummary {
            unreachable: best.map(|view| view.unreachable.clone()).unwrap_or_default(),
            leader_entry,
            leader,
            term,
            membership_changing: source.is_some_and(|view| view.membership_changing),
            voters_answered: voter_ids.intersection(&answered).count(),
            voters: voter_ids.len(),
            members,
        }
    }

    /// True when the cluster cannot commit: no leader known, or no majority of voters answered.
    pub fn no_quorum(&self) -> bool {
        self.leader.is_none() || self.voters == 0 || self.voters_answered < self.voters / 2 + 1
    }

    /// True when the membership lists `id` as a learner (a member that does not vote yet).
    pub fn is_learner(&self, id: u64) -> bool {
        self.members.iter().any(|member| member.id == id && !member.voter)
    }

    pub fn learners(&self) -> usize {
        self.members.iter().filter(|member| !member.voter).count()
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

    /// A five-node cluster: n1 leads, n2–n4 vote, n5 is a learner.
    fn grown(answering: &[u64]) -> Vec<NodeEntry> {
        (1..=5)
            .map(|id| {
                if !answering.contains(&id) {
                    return down(id);
                }
                let mut entry = node(id, 4, Some(1));
                if let Ok(view) = &mut entry.status {
                    view.members = (1..=5)
                        .map(|id| Member {
                            id,
                            addr: format!("n{id}:1"),
                            voter: id != 5,
                        })
                        .collect();
                    view.membership_changing = id == 1;
                    if id == 5 {
                        view.role = Role::Learner;
                    }
                }
                entry
            })
            .collect()
    }

    #[test]
    fn learners_do_not_count_for_quorum() {
        let summary = ClusterSummary::of(&grown(&[1, 2, 3, 4, 5]));
        assert_eq!((summary.voters_answered, summary.voters), (4, 4));
        assert!(summary.is_learner(5) && !summary.is_learner(4));
        assert_eq!(summary.learners(), 1);
        assert!(summary.membership_changing, "as the leader says");

        // Two of four voters is not a majority, however many learners answer.
        let summary = ClusterSummary::of(&grown(&[1, 2, 5]));
        assert_eq!((summary.voters_answered, summary.voters), (2, 4));
        assert!(summary.no_quorum());
        // A silent learner costs nothing.
        assert!(!ClusterSummary::of(&grown(&[1, 2, 3])).no_quorum());
    }

    #[test]
    fn the_leaders_membership_wins_over_a_lagging_followers() {
        let mut nodes = grown(&[1, 2, 3, 4, 5]);
        // n2 has not applied the change that added n5 yet.
        if let Ok(view) = &mut nodes[1].status {
            view.members.truncate(4);
            view.membership_changing = false;
        }
        nodes.swap(0, 1);
        let summary = ClusterSummary::of(&nodes);
        assert_eq!(summary.members.len(), 5);
        assert!(summary.membership_changing);
    }

    #[test]
    fn the_newest_term_wins() {
        let summary = ClusterSummary::of(&[node(1, 3, Some(1)), node(2, 4, Some(2)), node(3, 4, Some(2))]);
        assert_eq!(summary.term, 4);
        assert_eq!(summary.leader.map(|l| l.id), Some(2));
    }
}
