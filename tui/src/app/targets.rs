//! Which action a key means given the selection, or why it cannot apply to it.

use super::{App, View};
use crate::action::{Action, DeadLetters};
use crate::keys::KeyAction;
use crate::model::{QueueView, Role, TaskState, TaskView};

impl App {
    pub(super) fn action_for(&self, key: KeyAction) -> Result<Action, String> {
        match key {
            KeyAction::PauseQueue => Ok(Action::PauseQueue(self.target_queue()?.name.clone())),
            KeyAction::ResumeQueue => Ok(Action::ResumeQueue(self.target_queue()?.name.clone())),
            KeyAction::PurgeQueue => Ok(Action::PurgeQueue(self.target_queue()?.name.clone())),
            KeyAction::Revoke => {
                let task = self.target_task()?;
                if matches!(
                    task.state,
                    TaskState::Success | TaskState::Failure | TaskState::Revoked | TaskState::Expired
                ) {
                    return Err(format!(
                        "task {} already finished ({})",
                        task.id,
                        task.state.name()
                    ));
                }
                Ok(Action::Revoke(task.id.clone()))
            }
            KeyAction::RetryDead => self.dead_target().map(Action::RetryDead),
            KeyAction::PurgeDead => self.dead_target().map(Action::PurgeDead),
            KeyAction::TransferLeader => self.transfer_target(),
            _ => Err(format!("{key:?} is not a cluster action")),
        }
    }

    fn target_queue(&self) -> Result<&QueueView, String> {
        self.snapshot
            .queues
            .get(self.selected(View::Queues))
            .ok_or_else(|| "no queue selected".to_owned())
    }

    fn target_task(&self) -> Result<&TaskView, String> {
        self.selected_task().ok_or_else(|| "no task selected".to_owned())
    }

    fn dead_target(&self) -> Result<DeadLetters, String> {
        if self.view == View::Tasks {
            let task = self.target_task()?;
            if task.state != TaskState::Failure {
                return Err(format!(
                    "task {} is not a dead letter ({})",
                    task.id,
                    task.state.name()
                ));
            }
            return Ok(DeadLetters::Task(task.id.clone()));
        }
        let queue = self.target_queue()?;
        if queue.dead == 0 {
            return Err(format!("queue {} has no dead letters", queue.name));
        }
        Ok(DeadLetters::Queue(queue.name.clone()))
    }

    fn transfer_target(&self) -> Result<Action, String> {
        let entry = self
            .snapshot
            .nodes
            .get(self.selected(View::Cluster))
            .ok_or_else(|| "no node selected".to_owned())?;
        let id = entry
            .id()
            .ok_or_else(|| format!("{} has never answered; its id is unknown", entry.addr))?;
        if self.leader().is_some_and(|leader| leader.id == id) {
            return Err(format!("n{id} already leads"));
        }
        let Some(view) = entry.view() else {
            return Err(format!("n{id} is unreachable from here"));
        };
        // The membership may name it a learner before the node has applied the change.
        if view.role == Role::Learner || self.summary.is_learner(id) {
            return Err(format!("n{id} is a learner and cannot lead"));
        }
        Ok(Action::TransferLeader {
            id,
            addr: entry.addr.clone(),
        })
    }
}
