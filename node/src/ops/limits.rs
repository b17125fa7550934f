//! Rate limits (`queue:NAME` or `task:NAME`, N per window), queue caps (`max-length`,
//! `max-bytes`), the cluster-wide caps on what the state holds, and the concurrency keys in use.

use super::{OpError, linearizable, propose_one};
use crate::queue::cap::CapKind;
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

/// One queue's caps (0: none) and what the queue holds now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapView {
    pub queue: String,
    pub max_length: u64,
    pub max_bytes: u64,
    /// Unfinished tasks (waiting or running), and their bytes.
    pub length: u64,
    pub bytes: u64,
}

/// What the whole state holds, against the answering node's cluster-wide caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreView {
    pub tasks: u64,
    pub max_tasks: u64,
    pub bytes: u64,
    pub max_bytes: u64,
}

/// Every limit and cap, the concurrency keys with tasks running, and the cluster time they are
/// read at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitsView {
    pub limits: Vec<LimitView>,
    pub caps: Vec<CapView>,
    pub store: StoreView,
    pub keys: Vec<(String, u32)>,
    pub now_ms: u64,
}

fn scope(text: &str) -> Result<LimitScope, OpError> {
    text.parse().map_err(OpError::Invalid)
}

/// Sets (or replaces) the limit of `scope`.
pub async fn set(replica: &Replica, scope_text: &str, rate: Rate) -> Result<(), OpError> {
    change(replica, scope_text, Some(rate), &[]).await
}

/// Sets one cap of the queue `scope_text` names (`queue:NAME`); 0 removes it.
pub async fn set_cap(replica: &Replica, scope_text: &str, cap: CapKind, value: u64) -> Result<(), OpError> {
    change(replica, scope_text, None, &[(cap, value)]).await
}

/// Sets the rate of `scope` if given, and each of `caps` (0 removes one) for a queue: checked
/// first, then proposed together, so a change is made whole or not at all.
pub async fn change(
    replica: &Replica,
    scope_text: &str,
    rate: Option<Rate>,
    caps: &[(CapKind, u64)],
) -> Result<(), OpError> {
    let scope = scope(scope_text)?;
    let mut commands = Vec::new();
    if let Some(rate) = rate {
        rate.must_be_valid().map_err(OpError::Invalid)?;
        commands.push(Command::SetLimit {
            scope: scope.clone(),
            rate,
        });
    }
    if let Some((cap, _)) = caps.first() {
        let LimitScope::Queue(queue) = &scope else {
            return Err(OpError::Invalid(format!(
                "{cap} caps a queue: write queue:NAME, not {scope_text}"
            )));
        };
        commands.extend(caps.iter().map(|&(cap, value)| Command::SetQueueCap {
            queue: queue.clone(),
            cap,
            value,
        }));
    }
    if commands.is_empty() {
        return Err(OpError::Invalid(
            "name what to set: a rate (count and per_ms), max-length or max-bytes".into(),
        ));
    }
    for outcome in replica.propose(commands).await? {
        if let Outcome::Rejected(rejection) = outcome {
            return Err(OpError::Rejected(rejection));
        }
    }
    Ok(())
}

/// Removes the rate limit of `scope`, and a queue's caps; whether there was any.
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
    let caps = replica.settings().store_caps;
    Ok(LimitsView {
        caps: queue
            .caps()
            .map(|cap| {
                let held = queue.held(&cap.queue);
                CapView {
                    queue: cap.queue.clone(),
                    max_length: cap.max_length.unwrap_or(0),
                    max_bytes: cap.max_bytes.unwrap_or(0),
                    length: held.tasks,
                    bytes: held.bytes,
                }
            })
            .collect(),
        store: {
            let usage = queue.usage();
            StoreView {
                tasks: usage.tasks,
                max_tasks: caps.max_tasks,
                bytes: usage.bytes,
                max_bytes: caps.max_stored_bytes,
            }
        },
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
