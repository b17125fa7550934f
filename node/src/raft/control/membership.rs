//! Membership changes on the leader: add a node (a learner first, made a voter once it has
//! caught up, by snapshot if the log was purged), remove one (the leader hands over first), and
//! refuse any change that would leave the voters without a reachable majority. Each step is
//! also written into the log as an observation, so the timeline shows it and removed ids stay
//! retired.
//!
//! A removed voter is kept as a learner until it holds the configuration that removes it: the
//! leader stops replicating to a node the moment the newest configuration leaves it out, so a
//! node removed right after it led could otherwise never learn that it was removed, and would
//! go on taking work.
//!
//! openraft runs a voter change as joint consensus (old and new voters must both agree) in one
//! call, but it checks neither that the new voters are caught up nor that they answer: both are
//! checked here, because a joint configuration whose new majority is unreachable stops every
//! write.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{BasicNode, ChangeMembers, Instant as _, ServerState};
use qraft_proto::limits::CAUGHT_UP_LAG;
use tokio::sync::OwnedMutexGuard;

use crate::queue::{Command, MemberChange, Observation};
use crate::raft::replica::{Member, Replica, members};
use crate::raft::types::{NodeId, TypeConfig};

/// How long one membership entry may take to commit before the call gives up on it (it still
/// completes if a majority of old and new voters answers later).
const COMMIT_LIMIT: Duration = Duration::from_secs(30);
/// How often catch-up is looked at.
const POLL: Duration = Duration::from_millis(100);
/// How long a removed node that answers gets to receive its removal before it leaves the
/// configuration; one that misses it goes on until it is stopped by hand.
const REMOVAL_NOTICE_LIMIT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    #[error("this node does not lead")]
    NotLeader { leader_addr: Option<String> },
    #[error("another membership change is still in progress; try again when it has finished")]
    InProgress,
    #[error("{0}")]
    Invalid(String),
    #[error("refused: {0}")]
    WouldLoseQuorum(String),
    #[error(
        "node {id} is still {lag} entries behind after {waited_ms} ms; it stays a learner (add it again to go on waiting)"
    )]
    CatchUpTimedOut { id: NodeId, lag: u64, waited_ms: u64 },
    /// The change may or may not have taken effect.
    #[error("membership change: {0}")]
    Raft(String),
}

impl MembershipError {
    /// Whether nothing was changed, so the call can be sent again elsewhere as it is.
    pub fn not_applied(&self) -> bool {
        !matches!(self, MembershipError::Raft(_))
    }
}

/// What `add_node` did.
#[derive(Clone, Debug)]
pub struct Added {
    /// False when the node was a voter already.
    pub added: bool,
    pub took: Duration,
}

/// Where a node stands in the newest configuration it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// No configuration yet: the node waits to be added.
    Joining,
    Learner,
    Voter,
    /// Its id retired: removed for good.
    Removed,
    /// Not in the newest configuration this node knows. Removed if it was in an earlier one;
    /// a node that joins sees this while it copies the log from before it was added.
    LeftOut,
}

/// The voters and learners as this replica sees them, and whether a change is under way.
#[derive(Clone, Debug)]
pub struct MembershipView {
    pub members: Vec<Member>,
    /// A configuration not yet committed, or a joint one, is in force.
    pub changing: bool,
}

type WriteError = RaftError<TypeConfig, ClientWriteError<TypeConfig>>;

impl Replica {
    pub fn membership(&self) -> MembershipView {
        let metrics = self.raft().metrics().borrow_watched().clone();
        let committed = metrics.committed_membership_config.log_id();
        MembershipView {
            members: members(&metrics),
            changing: metrics.membership_config.log_id() != committed
                || metrics.membership_config.membership().get_joint_config().len() > 1,
        }
    }

    /// Where this node stands in the newest configuration it knows (its log, committed or not).
    /// A voter that becomes a learner has been removed: nodes are never demoted otherwise.
    pub fn standing(&self) -> Standing {
        if self.shared().queue().meta().retired.contains(&self.id()) {
            return Standing::Removed;
        }
        let metrics = self.raft().metrics().borrow_watched().clone();
        let membership = metrics.membership_config.membership();
        // During a joint change the last configuration is the one being moved to.
        match membership
            .get_joint_config()
            .last()
            .filter(|newest| !newest.is_empty())
        {
            None => Standing::Joining,
            Some(newest) if newest.contains(&self.id()) => Standing::Voter,
            Some(_) if membership.learner_ids().any(|id| id == self.id()) => Standing::Learner,
            Some(_) => Standing::LeftOut,
        }
    }

    /// Adds node `id` at `addr`: as a learner, then, once it has caught up, as a voter. Safe to
    /// send again: a learner added before goes on to catch up, a voter is left as it is.
    ///
    /// The change is held (no other may start) while the learner is added and while it is made
    /// a voter, not while it catches up: that can take minutes, or never end (a mistyped
    /// address, a node that never started), and removing that learner must stay possible
    /// meanwhile. So the promotion checks again that the learner is still there.
    pub async fn add_node(&self, id: NodeId, addr: &str, limit: Duration) -> Result<Added, MembershipError> {
        let started = Instant::now();
        {
            let (_changing, view) = self.begin_change()?;
            if id == 0 {
                return Err(MembershipError::Invalid(
                    "node ids are positive; 0 is reserved".into(),
                ));
            }
            if self.shared().queue().meta().retired.contains(&id) {
                return Err(MembershipError::Invalid(format!(
                    "node id {id} belonged to a removed node and is never used again; give the new node a new id"
                )));
            }
            if let Some(other) = view.members.iter().find(|m| m.addr == addr && m.id != id) {
                return Err(MembershipError::Invalid(format!(
                    "node {} already serves at {addr}; each node needs an address of its own",
                    other.id
                )));
            }
            match view.members.iter().find(|m| m.id == id) {
                Some(member) if member.addr != addr => {
                    return Err(MembershipError::Invalid(format!(
                        "node {id} is already a member at {}; remove it first, or add the new node under a new id",
                        member.addr
                    )));
                }
                Some(member) if member.voter => {
                    return Ok(Added {
                        added: false,
                        took: started.elapsed(),
                    });
                }
                Some(_) => tracing::info!(node = id, "already a learner; waiting for it to catch up"),
                None => {
                    let node = BasicNode {
                        addr: addr.to_owned(),
                    };
                    self.raft()
                        .add_learner(id, node, false)
                        .await
                        .map_err(|e| self.write_error(e))?;
                    tracing::info!(node = id, addr, "added as a learner");
                    self.observe(id, addr, MemberChange::Learner).await;
                }
            }
        }
        self.wait_caught_up(id, limit.saturating_sub(started.elapsed()))
            .await?;
        let (_changing, view) = self.begin_change()?;
        match view.members.iter().find(|m| m.id == id) {
            // Another add of this node finished first.
            Some(member) if member.voter => {
                return Ok(Added {
                    added: false,
                    took: started.elapsed(),
                });
            }
            Some(member) if member.addr == addr => {}
            _ => return Err(removed_while_catching_up(id)),
        }
        self.commit(ChangeMembers::AddVoterIds(BTreeSet::from([id])))
            .await?;
        tracing::info!(
            node = id,
            took_ms = started.elapsed().as_millis() as u64,
            "made a voter"
        );
        self.observe(id, addr, MemberChange::Voter).await;
        Ok(Added {
            added: true,
            took: started.elapsed(),
        })
    }

    /// Removes node `id`; `Ok(false)` if it is not a member (a resent remove). The leader does
    /// not remove itself: it hands leadership over and answers `NotLeader` with the new
    /// leader, which the caller asks instead.
    pub async fn remove_node(&self, id: NodeId) -> Result<bool, MembershipError> {
        let (_changing, view) = self.begin_change()?;
        let Some(member) = view.members.iter().find(|m| m.id == id).cloned() else {
            return Ok(false);
        };
        if !member.voter {
            self.commit(ChangeMembers::RemoveNodes(BTreeSet::from([id])))
                .await?;
            self.observe(id, &member.addr, MemberChange::Removed).await;
            return Ok(true);
        }
        let voters: BTreeSet<NodeId> = view.members.iter().filter(|m| m.voter).map(|m| m.id).collect();
        let live = self.live_voters(&voters).await;
        must_keep_quorum(id, &voters, &live)?;
        if id == self.id() {
            let handed = self.transfer_leader(None).await;
            let leader_addr = handed.ok().map(|(leader, _)| leader.addr);
            tracing::info!(?leader_addr, "handed leadership over before being removed");
            return Err(MembershipError::NotLeader { leader_addr });
        }
        // The voter stays on as a learner (see `commit`) until it has heard of its removal.
        self.commit(ChangeMembers::RemoveVoters(BTreeSet::from([id])))
            .await?;
        tracing::info!(node = id, "removed");
        self.observe(id, &member.addr, MemberChange::Removed).await;
        if live.contains(&id) {
            let newest = self.status().last_log_index.unwrap_or_default();
            if !self.wait_matched(id, newest, REMOVAL_NOTICE_LIMIT).await {
                tracing::warn!(
                    node = id,
                    "the removed node did not hear of its removal in time; stop it by hand"
                );
            }
        }
        self.commit(ChangeMembers::RemoveNodes(BTreeSet::from([id])))
            .await?;
        Ok(true)
    }

    /// The right to change the membership, and the members as that change starts. A node that
    /// no longer leads says so (with the leader) rather than "in progress"; the members are read
    /// once the right is held, so no change finishing just before is missed.
    fn begin_change(&self) -> Result<(OwnedMutexGuard<()>, MembershipView), MembershipError> {
        self.must_lead_unchanging()?;
        let changing = self.try_change_members().ok_or(MembershipError::InProgress)?;
        Ok((changing, self.must_lead_unchanging()?))
    }

    /// The current members, if this node leads and no change is under way.
    fn must_lead_unchanging(&self) -> Result<MembershipView, MembershipError> {
        let status = self.status();
        if status.role != crate::raft::Role::Leader {
            return Err(MembershipError::NotLeader {
                leader_addr: status.leader.map(|l| l.addr),
            });
        }
        let view = self.membership();
        if view.changing {
            return Err(MembershipError::InProgress);
        }
        Ok(view)
    }

    /// This node and the voters that acknowledged it within the silence before an election. A
    /// leader elected a moment ago has heard from nobody yet: it waits (up to twice that)
    /// for every voter to answer once before judging.
    async fn live_voters(&self, voters: &BTreeSet<NodeId>) -> BTreeSet<NodeId> {
        let fresh = self.settings().silence_before_election();
        let started = Instant::now();
        loop {
            let metrics = self.raft().metrics().borrow_watched().clone();
            let heard = metrics.heartbeat.clone().unwrap_or_default();
            let all_heard = voters
                .iter()
                .all(|v| *v == self.id() || heard.get(v).copied().flatten().is_some());
            if all_heard || started.elapsed() >= 2 * fresh {
                let mut live: BTreeSet<NodeId> = heard
                    .iter()
                    .filter(|(_, at)| at.is_some_and(|at| at.elapsed() < fresh))
                    .map(|(id, _)| *id)
                    .collect();
                live.insert(self.id());
                return live;
            }
            // Waiting for the first answers of a new term; the limit above decides.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until node `id` holds this leader's log up to `index`; false after `limit`, or
    /// when this node no longer leads.
    async fn wait_matched(&self, id: NodeId, index: u64, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            let metrics = self.raft().metrics().borrow_watched().clone();
            if metrics.state != ServerState::Leader {
                return false;
            }
            if matched_index(&metrics, id).is_some_and(|matched| matched >= index) {
                return true;
            }
            // The replication poll; the limit above decides.
            tokio::time::sleep(POLL).await;
        }
        false
    }

    /// Waits until learner `id` is within [`CAUGHT_UP_LAG`] entries of this leader's log.
    async fn wait_caught_up(&self, id: NodeId, limit: Duration) -> Result<(), MembershipError> {
        let started = Instant::now();
        let mut lag = u64::MAX;
        while started.elapsed() < limit {
            let metrics = self.raft().metrics().borrow_watched().clone();
            if metrics.state != ServerState::Leader {
                return Err(MembershipError::NotLeader {
                    leader_addr: self.status().leader.map(|l| l.addr),
                });
            }
            if !self.membership().members.iter().any(|m| m.id == id) {
                return Err(removed_while_catching_up(id));
            }
            let last = metrics.last_log_index.unwrap_or_default();
            let matched = matched_index(&metrics, id);
            lag = matched.map_or(last, |matched| last.saturating_sub(matched));
            if matched.is_some() && lag <= CAUGHT_UP_LAG {
                return Ok(());
            }
            // The catch-up poll; the limit above decides.
            tokio::time::sleep(POLL).await;
        }
        Err(MembershipError::CatchUpTimedOut {
            id,
            lag,
            waited_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// One membership change (for voters, both joint-consensus steps), bounded in time. A voter
    /// it removes stays on as a learner (`retain`); no other change removes a voter.
    async fn commit(&self, change: ChangeMembers<NodeId, BasicNode>) -> Result<(), MembershipError> {
        match tokio::time::timeout(COMMIT_LIMIT, self.raft().change_membership(change, true)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.write_error(e)),
            Err(_) => Err(MembershipError::Raft(format!(
                "not committed within {} s; it completes once enough voters answer",
                COMMIT_LIMIT.as_secs()
            ))),
        }
    }

    fn write_error(&self, error: WriteError) -> MembershipError {
        match error {
            RaftError::APIError(ClientWriteError::ForwardToLeader(forward)) => MembershipError::NotLeader {
                leader_addr: forward.leader_node.map(|node| node.addr),
            },
            RaftError::APIError(ClientWriteError::ChangeMembershipError(
                ChangeMembershipError::InProgress(_),
            )) => MembershipError::InProgress,
            RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
                MembershipError::Invalid(e.to_string())
            }
            other => MembershipError::Raft(other.to_string()),
        }
    }

    /// Puts the step on the timeline (and, for a removal, retires the id). A failure only costs
    /// the timeline entry, which is logged; the change itself is in the log already.
    async fn observe(&self, node: NodeId, addr: &str, change: MemberChange) {
        let observation = Observation::Membership {
            node,
            addr: addr.to_owned(),
            change,
        };
        if let Err(e) = self.propose_one(Command::Observe(observation)).await {
            tracing::warn!(node, ?change, error = %e, "membership change not recorded on the timeline");
        }
    }
}

/// The last log index node `id` acknowledged to this leader; `None` on a follower.
fn matched_index(metrics: &openraft::RaftMetrics<TypeConfig>, id: NodeId) -> Option<u64> {
    let progress = metrics.replication.as_ref()?;
    progress.get(&id).copied().flatten().map(|log_id| log_id.index())
}

/// Refuses to remove voter `id` unless the voters left, and the voters during the change (old
/// and new must both agree), each have a majority among the `live` ones.
fn must_keep_quorum(
    id: NodeId,
    voters: &BTreeSet<NodeId>,
    live: &BTreeSet<NodeId>,
) -> Result<(), MembershipError> {
    let remaining: BTreeSet<NodeId> = voters.iter().copied().filter(|v| *v != id).collect();
    if remaining.is_empty() {
        return Err(MembershipError::WouldLoseQuorum(format!(
            "node {id} is the only voter; a cluster needs at least one"
        )));
    }
    for (set, what) in [
        (&remaining, "left after the change"),
        (voters, "during the change"),
    ] {
        let answering = set.iter().filter(|v| live.contains(v)).count();
        let needed = set.len() / 2 + 1;
        if answering < needed {
            let down: Vec<String> = set
                .iter()
                .filter(|v| !live.contains(v))
                .map(u64::to_string)
                .collect();
            return Err(MembershipError::WouldLoseQuorum(format!(
                "of the {} voters {what}, {answering} answer now and {needed} are needed to commit \
                 (not answering: {}); bring nodes back before removing node {id}",
                set.len(),
                down.join(", ")
            )));
        }
    }
    Ok(())
}

fn removed_while_catching_up(id: NodeId) -> MembershipError {
    MembershipError::Invalid(format!(
        "node {id} was removed while it caught up; add it again to go on"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    #[test]
    fn a_removal_needs_a_live_majority_before_and_after() {
        // Five voters, all up: any one may go.
        assert!(must_keep_quorum(5, &set(&[1, 2, 3, 4, 5]), &set(&[1, 2, 3, 4, 5])).is_ok());
        // Removing a dead voter of four leaves three, two of them up: a majority both ways.
        assert!(must_keep_quorum(4, &set(&[1, 2, 3, 4]), &set(&[1, 2, 3])).is_ok());
        // Three voters, one down: removing a live one leaves one of two up.
        let refused = must_keep_quorum(2, &set(&[1, 2, 3]), &set(&[1, 2])).expect_err("refused");
        assert!(
            refused.to_string().contains("1 answer now and 2 are needed"),
            "{refused}"
        );
        // Five voters, two down: removing a live one leaves two of four up.
        assert!(must_keep_quorum(3, &set(&[1, 2, 3, 4, 5]), &set(&[1, 2, 3])).is_err());
        // The last voter stays.
        let last = must_keep_quorum(1, &set(&[1]), &set(&[1])).expect_err("refused");
        assert!(last.to_string().contains("only voter"), "{last}");
    }
}
