//! Runs the operator's actions, each on its own task so a slow one (a leader transfer during
//! an election) does not hold back the next, and reports every result.

use std::sync::Arc;

use qraft_proto::Client;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use super::{convert, describe};
use crate::action::{Action, DeadLetters};
use crate::app::Msg;
use crate::format;
use crate::model::TaskState;

pub(super) async fn run(
    client: Client,
    mut actions: mpsc::UnboundedReceiver<Action>,
    refresh_now: Arc<Notify>,
    out: mpsc::UnboundedSender<Msg>,
) {
    // Owned here so that stopping the runner stops the actions still in flight.
    let mut running = JoinSet::new();
    loop {
        tokio::select! {
            action = actions.recv() => {
                let Some(action) = action else { return };
                let client = client.clone();
                let out = out.clone();
                let refresh_now = refresh_now.clone();
                running.spawn(async move {
                    tracing::info!(action = action.describe(), "running action");
                    let result = execute(&client, &action).await;
                    if let Err(error) = &result {
                        tracing::warn!(action = action.describe(), %error, "action failed");
                    }
                    // Show the action's effect without waiting for the next tick.
                    refresh_now.notify_one();
                    // A closed channel means the console is quitting: nobody to tell.
                    let _ = out.send(Msg::ActionDone { action, result });
                });
            }
            Some(_) = running.join_next() => {}
        }
    }
}

async fn execute(client: &Client, action: &Action) -> Result<String, String> {
    let result = match action {
        Action::PauseQueue(queue) => client
            .pause_queue(queue)
            .await
            .map(|()| format!("queue {queue} paused")),
        Action::ResumeQueue(queue) => client
            .resume_queue(queue)
            .await
            .map(|()| format!("queue {queue} resumed")),
        Action::PurgeQueue(queue) => client
            .purge_queue(queue)
            .await
            .map(|count| format!("purged {count} tasks from queue {queue}")),
        Action::Revoke(id) => {
            client
                .revoke(id)
                .await
                .map(|response| match convert::revoke_outcome(&response) {
                    TaskState::Revoked => format!("task {id} revoked"),
                    other => format!("task {id} had already finished ({})", other.name()),
                })
        }
        Action::RetryDead(target) => client
            .retry_dead(target)
            .await
            .map(|count| format!("retried {}", dead_count(count, target))),
        Action::PurgeDead(target) => client
            .purge_dead(target)
            .await
            .map(|count| format!("purged {}", dead_count(count, target))),
        Action::TransferLeader { id, .. } => client.transfer_leader(Some(*id)).await.map(|response| {
            let (leader, pause_ms) = convert::transfer_outcome(response);
            format!(
                "n{} ({}) leads now; writes paused {}",
                leader.id,
                leader.addr,
                format::duration_ms(pause_ms)
            )
        }),
    };
    result.map_err(|error| describe(&error))
}

fn dead_count(count: u64, target: &DeadLetters) -> String {
    let letters = if count == 1 { "dead letter" } else { "dead letters" };
    match target {
        DeadLetters::Task(id) => format!("{count} {letters} (task {id})"),
        DeadLetters::Queue(queue) => format!("{count} {letters} of queue {queue}"),
        DeadLetters::All => format!("{count} {letters}"),
    }
}
