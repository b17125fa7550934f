//! The openraft type configuration and the log entry payload.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::queue::{Command, Outcome};

/// One Raft log entry's worth of client work: a batch of commands sharing one fsync, stamped with
/// the proposing leader's clock (the only time apply ever sees).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub stamped_at_ms: u64,
    pub commands: Vec<Command>,
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "proposal({} commands at {})",
            self.commands.len(),
            self.stamped_at_ms
        )
    }
}

/// The outcomes of a proposal's commands, in order. Empty for blank and membership entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalResponse {
    pub outcomes: Vec<Outcome>,
}

openraft::declare_raft_types!(
    /// qraft's Raft types: u64 node ids, `BasicNode { addr }` as the node record.
    pub TypeConfig:
        D = Proposal,
        R = ProposalResponse,
);

pub type NodeId = u64;
pub type Node = openraft::BasicNode;
pub type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;
pub type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::type_config::alias::VoteOf<TypeConfig>;
pub type SnapshotMeta = openraft::type_config::alias::SnapshotMetaOf<TypeConfig>;
pub type StoredMembership = openraft::type_config::alias::StoredMembershipOf<TypeConfig>;
pub type Raft = openraft::Raft<TypeConfig, super::persist::state_machine::StateMachineStore>;
