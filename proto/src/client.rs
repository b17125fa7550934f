//! [`Client`]: the typed client every qraft crate uses to talk to a cluster.
//!
//! It holds one lazy channel per node, follows not-leader answers and retries across failovers.
//! A failed attempt is classified from its status, the call's kind and the node asked:
//!
//! | failure                                                   | read          | write          |
//! |-----------------------------------------------------------|---------------|----------------|
//! | INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, ...       | fail          | fail           |
//! | FAILED_PRECONDITION without `x-qraft-leader`              | fail          | fail           |
//! | transient code¹ or not-leader², leader named elsewhere    | follow it     | follow it³     |
//! | the same, leader named is the node asked                  | pause, again  | pause, again³  |
//! | the same, no leader named                                 | next node     | next node³     |
//!
//! ¹ UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, ABORTED, RESOURCE_EXHAUSTED, which
//! includes transport errors. ² FAILED_PRECONDITION with `x-qraft-leader`. ³ Only when the
//! status carries `x-qraft-not-applied: 1` or the TCP connect failed; any other such failure of
//! a write is returned as [`ClientError::Unknown`], because resending could apply it twice.
//!
//! A client built [`Client::with_hedge`] does not wait out the attempt timeout of a read or a
//! keyed submit: after the hedge delay it also asks the next node, keeps both attempts running
//! and takes the first answer. A leader that froze or was cut off then costs a failover, not a
//! timeout. Other calls are never hedged.
//!
//! - `nodes`: the address book (parsing, channels, leader hint).
//! - `retry`: [`RetryPolicy`], the backoff and the classification above.
//! - `error`: [`ClientError`].
//! - `task_calls`, `worker_calls`, `admin_calls`, `control_calls`, `flow_calls`: one method per
//!   remaining RPC (and builders for flows).

mod admin_calls;
mod control_calls;
mod error;
mod flow_calls;
mod nodes;
mod retry;
mod stubs;
mod task_calls;
#[cfg(test)]
mod tests;
mod worker_calls;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use tokio::time::Instant;
use tonic::{Response, Status};

pub use self::admin_calls::DeadLetters;
pub use self::error::ClientError;
use self::nodes::AddressBook;
pub use self::nodes::NodeChannel;
pub use self::retry::RetryPolicy;
use self::retry::{Backoff, CallKind, Decision, classify, is_connect_error, leader_of};
use crate::pb;
use crate::security::Credentials;

/// Default longest wait for one answer from one node. A write waits for a majority to persist
/// it, which takes milliseconds; seconds mean the node is stuck and another should be tried.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A handle on a qraft cluster. Cheap to clone; clones share connections and the leader hint.
#[derive(Debug, Clone)]
pub struct Client {
    /// Shared so that what one call learns about the leader helps every clone.
    book: Arc<Mutex<AddressBook>>,
    /// Longest wait for one attempt; per handle so a caller can tighten it for one use.
    timeout: Duration,
    /// Per handle too: a CLI may give up sooner than a worker that must ride out an election.
    retry: RetryPolicy,
    /// After this long without an answer, a call that is safe to repeat is also sent to the
    /// next node, the first attempt still running: a leader that froze or was cut off answers
    /// nothing, and waiting out `timeout` on it costs more than a failover. `None`: never.
    hedge: Option<Duration>,
}

impl Client {
    /// A client for the nodes at `addrs` (`host:port`, optionally prefixed with `http://`).
    ///
    /// Nothing is connected yet: each node's channel connects on first use, so a node that is
    /// down now costs nothing until a call needs it.
    pub fn new(addrs: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Client, ClientError> {
        Client::with_credentials(addrs, &Credentials::default())
    }

    /// A client that speaks TLS and presents a token, as `credentials` say.
    pub fn with_credentials(
        addrs: impl IntoIterator<Item = impl AsRef<str>>,
        credentials: &Credentials,
    ) -> Result<Client, ClientError> {
        Ok(Client {
            book: Arc::new(Mutex::new(AddressBook::parse(addrs, credentials)?)),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            hedge: None,
        })
    }

    /// Sets the longest wait for one answer from one node (default 5 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// Hedges reads and keyed submits: one without an answer `after` this long is also sent to
    /// the next node, and the first answer wins. Other calls are never hedged: writes that could
    /// apply twice, long polls, and calls whose answer would differ the second time (a purge's
    /// count). Off by default.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = qraft_proto::Client::new(["127.0.0.1:7100", "127.0.0.1:7101"])?
    ///     .with_hedge(Duration::from_millis(250));
    /// # Ok::<(), qraft_proto::ClientError>(())
    /// ```
    pub fn with_hedge(mut self, after: Duration) -> Client {
        self.hedge = Some(after);
        self
    }

    /// Sets how hard calls are retried.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Client {
        self.retry = retry;
        self
    }

    /// Known node addresses: those given to [`Client::new`], then leaders learned from answers.
    pub fn addrs(&self) -> Vec<String> {
        self.book().addrs()
    }

    /// The node currently believed to lead, if any answer named one.
    pub fn leader_hint(&self) -> Option<String> {
        self.book().leader_addr()
    }

    /// Stores a task durably and returns its id. With an idempotency key the submit is safe to
    /// resend, so it is retried even when an attempt's outcome is unknown: a resend that finds
    /// the first one applied gets the same task back. Without a key, an unknown outcome is
    /// returned as [`ClientError::Unknown`].
    pub async fn submit(&self, spec: pb::TaskSpec) -> Result<pb::SubmitResponse, ClientError> {
        let keyed = !spec.idempotency_key.is_empty();
        let request = pb::SubmitRequest { task: Some(spec) };
        stubs::must_fit(&request, "the task")?;
        let call = |channel| {
            let request = request.clone();
            async move { into_inner(stubs::tasks(channel).submit(request).await) }
        };
        if keyed {
            self.call_hedged(call).await
        } else {
            self.call_write(call).await
        }
    }

    /// Reads one task. With `linearizable`, the leader confirms its leadership before answering,
    /// so the answer reflects every write acknowledged before the call.
    pub async fn get_task(&self, id: &str, linearizable: bool) -> Result<pb::Task, ClientError> {
        let request = pb::GetTaskRequest {
            id: id.to_owned(),
            linearizable,
        };
        let response = self
            .call_hedged(|channel| {
                let request = request.clone();
                async move { into_inner(stubs::tasks(channel).get_task(request).await) }
            })
            .await?;
        response
            .task
            .ok_or_else(|| ClientError::Protocol(format!("the answer for task {id:?} has no task")))
    }

    /// Asks exactly the node at `addr` for its status: one attempt, no failover, so the answer
    /// is that node's own view. An address the client did not know is added.
    pub async fn node_status(&self, addr: &str) -> Result<pb::NodeStatus, ClientError> {
        let (addr, channel) = self.channel_to(addr)?;
        let mut admin = stubs::admin(channel);
        let call = admin.node_status(pb::NodeStatusRequest {});
        let status = match self.attempt(call).await {
            Ok(response) => response.into_inner(),
            Err(status) => {
                return Err(match classify(&status, CallKind::Idempotent, &addr) {
                    Decision::Fail => ClientError::from_status(status),
                    _ => ClientError::Unavailable {
                        addrs: vec![addr],
                        attempts: 1,
                        last: error::describe(&status),
                    },
                });
            }
        };
        if !status.leader_addr.is_empty() {
            self.book().set_leader(&status.leader_addr);
        }
        Ok(status)
    }

    /// Every known node's status, asked concurrently, in [`Client::addrs`] order.
    pub async fn cluster_status(&self) -> Vec<(String, Result<pb::NodeStatus, ClientError>)> {
        let addrs = self.addrs();
        let answers = futures::future::join_all(addrs.iter().map(|addr| self.node_status(addr))).await;
        addrs.into_iter().zip(answers).collect()
    }

    /// Runs a call that is safe to repeat (a read), failing over on any transient error.
    ///
    /// `call` gets the channel of the node to ask and is invoked once per attempt:
    ///
    /// ```no_run
    /// # async fn example(client: qraft_proto::Client) -> Result<(), qraft_proto::ClientError> {
    /// use qraft_proto::pb::{GetTaskRequest, tasks_client::TasksClient};
    ///
    /// let request = GetTaskRequest { id: "t1".into(), linearizable: false };
    /// let answer = client
    ///     .call_idempotent(|channel| {
    ///         let request = request.clone();
    ///         async move { TasksClient::new(channel).get_task(request).await }
    ///     })
    ///     .await?
    ///     .into_inner();
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_idempotent<T, F, Fut>(&self, call: F) -> Result<T, ClientError>
    where
        F: FnMut(NodeChannel) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        self.call(CallKind::Idempotent, None, call).await
    }

    /// Like [`Client::call_idempotent`], for a call that changes nothing when repeated (a read,
    /// a keyed submit): hedged if the client is (see [`Client::with_hedge`]). A repeat may see a
    /// later state, and a keyed submit's repeat says `duplicate`.
    pub(crate) async fn call_hedged<T, F, Fut>(&self, call: F) -> Result<T, ClientError>
    where
        F: FnMut(NodeChannel) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        self.call(CallKind::Idempotent, self.hedge, call).await
    }

    /// Runs a call that must not be applied twice (a write). It is sent again only when the
    /// failure proves it was not applied; otherwise the result is [`ClientError::Unknown`].
    pub async fn call_write<T, F, Fut>(&self, call: F) -> Result<T, ClientError>
    where
        F: FnMut(NodeChannel) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        self.call(CallKind::Write, None, call).await
    }

    /// The retry loop: start at the leader hint, follow leader answers, round-robin otherwise,
    /// and pause after each full pass over the nodes without an answer. A hedged call keeps its
    /// slow attempts running beside the next ones, and takes whichever succeeds first.
    async fn call<T, F, Fut>(
        &self,
        kind: CallKind,
        hedge: Option<Duration>,
        mut call: F,
    ) -> Result<T, ClientError>
    where
        F: FnMut(NodeChannel) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let started = Instant::now();
        let deadline = started + self.retry.deadline;
        let mut backoff = Backoff::new(&self.retry);
        let mut index = self.book().first();
        // Attempts still running, and the nodes they went to (by index in the address book,
        // which only grows): one, or more while hedged.
        let mut running = FuturesUnordered::new();
        let mut asked: Vec<usize> = Vec::new();
        // Nodes asked since the last pause. Following a leader counts too, so two nodes that
        // name each other during an election cannot burn every attempt without a pause.
        let mut asked_since_pause = 0;
        let max_attempts = self.retry.attempts.max(1);
        let mut attempts = 0;
        let mut last_error = String::from("no attempt was made before the deadline");
        // The end of the pause under way; attempts still running may answer during it.
        let mut paused_until: Option<Instant> = None;
        // A definite answer (NOT_FOUND, ...) while other attempts run: theirs may still succeed.
        let mut definite: Option<ClientError> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let wake = match paused_until {
                Some(until) => Some(until),
                None if attempts >= max_attempts => break,
                None => {
                    let (at, addr, channel) = {
                        let book = self.book();
                        let at = index % book.len();
                        let (addr, channel) = book.node(at);
                        (at, addr, channel)
                    };
                    // A node still working on this call is not asked twice: its answer is awaited.
                    if !asked.contains(&at) {
                        attempts += 1;
                        asked.push(at);
                        let attempt = self.attempt_within(left, call(channel));
                        running.push(async move { (at, addr, attempt.await) });
                    }
                    // With every node asked, there is no one left to hedge to.
                    hedge
                        .filter(|_| asked.len() < self.book().len())
                        .map(|after| Instant::now() + after)
                }
            };
            let (addr, status) = match next_answer(&mut running, wake).await {
                Answer::Value(value) => return Ok(value),
                Answer::Failed(at, addr, status) => {
                    asked.retain(|busy| *busy != at);
                    // Go on from the node that failed: a hedged call's may not be the last asked.
                    index = at;
                    (addr, status)
                }
                Answer::Woken => {
                    if paused_until.take().is_some() {
                        asked_since_pause = 0;
                    } else {
                        index += 1;
                    }
                    continue;
                }
            };
            // Learn the leader even from an answer we will not retry: the next call benefits.
            if let Some(leader) = leader_of(&status) {
                self.book().set_leader(&leader);
            }
            let decision = classify(&status, kind, &addr);
            last_error = format!("{addr}: {}", error::describe(&status));
            tracing::debug!(
                %addr,
                attempt = attempts,
                code = ?status.code(),
                ?decision,
                error = %last_error,
                "call failed"
            );
            let pause = match decision {
                Decision::Fail => {
                    definite = Some(ClientError::from_status(status));
                    break;
                }
                Decision::OutcomeUnknown => return Err(ClientError::Unknown { addr, status }),
                Decision::RetrySameNode => true,
                Decision::FollowLeader(leader) => {
                    // `None` only if the address was unusable; then move on as for RetryNext.
                    index = self.book().set_leader(&leader).unwrap_or(index + 1);
                    asked_since_pause += 1;
                    asked_since_pause >= self.book().len()
                }
                Decision::RetryNext => {
                    if is_connect_error(&status) {
                        self.book().forget_leader(index);
                    }
                    index += 1;
                    asked_since_pause += 1;
                    asked_since_pause >= self.book().len()
                }
            };
            if pause && paused_until.is_none() && attempts < max_attempts {
                let wait = backoff.next_pause();
                if started.elapsed() + wait >= self.retry.deadline {
                    break;
                }
                tracing::debug!(wait_ms = wait.as_millis(), "no node answered; pausing");
                paused_until = Some(Instant::now() + wait);
            }
        }
        // Attempts still running may yet succeed; each is bounded by the deadline.
        while let Some((_, addr, result)) = running.next().await {
            match result {
                Ok(value) => return Ok(value),
                Err(status) => last_error = format!("{addr}: {}", error::describe(&status)),
            }
        }
        if let Some(error) = definite {
            return Err(error);
        }
        Err(ClientError::Unavailable {
            addrs: self.addrs(),
            attempts,
            last: last_error,
        })
    }

    /// One attempt, bounded by the per-attempt timeout.
    async fn attempt<T>(&self, call: impl Future<Output = Result<T, Status>>) -> Result<T, Status> {
        self.attempt_within(self.timeout, call).await
    }

    /// One attempt, bounded by the per-attempt timeout and by what is `left` of the deadline.
    async fn attempt_within<T>(
        &self,
        left: Duration,
        call: impl Future<Output = Result<T, Status>>,
    ) -> Result<T, Status> {
        let limit = self.timeout.min(left);
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(Status::deadline_exceeded(format!(
                "no answer within {} ms",
                limit.as_millis()
            )))
        })
    }

    /// The node at `addr` (added if new) and its channel: for calls that must reach exactly that
    /// node, with no failover.
    fn channel_to(&self, addr: &str) -> Result<(String, NodeChannel), ClientError> {
        let mut book = self.book();
        let index = book.find_or_add(addr)?;
        Ok(book.node(index))
    }

    /// The address book. Never held across an `.await`; a panic while holding it cannot leave
    /// it half-updated, so a poisoned lock is still safe to use.
    fn book(&self) -> MutexGuard<'_, AddressBook> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What came first of a call's running attempts.
enum Answer<T> {
    Value(T),
    /// The index of the node in the address book, its address, its answer.
    Failed(usize, String, Status),
    /// The wake-up time came first: a hedge is due, or a pause is over.
    Woken,
}

/// The first attempt of `running` to finish, or [`Answer::Woken`] at `wake`. Never called
/// with nothing running and no `wake`: the caller has just added an attempt, or a node that is
/// still answering was not asked twice, or it pauses.
async fn next_answer<T>(
    running: &mut FuturesUnordered<impl Future<Output = (usize, String, Result<T, Status>)>>,
    wake: Option<Instant>,
) -> Answer<T> {
    let woken = async {
        match wake {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        Some((at, addr, result)) = running.next() => match result {
            Ok(value) => Answer::Value(value),
            Err(status) => Answer::Failed(at, addr, status),
        },
        () = woken => Answer::Woken,
    }
}

/// Drops the response metadata, which no qraft call uses.
pub(crate) fn into_inner<T>(result: Result<Response<T>, Status>) -> Result<T, Status> {
    result.map(Response::into_inner)
}
