//! The closed-loop submitters of `submit` and `e2e`: C clients take batches of B tasks from one
//! shared count of N until it runs out, each waiting for its answer before sending the next.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use qraft_proto::{Client, pb};
use tokio::task::JoinHandle;

use super::http::HttpSubmitter;
use super::report::Report;

pub struct Load {
    pub tasks: u64,
    pub clients: u64,
    pub batch: u64,
    pub spec: pb::TaskSpec,
    /// Submit over the HTTP/JSON API of these nodes (client i to node i mod n) instead of gRPC.
    pub http: Option<HttpTarget>,
    /// At most this many tasks a second, all clients together (None: as fast as answers come).
    pub rate: Option<u64>,
}

/// Where and as whom HTTP submits go.
#[derive(Clone, Debug)]
pub struct HttpTarget {
    pub addrs: Vec<String>,
    pub token: Option<String>,
}

/// The spec as the JSON `POST /v1/tasks` takes.
fn task_json(spec: &pb::TaskSpec) -> serde_json::Value {
    serde_json::json!({
        "name": spec.name,
        "queue": spec.queue,
        "args_base64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &spec.args),
    })
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
    let started = tokio::time::Instant::now();
    let handles = (0..load.clients.min(load.tasks))
        .map(|i| {
            let (client, next, submitted, on_answer) =
                (client.clone(), next.clone(), submitted.clone(), on_answer.clone());
            let (total, batch, spec, rate) = (load.tasks, load.batch, load.spec.clone(), load.rate);
            let mut http = load.http.as_ref().map(|target| {
                let addr = target.addrs[usize::try_from(i).unwrap_or(0) % target.addrs.len()].clone();
                HttpSubmitter::new(addr, target.token.clone())
            });
            let json = task_json(&spec);
            tokio::spawn(async move {
                let mut errors = 0;
                let mut last_error = None;
                loop {
                    let first = next.fetch_add(batch, Ordering::Relaxed);
                    if first >= total {
                        break;
                    }
                    let size = batch.min(total - first);
                    if let Some(rate) = rate {
                        // Task `first` is due first / rate seconds into the run.
                        let due = Duration::from_secs_f64(first as f64 / rate as f64);
                        tokio::time::sleep_until(started + due).await;
                    }
                    let sent = Instant::now();
                    let answers = match http.as_mut() {
                        Some(http) => http.submit(&json, size).await,
                        None if size == 1 => client
                            .submit(spec.clone())
                            .await
                            .map(|answer| vec![answer])
                            .map_err(|e| e.to_string()),
                        None => client
                            .submit_batch((0..size).map(|_| spec.clone()).collect())
                            .await
                            .map_err(|e| e.to_string()),
                    };
                    match answers {
                        Ok(answers) => {
                            submitted.fetch_add(size, Ordering::Relaxed);
                            on_answer(answers, sent);
                        }
                        Err(e) => {
                            errors += size;
                            last_error = Some(e);
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
