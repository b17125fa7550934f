//! Cluster control: forming and joining the cluster, membership changes, the leader's tick and observer, its clock check, when this node last heard a leader, and the guard that keeps a node that lost its data from voting.

pub mod bootstrap;
pub mod clock_check;
pub mod leader_contact;
pub mod membership;
pub mod observer;
pub mod ticker;
pub mod vote_guard;
