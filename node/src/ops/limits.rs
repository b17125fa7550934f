//! Rate limits (`queue:NAME` or `task:NAME`, N per window) and the concurrency keys in use.

use super::{OpError, linearizable, propose_one};
use crate::queue::limit::{LimitScope, Rate};
use crate::queue::{Command, Outcome};
use crate::raft::Replica;

/// One limit and how much of its window is used now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitView {
    pub scope: String,
    pub count: u32,
    pub per_ms: u64,
    /// Starts inside the current window.
    pub used: u32,
    /// When the window next has room, if it is full (cluster time, Unix ms).
    pub frees_at_ms: Option<u64>,
}

/// Every limit, the concurrency keys with tasks running, and the cluster time they are read at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsView {
    pub limits: Vec<LimitView>,
    pub keys: Vec<(String, u32)>,
    pub now_ms: u64,
}

fn scope(text: &str) -> Result<LimitScope, OpError> {
    text.parse().map_err(OpError::Invalid)
}

/// Sets (or replaces) the limit of `scope`.
pub async fn set(replica: &Replica, scope_text: &str, rate: Rate) -> Result<(), OpError> {
    let scope = scope(scope_text)?;
    rate.must_be_valid().map_err(OpError::Invalid)?;
    propose_one(replica, Command::SetLimit { scope, rate }).await?;
    Ok(())
}

/// Removes the limit of `scope`; whether there was one.
pub async fn remove(replica: &Replica, scope_text: &str) -> Result<bool, OpError> {
    let scope = scope(scope_text)?;
    match propose_one(replica, Command::RemoveLimit { scope }).await? {
        Outcome::Count(removed) => Ok(removed > 0),
        other => Err(OpError::unexpected(&other)),
    }
}

pub async fn list(replica: &Replica, linearizable_read: bool) -> Result<LimitsView, OpError> {
    if linearizable_read {
        linearizable(replica).await?;
    }
    let shared = replica.shared();
    let queue = shared.queue();
    let now = queue.now_ms();
    Ok(LimitsView {
        limits: queue
            .limits()
            .map(|limit| LimitView {
                scope: limit.scope.to_string(),
                count: limit.rate.count,
                per_ms: limit.rate.per_ms,
                used: limit.used(now),
                frees_at_ms: limit.frees_at(now),
            })
            .collect(),
        keys: queue
            .running_keys()
            .map(|(key, running)| (key.clone(), running))
            .collect(),
        now_ms: now,
    })
}
