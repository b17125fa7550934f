//! [`Answers`]: the pool's acks and fails, sent in batches. Attempts that end while
//! [`IN_FLIGHT`] batches are being committed go out together in the next one, so a burst of
//! short tasks costs a few log entries instead of one each; an answer that finds a place free
//! goes at once, not behind the commit of the one before it (the proposer groups concurrent
//! batches into one entry anyway).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::queue::{Command, Outcome, answer};
use crate::raft::{ProposeError, Replica};

/// Most answers in one proposal.
const MAX_BATCH: usize = 1024;
/// Attempts to get a batch's outcome before its leases are left to expire.
const MAX_TRIES: u32 = 10;
/// Batches being committed at once.
const IN_FLIGHT: usize = 4;

type Pending = (Command, oneshot::Sender<()>);

/// Handle on the answering task; cheap to clone.
#[derive(Clone)]
pub struct Answers {
    queue: mpsc::UnboundedSender<Pending>,
    max_result_bytes: usize,
}

impl Answers {
    pub fn start(replica: Replica, max_result_bytes: usize) -> Answers {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(send_batches(replica, pending));
        Answers {
            queue,
            max_result_bytes,
        }
    }

    /// Sends an ack or fail and returns once it is committed, refused, or given up on.
    pub async fn send(&self, command: Command) {
        let command = answer::within_limits(command, self.max_result_bytes);
        let (done, confirmed) = oneshot::channel();
        if self.queue.send((command, done)).is_ok() {
            let _ = confirmed.await;
        }
    }
}

async fn send_batches(replica: Replica, mut pending: mpsc::UnboundedReceiver<Pending>) {
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        let Ok(place) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = pending.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let replica = replica.clone();
        tokio::spawn(async move {
            let (commands, waiters): (Vec<Command>, Vec<oneshot::Sender<()>>) = batch.into_iter().unzip();
            let started = std::time::Instant::now();
            propose_until_known(&replica, commands).await;
            replica.timings().worker_answer.observe_since(started);
            drop(place);
            for waiter in waiters {
                let _ = waiter.send(());
            }
        });
    }
}

/// Proposes the answers, resending while the outcome is unknown: a resend after an applied first
/// try is refused as stale, which also means done.
async fn propose_until_known(replica: &Replica, commands: Vec<Command>) {
    let mut pause = Duration::from_millis(100);
    for _ in 0..MAX_TRIES {
        match replica.propose(commands.clone()).await {
            Ok(outcomes) => {
                for outcome in outcomes {
                    if let Outcome::Rejected(rejection) = outcome {
                        tracing::info!(%rejection, "answer refused");
                    }
                }
                return;
            }
            Err(ProposeError::ShuttingDown) => return,
            Err(e) => {
                tracing::debug!(error = %e, answers = commands.len(), "answers not confirmed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
    tracing::warn!(
        answers = commands.len(),
        "gave up answering; the leases will expire and the tasks run again"
    );
}
