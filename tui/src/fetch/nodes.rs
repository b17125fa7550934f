//! Which addresses a refresh asks for NodeStatus: the ones given on the command line, plus
//! members the cluster reports that none of those turned out to be. Remembers the id each
//! address answered with, so a node that goes silent keeps its identity and is not asked twice
//! under two spellings of its address.

use std::collections::HashMap;

use crate::model::{NodeEntry, NodeView};

#[derive(Debug)]
pub struct NodeBook {
    addrs: Vec<String>,
    ids: HashMap<String, u64>,
}

impl NodeBook {
    pub fn new(addrs: Vec<String>) -> NodeBook {
        NodeBook {
            addrs,
            ids: HashMap::new(),
        }
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Turns one round of answers into table rows, learning ids and members on the way.
    /// Rows come sorted by id, addresses whose id is still unknown last.
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
        for (id, addr) in members {
            let known = self.ids.values().any(|&known| known == id) || self.addrs.contains(&addr);
            if !known && !addr.is_empty() {
                self.addrs.push(addr);
            }
        }
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
        entries.sort_by_key(|entry| (entry.id().is_none(), entry.id(), entry.addr.clone()));
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Member;

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
        let ids: Vec<Option<u64>> = rows.iter().map(NodeEntry::id).collect();
        assert_eq!(ids, [Some(1), Some(2), None]);
        assert_eq!(book.addrs().len(), 3);
    }

    #[test]
    fn another_spelling_of_a_known_node_is_not_added() {
        let mut book = NodeBook::new(vec!["localhost:1".into()]);
        book.record(vec![("localhost:1".into(), Ok(view(1, &[(1, "127.0.0.1:1")])))]);
        assert_eq!(book.addrs(), ["localhost:1"]);
    }
}
