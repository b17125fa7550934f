//! Cluster-changing actions the operator can ask for: built by the update logic from the
//! selection, confirmed if destructive, and executed by the fetcher (`fetch/actions.rs`).

pub use qraft_proto::DeadLetters;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    PauseQueue(String),
    ResumeQueue(String),
    PurgeQueue(String),
    Revoke(String),
    RetryDead(DeadLetters),
    PurgeDead(DeadLetters),
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

fn dead_scope(target: &DeadLetters) -> String {
    match target {
        DeadLetters::Task(id) => format!("dead task {id}"),
        DeadLetters::Queue(queue) => format!("the dead letters of queue {queue}"),
        DeadLetters::All => "every dead letter".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_the_target() {
        assert_eq!(
            Action::PurgeDead(DeadLetters::Queue("emails".into())).describe(),
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
