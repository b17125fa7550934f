//! Cluster-changing actions the operator can ask for: built by the update logic from the
//! selection, confirmed if destructive, and executed by the fetcher (`fetch/actions.rs`).

/// Which dead letters an action covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadTarget {
    Task(String),
    Queue(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    PauseQueue(String),
    ResumeQueue(String),
    PurgeQueue(String),
    Revoke(String),
    RetryDead(DeadTarget),
    PurgeDead(DeadTarget),
    TransferLeader { id: u64, addr: String },
}

impl Action {
    /// What the action does, as a confirmation question and a progress message put it.
    pub fn describe(&self) -> String {
        match self {
            Action::PauseQueue(queue) => format!("pause queue {queue}"),
            Action::ResumeQueue(queue) => format!("resume queue {queue}"),
            Action::PurgeQueue(queue) => {
                format!("purge queue {queue} (delete its pending, scheduled and retrying tasks)")
            }
            Action::Revoke(id) => format!("revoke task {id}"),
            Action::RetryDead(target) => format!("retry {}", dead_scope(target)),
            Action::PurgeDead(target) => format!("purge {} for good", dead_scope(target)),
            Action::TransferLeader { id, addr } => format!("make n{id} ({addr}) the leader"),
        }
    }
}

fn dead_scope(target: &DeadTarget) -> String {
    match target {
        DeadTarget::Task(id) => format!("dead task {id}"),
        DeadTarget::Queue(queue) => format!("the dead letters of queue {queue}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_the_target() {
        assert_eq!(
            Action::PurgeDead(DeadTarget::Queue("emails".into())).describe(),
            "purge the dead letters of queue emails for good"
        );
        assert_eq!(
            Action::TransferLeader {
                id: 3,
                addr: "h:3".into()
            }
            .describe(),
            "make n3 (h:3) the leader"
        );
    }
}
