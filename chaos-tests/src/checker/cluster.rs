//! The cluster's own behaviour: at most one leader per term, no panic in any node log, and
//! healthy and drained after the faults were healed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::Capped;
use crate::history::{Entry, Millis};

/// A term that more than one node led: Raft's election safety broken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitTerm {
    pub term: u64,
    /// Every node that reported itself leader of the term, in ascending order.
    pub nodes: Vec<u64>,
}

impl SplitTerm {
    pub(super) fn describe(&self) -> String {
        let nodes: Vec<String> = self.nodes.iter().map(|node| format!("n{node}")).collect();
        let how_many = if nodes.len() == 2 { "both" } else { "all" };
        format!(
            "leaders: term {}: {} {how_many} led",
            self.term,
            nodes.join(" and ")
        )
    }
}

/// A panic line from a node's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NodePanic {
    pub node: u64,
    pub line: String,
}

impl NodePanic {
    pub(super) fn describe(&self) -> String {
        format!("panic: n{}: {}", self.node, self.line)
    }
}

/// How the run ended, from its last `Drained` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Drain {
    /// The history has no `Drained` entry: the run never showed the cluster recovered.
    #[default]
    Missing,
    /// Healthy, caught up and every acknowledged task finished within the deadline.
    Healthy {
        t: Millis,
        detail: String,
    },
    Unhealthy {
        t: Millis,
        detail: String,
    },
}

impl Drain {
    /// The violation, if the run did not end healthy and drained.
    pub(super) fn problem(&self) -> Option<String> {
        match self {
            Drain::Healthy { .. } => None,
            Drain::Missing => {
                Some("drain: the history never recorded the cluster drained after healing".to_owned())
            }
            Drain::Unhealthy { t, detail } => Some(format!(
                "drain: not healthy and drained within the deadline (at {t} ms): {detail}"
            )),
        }
    }
}

/// Whether the replicas held the same state after the drain, from the last `Converged` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Convergence {
    /// Not compared (the run did not drain, or predates the check).
    #[default]
    NotChecked,
    Same,
    Differ {
        detail: String,
    },
}

impl Convergence {
    pub(super) fn problem(&self) -> Option<String> {
        match self {
            Convergence::Differ { detail } => Some(format!(
                "convergence: the replicas differ after the drain: {detail}"
            )),
            _ => None,
        }
    }
}

/// The cluster side of a verdict.
#[derive(Debug, Default)]
pub(super) struct ClusterFindings {
    pub split_terms: Capped<SplitTerm>,
    pub panics: Capped<NodePanic>,
    /// What nemeses saw go wrong (a node that should have refused to start, say).
    pub problems: Vec<String>,
    pub drain: Drain,
    pub convergence: Convergence,
}

pub(super) fn check(entries: &[Entry]) -> ClusterFindings {
    let mut leaders: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    let mut found = ClusterFindings::default();
    for entry in entries {
        match entry {
            Entry::Leader { node, term, .. } => {
                leaders.entry(*term).or_default().insert(*node);
            }
            Entry::Problem { detail, .. } => found.problems.push(detail.clone()),
            Entry::Panic { node, line } => found.panics.push(NodePanic {
                node: *node,
                line: line.clone(),
            }),
            Entry::Drained {
                t,
                healthy: true,
                detail,
            } => {
                found.drain = Drain::Healthy {
                    t: *t,
                    detail: detail.clone(),
                };
            }
            Entry::Drained {
                t,
                healthy: false,
                detail,
            } => {
                found.drain = Drain::Unhealthy {
                    t: *t,
                    detail: detail.clone(),
                };
            }
            Entry::Converged { same, detail, .. } => {
                found.convergence = if *same {
                    Convergence::Same
                } else {
                    Convergence::Differ {
                        detail: detail.clone(),
                    }
                };
            }
            _ => {}
        }
    }
    for (term, nodes) in leaders.into_iter().filter(|(_, nodes)| nodes.len() > 1) {
        found.split_terms.push(SplitTerm {
            term,
            nodes: nodes.into_iter().collect(),
        });
    }
    found
}
