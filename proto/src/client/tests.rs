//! End-to-end tests of [`Client`] against fake nodes: real tonic servers on port 0 that answer
//! from a script and count the calls they get.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Server;
use tonic::{Request, Response, Status};

use super::*;
use crate::metadata;
use crate::pb::admin_server::{Admin, AdminServer};
use crate::pb::tasks_server::{Tasks, TasksServer};

/// What a fake node does with one call.
enum Answer<T> {
    Reply(T),
    Reject(Status),
    /// Never answers, to exercise the client's timeout.
    Hang,
    /// Replies, but only after a while: a slow node.
    Late(Duration, T),
}

/// Scripted answers to one RPC, and how many calls it got.
struct Script<T> {
    answers: Mutex<VecDeque<Answer<T>>>,
    calls: AtomicUsize,
}

impl<T> Default for Script<T> {
    fn default() -> Self {
        Script {
            answers: Mutex::default(),
            calls: AtomicUsize::new(0),
        }
    }
}

impl<T> Script<T> {
    fn push(&self, answer: Answer<T>) {
        self.answers.lock().expect("script lock").push_back(answer);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn next(&self) -> Result<Response<T>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = self.answers.lock().expect("script lock").pop_front();
        match answer {
            Some(Answer::Reply(reply)) => Ok(Response::new(reply)),
            Some(Answer::Reject(status)) => Err(status),
            Some(Answer::Hang) => futures::future::pending().await,
            Some(Answer::Late(after, reply)) => {
                tokio::time::sleep(after).await;
                Ok(Response::new(reply))
            }
            None => Err(Status::internal("fake node: no scripted answer left")),
        }
    }
}

#[derive(Default)]
struct Fake {
    submits: Script<pb::SubmitResponse>,
    reads: Script<pb::GetTaskResponse>,
    statuses: Script<pb::NodeStatus>,
}

struct FakeTasks(Arc<Fake>);
struct FakeAdmin(Arc<Fake>);

#[tonic::async_trait]
impl Tasks for FakeTasks {
    async fn submit(&self, _: Request<pb::SubmitRequest>) -> Result<Response<pb::SubmitResponse>, Status> {
        self.0.submits.next().await
    }

    async fn get_task(
        &self,
        _: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::GetTaskResponse>, Status> {
        self.0.reads.next().await
    }

    async fn submit_batch(
        &self,
        _: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::SubmitBatchResponse>, Status> {
        Err(not_scripted())
    }

    async fn wait(&self, _: Request<pb::WaitRequest>) -> Result<Response<pb::WaitResponse>, Status> {
        Err(not_scripted())
    }

    async fn revoke(&self, _: Request<pb::RevokeRequest>) -> Result<Response<pb::RevokeResponse>, Status> {
        Err(not_scripted())
    }

    async fn list_tasks(
        &self,
        _: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        Err(not_scripted())
    }

    type WatchFinishedStream = futures::stream::Empty<Result<pb::FinishedTasks, Status>>;

    async fn watch_finished(
        &self,
        _: Request<pb::WatchFinishedRequest>,
    ) -> Result<Response<Self::WatchFinishedStream>, Status> {
        Err(not_scripted())
    }
}

/// The fakes script only the calls the client tests exercise.
fn not_scripted() -> Status {
    Status::unimplemented("not scripted in this fake")
}

#[tonic::async_trait]
impl Admin for FakeAdmin {
    async fn node_status(
        &self,
        _: Request<pb::NodeStatusRequest>,
    ) -> Result<Response<pb::NodeStatus>, Status> {
        self.0.statuses.next().await
    }

    async fn list_workers(
        &self,
        _: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        Err(not_scripted())
    }

    async fn list_queues(
        &self,
        _: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        Err(not_scripted())
    }

    async fn pause_queue(&self, _: Request<pb::QueueRequest>) -> Result<Response<pb::QueueResponse>, Status> {
        Err(not_scripted())
    }

    async fn resume_queue(
        &self,
        _: Request<pb::QueueRequest>,
    ) -> Result<Response<pb::QueueResponse>, Status> {
        Err(not_scripted())
    }

    async fn purge_queue(&self, _: Request<pb::QueueRequest>) -> Result<Response<pb::CountResponse>, Status> {
        Err(not_scripted())
    }

    async fn list_dead(
        &self,
        _: Request<pb::ListDeadRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        Err(not_scripted())
    }

    async fn retry_dead(&self, _: Request<pb::DeadRequest>) -> Result<Response<pb::CountResponse>, Status> {
        Err(not_scripted())
    }

    async fn purge_dead(&self, _: Request<pb::DeadRequest>) -> Result<Response<pb::CountResponse>, Status> {
        Err(not_scripted())
    }

    type WatchEventsStream = futures::stream::Empty<Result<pb::Events, Status>>;

    async fn watch_events(
        &self,
        _: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        Err(not_scripted())
    }

    async fn transfer_leader(
        &self,
        _: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        Err(not_scripted())
    }

    async fn add_node(
        &self,
        _: Request<pb::AddNodeRequest>,
    ) -> Result<Response<pb::AddNodeResponse>, Status> {
        Err(not_scripted())
    }

    async fn remove_node(
        &self,
        _: Request<pb::RemoveNodeRequest>,
    ) -> Result<Response<pb::RemoveNodeResponse>, Status> {
        Err(not_scripted())
    }
}

/// A fake node serving on 127.0.0.1; stops when dropped.
struct FakeNode {
    addr: String,
    fake: Arc<Fake>,
    server: JoinHandle<()>,
}

impl FakeNode {
    /// The listener is bound before this returns, so connections made right after are queued
    /// by the kernel until the server accepts them: no need to wait for it to start.
    async fn start() -> FakeNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr").to_string();
        let fake = Arc::new(Fake::default());
        let router = Server::builder()
            .add_service(TasksServer::new(FakeTasks(fake.clone())))
            .add_service(AdminServer::new(FakeAdmin(fake.clone())));
        let server = tokio::spawn(async move {
            router
                .serve_with_incoming(TcpListenerStream::new(listener))
                .await
                .expect("fake node serves");
        });
        FakeNode { addr, fake, server }
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// An address nothing listens on: bound, then released.
async fn dead_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    listener.local_addr().expect("local addr").to_string()
}

/// Retries quickly so failover tests take milliseconds.
fn fast_client(addrs: &[&str]) -> Client {
    Client::new(addrs)
        .expect("valid addresses")
        .with_retry(RetryPolicy {
            attempts: 6,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            deadline: Duration::from_secs(10),
        })
}

fn spec() -> pb::TaskSpec {
    pb::TaskSpec {
        name: "mail.send".into(),
        ..Default::default()
    }
}

/// A submit that is safe to resend, and so to hedge.
fn keyed_spec() -> pb::TaskSpec {
    pb::TaskSpec {
        idempotency_key: "order-7".into(),
        ..spec()
    }
}

fn submitted(id: &str) -> Answer<pb::SubmitResponse> {
    Answer::Reply(pb::SubmitResponse {
        id: id.into(),
        state: pb::TaskState::Pending.into(),
        duplicate: false,
    })
}

fn not_applied(mut status: Status) -> Status {
    let flag = MetadataValue::from_static("1");
    status.metadata_mut().insert(metadata::NOT_APPLIED, flag);
    status
}

fn with_leader(mut status: Status, leader: &str) -> Status {
    let leader = leader.parse().expect("ascii address");
    status.metadata_mut().insert(metadata::LEADER, leader);
    status
}

/// Asserts `response` is an unknown outcome from the node at `addr`, with status `code`.
fn assert_unknown<T: std::fmt::Debug>(response: Result<T, ClientError>, addr: &str, code: tonic::Code) {
    match response {
        Err(ClientError::Unknown { addr: asked, status }) => {
            assert_eq!(asked, addr);
            assert_eq!(status.code(), code);
        }
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[test]
fn client_and_its_calls_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let client = Client::new(["127.0.0.1:1"]).expect("valid address");
    send_sync(&client);
    send(&client.submit(spec()));
    send(&client.get_task("t", false));
    send(&client.cluster_status());
}

#[tokio::test]
async fn submit_is_resent_when_the_node_says_it_was_not_applied() {
    let node = FakeNode::start().await;
    node.fake
        .submits
        .push(Answer::Reject(not_applied(Status::unavailable("no leader yet"))));
    node.fake.submits.push(submitted("t1"));

    let response = fast_client(&[&node.addr]).submit(spec()).await;

    assert_eq!(response.expect("submit succeeds on retry").id, "t1");
    assert_eq!(node.fake.submits.calls(), 2);
}

#[tokio::test]
async fn submit_is_not_resent_when_the_outcome_is_unknown() {
    let node = FakeNode::start().await;
    node.fake
        .submits
        .push(Answer::Reject(Status::unavailable("leader lost")));
    node.fake.submits.push(submitted("must-not-be-used"));

    let response = fast_client(&[&node.addr]).submit(spec()).await;

    assert_unknown(response, &node.addr, tonic::Code::Unavailable);
    assert_eq!(node.fake.submits.calls(), 1);
}

#[tokio::test]
async fn submit_that_times_out_has_an_unknown_outcome() {
    let node = FakeNode::start().await;
    node.fake.submits.push(Answer::Hang);

    let client = fast_client(&[&node.addr]).with_timeout(Duration::from_millis(100));
    let response = client.submit(spec()).await;

    assert_unknown(response, &node.addr, tonic::Code::DeadlineExceeded);
    assert_eq!(node.fake.submits.calls(), 1);
}

#[tokio::test]
async fn submit_follows_the_leader_named_by_a_follower() {
    let follower = FakeNode::start().await;
    let leader = FakeNode::start().await;
    follower.fake.submits.push(Answer::Reject(not_applied(with_leader(
        Status::failed_precondition("not the leader"),
        &format!("http://{}", leader.addr),
    ))));
    leader.fake.submits.push(submitted("t1"));
    leader.fake.submits.push(submitted("t2"));
    let client = fast_client(&[&follower.addr]);

    let first = client.submit(spec()).await.expect("first submit");
    assert_eq!(first.id, "t1");
    assert_eq!(client.leader_hint(), Some(leader.addr.clone()));
    assert_eq!(client.addrs(), [follower.addr.clone(), leader.addr.clone()]);

    // The hint is shared by clones, and later writes go straight to the leader.
    let second = client.clone().submit(spec()).await.expect("second submit");
    assert_eq!(second.id, "t2");
    assert_eq!(follower.fake.submits.calls(), 1);
    assert_eq!(leader.fake.submits.calls(), 2);
}

#[tokio::test]
async fn reads_follow_the_leader_without_a_not_applied_marker() {
    let follower = FakeNode::start().await;
    let leader = FakeNode::start().await;
    let not_leader = Status::failed_precondition("linearizable read needs the leader");
    follower
        .fake
        .reads
        .push(Answer::Reject(with_leader(not_leader, &leader.addr)));
    leader.fake.reads.push(Answer::Reply(pb::GetTaskResponse {
        task: Some(pb::Task {
            id: "t1".into(),
            ..Default::default()
        }),
        applied_index: 7,
    }));

    let task = fast_client(&[&follower.addr, &leader.addr])
        .get_task("t1", true)
        .await;

    assert_eq!(task.expect("read follows the leader").id, "t1");
    assert_eq!(follower.fake.reads.calls(), 1);
    assert_eq!(leader.fake.reads.calls(), 1);
}

#[tokio::test]
async fn submit_fails_over_from_a_node_that_refuses_connections() {
    let dead = dead_addr().await;
    let live = FakeNode::start().await;
    live.fake.submits.push(submitted("t1"));

    let response = fast_client(&[&dead, &live.addr]).submit(spec()).await;

    assert_eq!(response.expect("submit reaches the live node").id, "t1");
    assert_eq!(live.fake.submits.calls(), 1);
}

#[tokio::test]
async fn gives_up_after_the_attempt_budget_naming_every_node() {
    let (first, second) = (dead_addr().await, dead_addr().await);
    let client = fast_client(&[&first, &second]).with_retry(RetryPolicy {
        attempts: 3,
        initial_backoff: Duration::from_millis(1),
        ..RetryPolicy::default()
    });

    match client.submit(spec()).await {
        Err(error @ ClientError::Unavailable { attempts: 3, .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(&format!("could not reach any of {first}, {second}")),
                "{message}"
            );
        }
        other => panic!("expected Unavailable after 3 attempts, got {other:?}"),
    }
}

#[tokio::test]
async fn definite_answers_are_returned_without_retrying() {
    let node = FakeNode::start().await;
    node.fake
        .reads
        .push(Answer::Reject(Status::not_found("no task t9")));
    node.fake.reads.push(Answer::Reply(pb::GetTaskResponse {
        task: None,
        applied_index: 1,
    }));
    let client = fast_client(&[&node.addr]);

    match client.get_task("t9", false).await {
        Err(ClientError::NotFound(message)) => assert_eq!(message, "no task t9"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match client.get_task("t9", false).await {
        Err(ClientError::Protocol(message)) => assert!(message.contains("no task"), "{message}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert_eq!(node.fake.reads.calls(), 2);
}

#[tokio::test]
async fn cluster_status_asks_every_node_in_order_and_learns_the_leader() {
    let live = FakeNode::start().await;
    let dead = dead_addr().await;
    live.fake.statuses.push(Answer::Reply(pb::NodeStatus {
        id: 1,
        addr: live.addr.clone(),
        leader_addr: live.addr.clone(),
        ..Default::default()
    }));
    let client = fast_client(&[&dead, &live.addr]);

    let statuses = client.cluster_status().await;

    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[0].0, dead);
    assert!(
        matches!(statuses[0].1, Err(ClientError::Unavailable { attempts: 1, .. })),
        "{:?}",
        statuses[0].1
    );
    assert_eq!(statuses[1].0, live.addr);
    assert_eq!(statuses[1].1.as_ref().expect("live node answers").id, 1);
    assert_eq!(client.leader_hint(), Some(live.addr.clone()));
}

#[tokio::test]
async fn a_request_larger_than_a_node_decodes_is_refused_before_it_is_sent() {
    let node = FakeNode::start().await;
    node.fake.submits.push(submitted("must-not-be-used"));
    let mut huge = spec();
    huge.args = vec![b'x'; crate::limits::MAX_MESSAGE];

    let response = fast_client(&[&node.addr]).submit(huge).await;

    match response {
        Err(ClientError::InvalidArgument(message)) => {
            assert!(message.contains("more than the 64 MiB"), "{message}");
        }
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
    assert_eq!(node.fake.submits.calls(), 0);
}

/// A client for `addrs` that hedges after 20 ms, with an attempt timeout of a minute that no
/// test waits out.
fn hedged_client(addrs: &[&str]) -> Client {
    fast_client(addrs)
        .with_timeout(Duration::from_secs(60))
        .with_hedge(Duration::from_millis(20))
}

/// Bounds a call that, unhedged, would wait out a minute-long attempt timeout.
async fn within_seconds<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the hedge answered long before the attempt timeout")
}

#[tokio::test]
async fn a_keyed_submit_is_hedged_to_the_next_node_while_the_first_hangs() {
    let frozen = FakeNode::start().await;
    let live = FakeNode::start().await;
    frozen.fake.submits.push(Answer::Hang);
    live.fake.submits.push(submitted("t1"));
    let client = hedged_client(&[&frozen.addr, &live.addr]);

    let response = within_seconds(client.submit(keyed_spec())).await;

    assert_eq!(response.expect("the hedge is answered").id, "t1");
    assert_eq!(frozen.fake.submits.calls(), 1);
    assert_eq!(live.fake.submits.calls(), 1);
}

#[tokio::test]
async fn a_hedged_call_takes_the_slow_first_answer_when_the_hedge_fails() {
    let slow = FakeNode::start().await;
    let refusing = FakeNode::start().await;
    slow.fake.submits.push(Answer::Late(
        Duration::from_millis(300),
        pb::SubmitResponse {
            id: "from-the-slow-node".into(),
            ..Default::default()
        },
    ));
    // Refuses every resend too: only the first attempt's late answer can succeed.
    for _ in 0..6 {
        refusing
            .fake
            .submits
            .push(Answer::Reject(Status::unavailable("no leader yet")));
    }
    let client = hedged_client(&[&slow.addr, &refusing.addr]);

    let response = within_seconds(client.submit(keyed_spec())).await;

    assert_eq!(response.expect("the slow node answers").id, "from-the-slow-node");
    assert_eq!(
        slow.fake.submits.calls(),
        1,
        "the slow attempt is kept, not sent again"
    );
    assert!(refusing.fake.submits.calls() >= 1);
}

#[tokio::test]
async fn a_submit_without_a_key_is_never_hedged() {
    let frozen = FakeNode::start().await;
    let other = FakeNode::start().await;
    frozen.fake.submits.push(Answer::Hang);
    other.fake.submits.push(submitted("must-not-be-used"));
    let client = fast_client(&[&frozen.addr, &other.addr])
        .with_timeout(Duration::from_millis(200))
        .with_hedge(Duration::from_millis(10));

    assert_unknown(
        client.submit(spec()).await,
        &frozen.addr,
        tonic::Code::DeadlineExceeded,
    );
    assert_eq!(other.fake.submits.calls(), 0);
}

#[tokio::test]
async fn a_definite_answer_from_the_hedge_waits_for_the_first_attempt() {
    let slow = FakeNode::start().await;
    let behind = FakeNode::start().await;
    slow.fake.reads.push(Answer::Late(
        Duration::from_millis(300),
        pb::GetTaskResponse {
            task: Some(pb::Task {
                id: "t1".into(),
                ..Default::default()
            }),
            applied_index: 7,
        },
    ));
    // A replica that has not applied the submit yet: a definite answer, but not the last word.
    behind
        .fake
        .reads
        .push(Answer::Reject(Status::not_found("no task t1")));
    let client = hedged_client(&[&slow.addr, &behind.addr]);

    let task = within_seconds(client.get_task("t1", false)).await;

    assert_eq!(task.expect("the first attempt's answer wins").id, "t1");
    assert_eq!(behind.fake.reads.calls(), 1);
}

#[tokio::test]
async fn a_definite_answer_is_returned_once_no_attempt_is_left() {
    let first = FakeNode::start().await;
    let second = FakeNode::start().await;
    first
        .fake
        .reads
        .push(Answer::Reject(Status::not_found("no task t1")));
    second
        .fake
        .reads
        .push(Answer::Reject(Status::not_found("no task t1")));
    let client = fast_client(&[&first.addr, &second.addr]).with_hedge(Duration::from_millis(20));

    match within_seconds(client.get_task("t1", false)).await {
        Err(ClientError::NotFound(message)) => assert!(message.contains("t1"), "{message}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(first.fake.reads.calls() + second.fake.reads.calls(), 1);
}
