//! The closed-loop submitters of `submit` and `e2e`: C clients take batches of B tasks from one
//! shared count of N until it runs out, each waiting for its answer before sending the next.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use qraft_proto::{Client, pb};
use tokio::task::JoinHandle;

use super::report::Report;

pub struct Load {
    pub tasks: u64,
    pub clients: u64,
    pub batch: u64,
    pub spec: pb::TaskSpec,
}

/// Running clients; `submitted` counts accepted tasks as they are answered.
pub struct Clients {
    pub submitted: Arc<AtomicU64>,
    handles: Vec<JoinHandle<(u64, Option<String>)>>,
}

/// Starts the clients. `on_answer` gets every accepted call's answers and when it was sent.
pub fn start(
    client: &Client,
    load: &Load,
    on_answer: impl Fn(Vec<pb::SubmitResponse>, Instant) + Clone + Send + 'static,
) -> Clients {
    let next = Arc::new(AtomicU64::new(0));
    let submitted = Arc::new(AtomicU64::new(0));
    let handles = (0..load.clients.min(load.tasks))
        .map(|_| {
            let (client, next, submitted, on_answer) =
                (client.clone(), next.clone(), submitted.clone(), on_answer.clone());
            let (total, batch, spec) = (load.tasks, load.batch, load.spec.clone());
            tokio::spawn(async move {
                let mut errors = 0;
                let mut last_error = None;
                loop {
                    let first = next.fetch_add(batch, Ordering::Relaxed);
                    if first >= total {
                        break;
                    }
                    let size = batch.min(total - first);
                    let sent = Instant::now();
                    let answers = if size == 1 {
                        client.submit(spec.clone()).await.map(|answer| vec![answer])
                    } else {
                        client
                            .submit_batch((0..size).map(|_| spec.clone()).collect())
                            .await
                    };
                    match answers {
                        Ok(answers) => {
                            submitted.fetch_add(size, Ordering::Relaxed);
                            on_answer(answers, sent);
                        }
                        Err(e) => {
                            errors += size;
                            last_error = Some(e.to_string());
                        }
                    }
                }
                (errors, last_error)
            })
        })
        .collect();
    Clients { submitted, handles }
}

impl Clients {
    /// Waits for every client to run out of tasks; adds their failures to `report` and returns
    /// how many tasks were accepted.
    pub async fn finish(self, report: &mut Report) -> anyhow::Result<u64> {
        for handle in self.handles {
            let (errors, last_error) = handle.await?;
            report.errors += errors;
            report.last_error = report.last_error.take().or(last_error);
        }
        Ok(self.submitted.load(Ordering::Relaxed))
    }
}
