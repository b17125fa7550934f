//! A test cluster of real `qraft node` processes on free loopback ports, in a temp dir, killed
//! when dropped. Waits are on conditions with a deadline and a reason, never bare sleeps.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use qraft_proto::launch::{Membership, NodeLaunch, peers};
use qraft_proto::{Client, Credentials, pb};
use serde_json::Value;
use tempfile::TempDir;

pub const QRAFT: &str = env!("CARGO_BIN_EXE_qraft");

/// A free port on 127.0.0.1 (bound then released; the test runs nothing else on loopback that
/// would grab it in between).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free ports (see [`qraft_proto::launch::free_ports`]).
pub fn free_ports(n: usize) -> Vec<u16> {
    qraft_proto::launch::free_ports(n).expect("free ports on 127.0.0.1")
}

pub struct TestNode {
    pub addr: String,
    /// Where the node serves `/metrics`.
    pub metrics: String,
    /// Where the node serves the HTTP/JSON API.
    pub http: String,
    pub data: PathBuf,
    pub log: PathBuf,
    /// Started with `--join` this address instead of `--peers`.
    join: Option<String>,
    child: Option<Child>,
}

pub struct TestCluster {
    pub dir: TempDir,
    pub nodes: BTreeMap<u64, TestNode>,
    /// What the test's clients present; plain unless the cluster is secured.
    pub credentials: Credentials,
    peers: String,
    extra_args: Vec<String>,
    /// Environment variables for one node's process, e.g. a fake clock.
    pub node_env: BTreeMap<u64, Vec<(String, String)>>,
}

impl TestCluster {
    /// Starts `n` nodes with the same `--peers` and the given extra flags.
    pub fn start(n: u64, extra_args: &[&str]) -> TestCluster {
        let mut cluster = TestCluster::prepare(n, extra_args);
        let ids: Vec<u64> = cluster.nodes.keys().copied().collect();
        for id in ids {
            cluster.start_node(id);
        }
        cluster
    }

    /// `n` nodes with the same `--peers`, none started yet.
    pub fn prepare(n: u64, extra_args: &[&str]) -> TestCluster {
        let dir = tempfile::Builder::new()
            .prefix("qraft-test-")
            .tempdir()
            .expect("tempdir");
        // Three per node: gRPC, metrics, HTTP.
        let ports = free_ports(3 * n as usize);
        let nodes: BTreeMap<u64, TestNode> = (1..=n)
            .map(|id| {
                let first = 3 * (id as usize - 1);
                let node = TestNode {
                    addr: format!("127.0.0.1:{}", ports[first]),
                    metrics: format!("127.0.0.1:{}", ports[first + 1]),
                    http: format!("127.0.0.1:{}", ports[first + 2]),
                    data: dir.path().join(format!("n{id}")),
                    log: dir.path().join(format!("n{id}.log")),
                    join: None,
                    child: None,
                };
                (id, node)
            })
            .collect();
        let peers = peers(&nodes.values().map(|node| node.addr.clone()).collect::<Vec<_>>());
        TestCluster {
            dir,
            nodes,
            credentials: Credentials::default(),
            peers,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            node_env: BTreeMap::new(),
        }
    }

    /// Starts a new node `id` that joins the running cluster through node `via`.
    pub fn start_joining_node(&mut self, id: u64, via: u64) {
        assert!(!self.nodes.contains_key(&id), "node {id} exists already");
        let ports = free_ports(3);
        let node = TestNode {
            addr: format!("127.0.0.1:{}", ports[0]),
            metrics: format!("127.0.0.1:{}", ports[1]),
            http: format!("127.0.0.1:{}", ports[2]),
            data: self.dir.path().join(format!("n{id}")),
            log: self.dir.path().join(format!("n{id}.log")),
            join: Some(self.addr(via)),
            child: None,
        };
        self.nodes.insert(id, node);
        self.start_node(id);
    }

    pub fn start_node(&mut self, id: u64) {
        self.start_node_with(id, &[]);
    }

    /// Starts node `id` with `more` flags on top of the cluster's own, this once.
    pub fn start_node_with(&mut self, id: u64, more: &[&str]) {
        let peers = self.peers.clone();
        let mut extra = self.extra_args.clone();
        extra.extend(more.iter().map(|s| s.to_string()));
        let env = self.node_env.get(&id).cloned().unwrap_or_default();
        let node = self.nodes.get_mut(&id).expect("known node");
        let membership = match &node.join {
            Some(via) => Membership::Join(via.clone()),
            None => Membership::Peers(peers),
        };
        assert!(node.child.is_none(), "node {id} is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("open log");
        let child = NodeLaunch::new(id, &node.addr, membership, &node.data)
            .metrics_listen(&node.metrics)
            .http_listen(&node.http)
            .extra(&extra)
            .command(QRAFT)
            .env("RUST_LOG", "info,openraft=warn")
            .envs(env)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("spawn qraft node");
        node.child = Some(child);
    }

    /// Waits for node `id` to exit by itself; returns how it exited.
    pub fn wait_for_exit(&mut self, id: u64, limit: Duration) -> std::process::ExitStatus {
        let node = self.nodes.get_mut(&id).expect("known node");
        let mut child = node.child.take().expect("node is running");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait for node") {
                return status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {id} did not exit within {limit:?}");
            }
            // Polling a child's exit; the deadline above decides.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: no chance to flush or hand over anything.
    pub fn kill_node(&mut self, id: u64) {
        let node = self.nodes.get_mut(&id).expect("known node");
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the process to exit; returns whether it exited successfully.
    pub fn stop_node(&mut self, id: u64, limit: Duration) -> bool {
        let node = self.nodes.get_mut(&id).expect("known node");
        let Some(mut child) = node.child.take() else {
            return true;
        };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("send SIGTERM");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait for node") {
                return status.success();
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {id} did not exit within {limit:?} of SIGTERM");
            }
            // Polling a child's exit; the deadline above decides.
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wipe_node(&mut self, id: u64) {
        let node = &self.nodes[&id];
        assert!(node.child.is_none(), "stop node {id} before wiping it");
        std::fs::remove_dir_all(&node.data).expect("wipe data dir");
    }

    pub fn addr(&self, id: u64) -> String {
        self.nodes[&id].addr.clone()
    }

    pub fn client(&self, ids: &[u64]) -> Client {
        Client::with_credentials(ids.iter().map(|id| self.addr(*id)), &self.credentials)
            .expect("client")
            .with_timeout(Duration::from_secs(2))
    }

    pub async fn status(&self, id: u64) -> Option<pb::NodeStatus> {
        self.client(&[id]).node_status(&self.addr(id)).await.ok()
    }

    /// Waits until a settled leader: one node leads, and every node of `among` that answers
    /// names it in the same term. A node that won an election but was deposed at once (two
    /// candidates of one term, the higher id winning) is never returned.
    pub async fn wait_for_leader(&self, among: &[u64], limit: Duration) -> u64 {
        let (id, _) = wait_for(&format!("a leader among {among:?}"), limit, || async {
            let mut answers = Vec::new();
            for id in among {
                answers.extend(self.status(*id).await);
            }
            let leader = answers
                .iter()
                .filter(|s| s.role == pb::NodeRole::Leader as i32)
                .max_by_key(|s| s.term)?;
            answers
                .iter()
                .all(|s| s.leader_id == leader.id && s.term == leader.term)
                .then_some(leader.id)
        })
        .await;
        id
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for (id, node) in &self.nodes {
            let text = std::fs::read_to_string(&node.log).unwrap_or_default();
            out.push_str(&format!("----- node {id} log -----\n{text}\n"));
        }
        out
    }

    /// Fails the test if any node log shows a panic.
    pub fn must_not_have_panicked(&self) {
        for (id, node) in &self.nodes {
            let text = std::fs::read_to_string(&node.log).unwrap_or_default();
            assert!(!text.contains("panicked"), "node {id} panicked:\n{text}");
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// Polls `probe` until it returns `Some`, or panics after `limit` naming what it waited for.
/// Returns the value and how long it took.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return (value, started.elapsed());
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        // Polling interval, not synchronisation: the condition above decides.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Watches the timeline of the node at `addr` from the start until an event of the kind
/// `wanted` picks shows up (at most 20 s); returns it.
pub async fn wait_for_event<T>(
    client: &qraft_proto::Client,
    addr: &str,
    what: &str,
    wanted: impl Fn(&pb::event::Kind) -> Option<T>,
) -> T {
    let mut stream = client.watch_events(addr, 0).await.expect("event stream");
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(batch) = stream.message().await.expect("event stream") {
            if let Some(found) = batch
                .events
                .iter()
                .filter_map(|e| e.kind.as_ref())
                .find_map(&wanted)
            {
                return Some(found);
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no event for {what}"))
}

pub fn spec(name: &str) -> pb::TaskSpec {
    pb::TaskSpec {
        name: name.to_string(),
        queue: "default".into(),
        args: b"{\"n\":1}".to_vec(),
        ..Default::default()
    }
}

/// The `qraft` binary pointed at a test cluster.
pub struct Cli {
    cluster: String,
}

impl Cli {
    /// The CLI pointed at every node of a 3-node test cluster.
    pub fn of(cluster: &TestCluster) -> Cli {
        Cli {
            cluster: (1..=3).map(|id| cluster.addr(id)).collect::<Vec<_>>().join(","),
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(QRAFT)
            .args(args)
            .args(["--cluster", &self.cluster])
            .stdin(Stdio::null())
            .output()
            .expect("run qraft")
    }

    /// Runs with `--json`, expects success, returns the parsed output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let output = self.run(&with_json);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "qraft {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("qraft {args:?}: not JSON ({e}): {stdout}"))
    }

    pub fn text(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "qraft {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}
