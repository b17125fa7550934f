//! Which addresses a refresh asks for NodeStatus: the ones given on the command line, plus
//! members the cluster reports that none of those turned out to be (a node added since the
//! console started), minus members the cluster removed. Remembers the id each address answered
//! with, so a node that goes silent keeps its identity and is not asked twice under two
//! spellings of its address.

use std::collections::{BTreeSet, HashMap};

use crate::model::{ClusterSummary, NodeEntry, NodeView};

#[derive(Debug)]
pub struct NodeBook {
    addrs: Vec<String>,
    /// The id each address answered with, or for an address learned from a membership list
    /// and not heard from yet, the member's id there.
    ids: HashMap<String, u64>,
    /// Every id a leader has listed as a member.
    listed: BTreeSet<u64>,
    /// Listed once, but not by the newest leader's answer: removed. Ids are never reused, so
    /// such a node is not asked again, and a lagging node that still lists it does not bring
    /// it back.
    removed: BTreeSet<u64>,
}

impl NodeBook {
    pub fn new(addrs: Vec<String>) -> NodeBook {
        NodeBook {
            addrs,
            ids: HashMap::new(),
            listed: BTreeSet::new(),
            removed: BTreeSet::new(),
        }
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Turns one round of answers into table rows, learning ids, new members and removed ones
    /// on the way. Rows come sorted by id, addresses whose id is still unknown last.
    pub fn record(&mut self, answers: Vec<(String, Result<NodeView, String>)>) -> Vec<NodeEntry> {
        for (addr, answer) in &answers {
            if let Ok(view) = answer {
                self.ids.insert(addr.clone(), view.id);
            }
        }
        let members: Vec<(u64, String)> = answers
            .iter()
            .filter_map(|(_, answer)| answer.as_ref().ok())
            .flat_map(|view| view.members.iter().map(|m| (m.id, m.addr.clone())))
            .collect();
        let mut entries: Vec<NodeEntry> = answers
            .into_iter()
            .map(|(addr, status)| NodeEntry {
                known_id: self.ids.get(&addr).copied(),
                addr,
                status,
            })
            .collect();
        // Two spellings of one node's address both answer with its id: keep the first.
        let mut seen = Vec::new();
        entries.retain(|entry| match entry.id() {
            Some(id) if seen.contains(&id) => false,
            Some(id) => {
                seen.push(id);
                true
            }
            None => true,
        });

        self.note_removals(&entries);
        for (id, addr) in members {
            let known = self.ids.values().any(|&known| known == id) || self.addrs.contains(&addr);
            if !known && !addr.is_empty() && !self.removed.contains(&id) {
                // Named after the member until it answers, so it shows as `n6` even while
                // it cannot be reached.
                self.ids.insert(addr.clone(), id);
                self.addrs.push(addr);
            }
        }
        let removed = &self.removed;
        entries.retain(|entry| !entry.id().is_some_and(|id| removed.contains(&id)));
        let ids = &self.ids;
        self.addrs
            .retain(|addr| !ids.get(addr).is_some_and(|id| removed.contains(id)));
        let addrs = &self.addrs;
        self.ids.retain(|addr, _| addrs.contains(addr));

        entries.sort_by_key(|entry| (entry.id().is_none(), entry.id(), entry.addr.clone()));
        entries
    }

    /// Only the leader's own answer is trusted to say who left: a follower may not have
    /// applied the latest change yet.
    fn note_removals(&mut self, entries: &[NodeEntry]) {
        let summary = ClusterSummary::of(entries);
        if summary.leader_entry.is_none() {
            return;
        }
        let current: BTreeSet<u64> = summary.members.iter().map(|member| member.id).collect();
        self.listed.extend(current.iter().copied());
        // A change the leader lists again was never done (its leader may have died before
        // committing it): the id is a member after all.
        self.removed = self.listed.difference(&current).copied().collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LeaderRef, Member, Role};

    fn view(id: u64, members: &[(u64, &str)]) -> NodeView {
        NodeView {
            id,
            members: members
                .iter()
                .map(|(id, addr)| Member {
                    id: *id,
                    addr: (*addr).to_owned(),
                    voter: true,
                })
                .collect(),
            ..NodeView::default()
        }
    }

    /// `id`'s answer in term 5 under leader n1, listing `members`.
    fn under_n1(id: u64, members: &[(u64, &str)]) -> Result<NodeView, String> {
        Ok(NodeView {
            term: 5,
            role: if id == 1 { Role::Leader } else { Role::Follower },
            leader: Some(LeaderRef {
                id: 1,
                addr: "a:1".into(),
            }),
            ..view(id, members)
        })
    }

    /// The id the test addresses (`c:3`) stand for.
    fn book_id(addr: &str) -> u64 {
        addr.rsplit(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(0)
    }

    fn ids(rows: &[NodeEntry]) -> Vec<Option<u64>> {
        rows.iter().map(NodeEntry::id).collect()
    }

    /// Every address the book asks, answered from `answer`.
    fn round(book: &mut NodeBook, answer: impl Fn(&str) -> Result<NodeView, String>) -> Vec<NodeEntry> {
        let answers = book
            .addrs()
            .iter()
            .map(|addr| (addr.clone(), answer(addr)))
            .collect();
        book.record(answers)
    }

    #[test]
    fn learns_members_not_given_and_keeps_silent_nodes_identity() {
        let mut book = NodeBook::new(vec!["b:2".into(), "a:1".into()]);
        let members = [(1, "a:1"), (2, "b:2"), (3, "c:3")];
        let rows = book.record(vec![
            ("b:2".into(), Ok(view(2, &members))),
            ("a:1".into(), Ok(view(1, &members))),
        ]);
        assert_eq!(book.addrs(), ["b:2", "a:1", "c:3"]);
        assert_eq!(
            rows.iter().map(|r| r.id()).collect::<Vec<_>>(),
            [Some(1), Some(2)]
        );

        let rows = book.record(vec![
            ("b:2".into(), Err("refused".into())),
            ("a:1".into(), Ok(view(1, &members))),
            ("c:3".into(), Err("refused".into())),
        ]);
        // c:3 never answered, but the members list said who it is.
        assert_eq!(ids(&rows), [Some(1), Some(2), Some(3)]);
        assert_eq!(book.addrs().len(), 3);
    }

    #[test]
    fn a_grown_cluster_is_asked_whole() {
        let three = [(1, "a:1"), (2, "b:2"), (3, "c:3")];
        let five = [(1, "a:1"), (2, "b:2"), (3, "c:3"), (4, "d:4"), (5, "e:5")];
        let mut book = NodeBook::new(vec!["a:1".into(), "b:2".into(), "c:3".into()]);
        let rows = round(&mut book, |addr| match addr {
            "a:1" => under_n1(1, &five),
            // A follower that has not applied the change yet.
            "b:2" => under_n1(2, &three),
            _ => under_n1(3, &five),
        });
        assert_eq!(rows.len(), 3);
        assert_eq!(book.addrs(), ["a:1", "b:2", "c:3", "d:4", "e:5"]);

        // e:5 is still starting: listed under its id, unreachable.
        let rows = round(&mut book, |addr| match addr {
            "e:5" => Err("refused".into()),
            other => under_n1(book_id(other), &five),
        });
        assert_eq!(ids(&rows), [Some(1), Some(2), Some(3), Some(4), Some(5)]);
        assert!(rows[4].status.is_err());
    }

    #[test]
    fn a_removed_member_is_dropped_and_stays_dropped() {
        let three = [(1, "a:1"), (2, "b:2"), (3, "c:3")];
        let two = [(1, "a:1"), (2, "b:2")];
        let mut book = NodeBook::new(vec!["a:1".into(), "b:2".into(), "c:3".into()]);
        round(&mut book, |addr| under_n1(book_id(addr), &three));

        // The leader no longer lists n3; n3 itself and a lagging n2 still do.
        let rows = round(&mut book, |addr| match addr {
            "a:1" => under_n1(1, &two),
            other => under_n1(book_id(other), &three),
        });
        assert_eq!(ids(&rows), [Some(1), Some(2)]);
        assert_eq!(book.addrs(), ["a:1", "b:2"]);

        let rows = round(&mut book, |addr| match addr {
            "a:1" => under_n1(1, &two),
            _ => under_n1(2, &three),
        });
        assert_eq!(
            ids(&rows),
            [Some(1), Some(2)],
            "a lagging list does not bring n3 back"
        );
        assert_eq!(book.addrs(), ["a:1", "b:2"]);
    }

    #[test]
    fn without_the_leaders_answer_nobody_is_dropped() {
        let three = [(1, "a:1"), (2, "b:2"), (3, "c:3")];
        let two = [(1, "a:1"), (2, "b:2")];
        let mut book = NodeBook::new(vec!["a:1".into(), "b:2".into(), "c:3".into()]);
        round(&mut book, |addr| under_n1(book_id(addr), &three));
        // n1 is down; n2 lists only n1 and n2 (a change n1 proposed and n2 received, but
        // which may never commit).
        let rows = round(&mut book, |addr| match addr {
            "a:1" => Err("refused".into()),
            "b:2" => under_n1(2, &two),
            _ => under_n1(3, &three),
        });
        assert_eq!(ids(&rows), [Some(1), Some(2), Some(3)]);
        assert_eq!(book.addrs().len(), 3);
    }

    #[test]
    fn a_new_node_at_a_removed_nodes_address_is_asked() {
        let three = [(1, "a:1"), (2, "b:2"), (3, "c:3")];
        let replaced = [(1, "a:1"), (2, "b:2"), (6, "c:3")];
        let mut book = NodeBook::new(vec!["a:1".into(), "b:2".into(), "c:3".into()]);
        round(&mut book, |addr| under_n1(book_id(addr), &three));
        // n3 removed and n6 added at its address, both between two refreshes.
        let answer = |addr: &str| match addr {
            "c:3" => under_n1(6, &replaced),
            other => under_n1(book_id(other), &replaced),
        };
        round(&mut book, answer);
        let rows = round(&mut book, answer);
        assert_eq!(ids(&rows), [Some(1), Some(2), Some(6)]);
        assert_eq!(book.addrs(), ["a:1", "b:2", "c:3"]);
    }

    #[test]
    fn another_spelling_of_a_known_node_is_not_added() {
        let mut book = NodeBook::new(vec!["localhost:1".into()]);
        book.record(vec![("localhost:1".into(), Ok(view(1, &[(1, "127.0.0.1:1")])))]);
        assert_eq!(book.addrs(), ["localhost:1"]);
    }
}
