//! The cluster under test: real `qraft node` processes, on loopback or each in its own network
//! namespace, that the nemeses kill, pause, restart and cut off.
//!
//! - `net`: namespaces, the bridge and iptables.
//! - `security`: plain, or TLS with certificates and a token made for the run.
//! - `disks`: data directories on lazy disks that lose unsynced writes, fill up or fail.
//! - `clocks`: wall clocks that nemeses move.

pub mod clocks;
pub mod disks;
pub mod net;
pub mod security;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use qraft_proto::launch::{Membership, NodeLaunch, free_ports, peers};
use qraft_proto::{Client, RetryPolicy, pb};

use self::clocks::Clocks;
use self::disks::Disks;
use self::net::Net;
use self::security::Security;

/// The task every worker runs: it records the execution, then does a little work so that a kill
/// can land while it runs.
pub const TASK: &str = "chaos.work";
pub const QUEUE: &str = "chaos";
/// The task of every flow part and scheduled run: it records the execution like [`TASK`], then
/// returns its args as its result, so a chain passes its first args down and a chord's callback
/// gets every member's args back.
pub const STEP: &str = "chaos.step";
/// Flows and scheduled runs have a queue of their own, so the producers' tasks are checked alone.
pub const FLOW_QUEUE: &str = "chaos-flows";
/// A queue with a rate limit, served by the nodes' pools: it must keep moving whatever the
/// clocks do.
pub const LIMITED_QUEUE: &str = "chaos-limited";
/// A queue nobody serves: its tasks can only expire, on time.
pub const EXPIRING_QUEUE: &str = "chaos-expiring";
/// gRPC port of every node in namespace mode (each has its own address).
const NS_PORT: u16 = 7000;

/// How a node runs, kept so it can be restarted the same way. `id` is its slot (address,
/// namespace, files), which stays; `raft_id` is the node in the slot, which a membership change
/// replaces by a new one.
#[derive(Debug)]
struct Node {
    id: usize,
    raft_id: u64,
    /// Started with `--join` this address instead of `--peers` (a node that replaced another).
    join: Option<String>,
    addr: String,
    data: PathBuf,
    config: PathBuf,
    log: PathBuf,
    exec_log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

#[derive(Debug)]
pub struct Cluster {
    qraft: PathBuf,
    peers: String,
    nodes: Vec<Node>,
    /// The id the next replacement node gets: ids are never reused.
    next_raft_id: u64,
    /// `Some` in namespace mode; dropped after the processes.
    net: Option<Net>,
    security: Security,
    /// `Some` when the nodes' data lives on lazy disks; unmounted after the processes stop.
    disks: Option<Disks>,
    /// `Some` when the nodes' wall clocks can be moved.
    clocks: Option<Clocks>,
    /// Nodes start with `--unsafe-skip-wal-sync`: the canary the power-loss nemesis must catch.
    skip_wal_sync: bool,
}

/// What the nodes' machines are like, beyond the network.
#[derive(Clone, Copy, Debug, Default)]
pub struct Machines {
    /// Data directories on lazy disks (power loss, full and failing disks).
    pub lazy_disks: bool,
    /// Wall clocks behind libfaketime.
    pub fake_clocks: bool,
    /// The canary: nodes acknowledge writes without syncing the WAL.
    pub skip_wal_sync: bool,
}

impl Cluster {
    /// Starts `n` nodes in `dir`; with `net`, each in its namespace; with `tls`, speaking TLS
    /// with certificates made for the run and requiring a token.
    pub fn start(
        qraft: &Path,
        dir: &Path,
        n: usize,
        net: Option<Net>,
        tls: bool,
        machines: Machines,
    ) -> anyhow::Result<Cluster> {
        let mut nodes = Vec::new();
        let ports = if net.is_none() { free_ports(n)? } else { Vec::new() };
        let addrs: Vec<String> = (1..=n)
            .map(|id| match &net {
                Some(net) => format!("{}:{NS_PORT}", net.ip(id)),
                None => format!("127.0.0.1:{}", ports[id - 1]),
            })
            .collect();
        let security = if tls {
            let hosts: Vec<String> = addrs
                .iter()
                .filter_map(|addr| addr.rsplit_once(':').map(|(host, _)| host.to_owned()))
                .collect();
            Security::tls(qraft, dir, &hosts)?
        } else {
            Security::plain()
        };
        for (id, addr) in (1..=n).zip(addrs) {
            let node = Node {
                id,
                raft_id: id as u64,
                join: None,
                addr,
                data: disks::data_dir(dir, id),
                config: dir.join(format!("n{id}.toml")),
                log: dir.join(format!("n{id}.log")),
                exec_log: dir.join(format!("exec-n{id}.log")),
                child: None,
                paused: false,
            };
            std::fs::write(&node.config, node_config(&node.exec_log, &security.node_config))?;
            nodes.push(node);
        }
        // Slots 1..=n in order, as `peers` numbers them.
        let peers = peers(&nodes.iter().map(|node| node.addr.clone()).collect::<Vec<_>>());
        let mut cluster = Cluster {
            qraft: qraft.to_path_buf(),

            peers,
            next_raft_id: n as u64 + 1,
            nodes,
            net,
            security,
            disks: if machines.lazy_disks {
                Some(Disks::mount(dir, n)?)
            } else {
                None
            },
            clocks: if machines.fake_clocks {
                Some(Clocks::new(dir, n)?)
            } else {
                None
            },
            skip_wal_sync: machines.skip_wal_sync,
        };
        for id in 1..=n {
            cluster.start_node(id)?;
        }
        Ok(cluster)
    }

    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    pub fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.addr.clone()).collect()
    }

    pub fn addr(&self, id: usize) -> String {
        self.nodes[id - 1].addr.clone()
    }

    /// What clients of this cluster present (TLS, token).
    pub fn credentials(&self) -> &qraft_proto::Credentials {
        &self.security.credentials
    }

    pub fn net(&self) -> Option<&Net> {
        self.net.as_ref()
    }

    pub fn disks(&self) -> Option<&Disks> {
        self.disks.as_ref()
    }

    pub fn clocks(&self) -> Option<&Clocks> {
        self.clocks.as_ref()
    }

    /// A client for the harness's own calls; its retries give up within 5 s, so no wait on the
    /// cluster runs much past its own limit.
    pub fn client(&self) -> anyhow::Result<Client> {
        let retry = RetryPolicy {
            deadline: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        Ok(
            Client::with_credentials(self.addrs(), &self.security.credentials)?
                .with_timeout(Duration::from_secs(2))
                .with_retry(retry),
        )
    }

    fn node(&mut self, id: usize) -> &mut Node {
        &mut self.nodes[id - 1]
    }

    fn running(&self, id: usize) -> bool {
        self.nodes[id - 1].child.is_some()
    }

    pub fn start_node(&mut self, id: usize) -> anyhow::Result<()> {
        self.start_node_with(id, &[])
    }

    /// Starts the node in slot `id` with `more` flags, this once.
    pub fn start_node_with(&mut self, id: usize, more: &[&str]) -> anyhow::Result<()> {
        let qraft = self.qraft.clone();
        let peers = self.peers.clone();
        let namespace = self.net.as_ref().map(|net| net.namespace(id));
        let clock_env = self
            .clocks
            .as_ref()
            .map(|clocks| clocks.env(id))
            .unwrap_or_default();
        let skip_wal_sync = self.skip_wal_sync;
        let node = self.node(id);
        if node.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)?;
        let membership = match &node.join {
            Some(via) => Membership::Join(via.clone()),
            None => Membership::Peers(peers),
        };
        let launch = NodeLaunch::new(node.raft_id, &node.addr, membership, &node.data)
            .config(&node.config)
            .extra(more)
            .extra(skip_wal_sync.then_some("--unsafe-skip-wal-sync"));
        let mut command = match &namespace {
            Some(ns) => {
                let mut command = Command::new("ip");
                command
                    .args(["netns", "exec", ns])
                    .arg(&qraft)
                    .args(launch.args());
                command
            }
            None => launch.command(&qraft),
        };
        command
            .envs(clock_env)
            .env("RUST_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start node {id} ({})", qraft.display()))?;
        node.child = Some(child);
        node.paused = false;
        Ok(())
    }

    /// The Raft id of the node in slot `id`.
    pub fn raft_id(&self, id: usize) -> u64 {
        self.nodes[id - 1].raft_id
    }

    /// The slot of the node with Raft id `raft_id`, if it runs in one.
    pub fn slot(&self, raft_id: u64) -> Option<usize> {
        self.nodes
            .iter()
            .find(|node| node.raft_id == raft_id)
            .map(|node| node.id)
    }

    /// Replaces the node in slot `id` (already removed from the cluster) by a new node with a
    /// new id and an empty data directory, which joins through slot `via`. Returns the new id.
    pub fn replace(&mut self, id: usize, via: usize) -> anyhow::Result<u64> {
        self.kill(id);
        let raft_id = self.next_raft_id;
        self.next_raft_id += 1;
        let via = self.addr(via);
        empty(&self.node(id).data)?;
        let node = self.node(id);
        node.raft_id = raft_id;
        node.join = Some(via);
        self.start_node(id)?;
        Ok(raft_id)
    }

    /// Deletes the data directory of the (stopped) node in slot `id`: a wiped disk.
    pub fn wipe(&mut self, id: usize) -> anyhow::Result<()> {
        self.kill(id);
        empty(&self.node(id).data)
    }

    /// Waits up to `limit` for the node in slot `id` to exit by itself; `None` if it still runs.
    pub async fn wait_exit(&mut self, id: usize, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        loop {
            let node = self.node(id);
            let child = node.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                node.child = None;
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            // Polling a child's exit; the deadline above decides.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`: no flush, no handover.
    pub fn kill(&mut self, id: usize) {
        let node = self.node(id);
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        node.paused = false;
    }

    /// SIGTERM and wait (the node hands over leadership and its work), killing it after `limit`.
    pub async fn stop(&mut self, id: usize, limit: Duration) {
        let Some(pid) = self.pid(id) else {
            return;
        };
        let _ = kill(pid, Signal::SIGTERM);
        let started = tokio::time::Instant::now();
        while started.elapsed() < limit {
            let exited = self
                .node(id)
                .child
                .as_mut()
                .is_none_or(|child| child.try_wait().is_ok_and(|s| s.is_some()));
            if exited {
                self.node(id).child = None;
                return;
            }
            // Polling a child's exit; the limit above decides.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::warn!(node = id, "did not stop after SIGTERM; killing it");
        self.kill(id);
    }

    pub fn pause(&mut self, id: usize) {
        if let Some(pid) = self.pid(id) {
            let _ = kill(pid, Signal::SIGSTOP);
            self.node(id).paused = true;
        }
    }

    pub fn resume(&mut self, id: usize) {
        if let Some(pid) = self.pid(id) {
            let _ = kill(pid, Signal::SIGCONT);
        }
        self.node(id).paused = false;
    }

    fn pid(&self, id: usize) -> Option<Pid> {
        let child = self.nodes[id - 1].child.as_ref()?;
        i32::try_from(child.id()).ok().map(Pid::from_raw)
    }

    /// Undoes every fault: paused nodes continue, stopped ones start, the network is whole.
    pub fn heal(&mut self) -> anyhow::Result<()> {
        if let Some(disks) = &self.disks {
            disks.repair();
        }
        for id in 1..=self.size() {
            if self.nodes[id - 1].paused {
                self.resume(id);
            }
            if !self.running(id) {
                self.start_node(id)?;
            }
        }
        if let Some(net) = &self.net {
            net.heal()?;
        }
        if let Some(clocks) = &self.clocks {
            clocks.reset()?;
        }
        Ok(())
    }

    /// Every node's own status, `None` for those that do not answer.
    pub async fn statuses(&self, client: &Client) -> Vec<Option<pb::NodeStatus>> {
        let answers = client.cluster_status().await;
        answers.into_iter().map(|(_, answer)| answer.ok()).collect()
    }

    /// The node that says it leads; of two (a deposed leader that has not heard yet), the one
    /// with the newer term.
    pub async fn leader(&self, client: &Client) -> Option<usize> {
        self.statuses(client)
            .await
            .iter()
            .flatten()
            .filter(|status| status.role == pb::NodeRole::Leader as i32)
            .max_by_key(|status| status.term)
            .and_then(|status| self.slot(status.id))
    }

    /// Lines of node logs that show a panic.
    pub fn panics(&self) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        for node in &self.nodes {
            let text = std::fs::read_to_string(&node.log).unwrap_or_default();
            for line in text.lines().filter(|line| line.contains("panicked")) {
                found.push((node.id, line.to_owned()));
            }
        }
        found
    }

    /// Executions the nodes' pools recorded: (node, task id, attempt, Unix µs).
    pub fn executions(&self) -> Vec<(usize, String, u32, u64)> {
        let mut found = Vec::new();
        for node in &self.nodes {
            let text = std::fs::read_to_string(&node.exec_log).unwrap_or_default();
            for line in text.lines() {
                let mut fields = line.split_whitespace();
                let (Some(id), Some(attempt), Some(micros)) = (fields.next(), fields.next(), fields.next())
                else {
                    continue;
                };
                if let (Ok(attempt), Ok(micros)) = (attempt.parse(), micros.parse()) {
                    found.push((node.id, id.to_owned(), attempt, micros));
                }
            }
        }
        found
    }

    /// Stops every node (kill -9: the run is over) and then the network.
    pub fn shutdown(&mut self) {
        // SIGKILL ends a stopped process too: paused nodes need no SIGCONT first.
        for id in 1..=self.size() {
            self.kill(id);
        }
        self.net = None;
    }

    /// Checks the cluster directory looks like ours before anything is written in it.
    pub fn must_be_empty(dir: &Path) -> anyhow::Result<()> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            bail!("{} is not empty; pick a new --out directory", dir.display());
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Deletes everything in `dir` but `dir` itself, which may be a mount point.
fn empty(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| format!("cannot wipe {}", path.display()))?;
    }
    Ok(())
}

/// The node's config: its pool runs the chaos task, recording each execution with its attempt
/// and time before a short piece of work; snapshots and log purges happen often, so every run
/// exercises them.
fn node_config(exec_log: &Path, security: &str) -> String {
    let record = format!(
        "echo \"$QRAFT_TASK_ID $QRAFT_ATTEMPT ${{EPOCHREALTIME/./}}\" >> '{}'; sleep 0.05",
        exec_log.display()
    );
    let echo = format!("{record}; cat");
    format!(
        r#"{security}
[raft]
snapshot_every = 300
keep_logs = 50

[worker]
queues = ["{QUEUE}", "{FLOW_QUEUE}", "{LIMITED_QUEUE}"]
concurrency = 8

[tasks."{TASK}"]
exec = ["bash", "-c", {record:?}]

[tasks."{STEP}"]
exec = ["bash", "-c", {echo:?}]
"#
    )
}
