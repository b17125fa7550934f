//! The console end to end: the real `qraft-tui` in tmux at a fixed size, against a real
//! three-node cluster of `qraft node` processes. It must show the leader, the cluster's
//! schedules, limits and flows; after the leader is killed, the new leader and the election
//! event within seconds; and a queue paused from the console must be paused in the cluster.
//! Against a TLS cluster with tokens, it reads everything with a viewer token.
//!
//! Needs `tmux` (scripts/setup.sh installs it) and the `qraft` binary built beside `qraft-tui`
//! (`cargo test --workspace` builds both).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qraft_proto::launch::{Membership, NodeLaunch, peers};
use qraft_proto::{Client, Credentials, TlsFiles, pb};
use tempfile::TempDir;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 32;

fn qraft_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_qraft-tui")).with_file_name("qraft");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build -p qraft-node --bin qraft), or run cargo test --workspace",
        path.display()
    );
    path
}

fn free_ports(n: usize) -> Vec<u16> {
    qraft_proto::launch::free_ports(n).expect("free ports on 127.0.0.1")
}

/// Three `qraft node` processes in a temp dir, killed when dropped.
struct Cluster {
    dir: TempDir,
    addrs: Vec<String>,
    nodes: Vec<Option<Child>>,
    credentials: Credentials,
}

impl Cluster {
    fn start() -> Cluster {
        Cluster::start_with(|_| (Vec::new(), Credentials::default()))
    }

    /// Starts the nodes with extra arguments, made by `secure` in the cluster's directory, which
    /// also says what the test's own client presents.
    fn start_with(secure: impl FnOnce(&Path) -> (Vec<String>, Credentials)) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("qraft-console-")
            .tempdir()
            .expect("tempdir");
        let addrs: Vec<String> = free_ports(3)
            .into_iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let peers = peers(&addrs);
        let qraft = qraft_binary();
        let (extra, credentials) = secure(dir.path());
        let nodes = addrs
            .iter()
            .enumerate()
            .map(|(i, addr)| {
                let id = i + 1;
                let log = std::fs::File::create(dir.path().join(format!("n{id}.log"))).expect("log file");
                let child = NodeLaunch::new(
                    id as u64,
                    addr,
                    Membership::Peers(peers.clone()),
                    dir.path().join(format!("n{id}")),
                )
                .extra(&extra)
                .command(&qraft)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log"))
                .stderr(log)
                .spawn()
                .expect("start qraft node");
                Some(child)
            })
            .collect();
        Cluster {
            dir,
            addrs,
            nodes,
            credentials,
        }
    }

    fn client(&self) -> Client {
        Client::with_credentials(&self.addrs, &self.credentials)
            .expect("client")
            .with_timeout(Duration::from_secs(2))
    }

    /// The node every answering node agrees leads, once there is one.
    async fn leader(&self) -> Option<u64> {
        let answers = self.client().cluster_status().await;
        let leaders: Vec<u64> = answers
            .iter()
            .filter_map(|(_, answer)| answer.as_ref().ok())
            .filter(|status| status.role == pb::NodeRole::Leader as i32)
            .map(|status| status.id)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.nodes[id as usize - 1].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn logs(&self) -> String {
        (1..=3)
            .map(|id| {
                let text =
                    std::fs::read_to_string(self.dir.path().join(format!("n{id}.log"))).unwrap_or_default();
                format!("----- node {id} -----\n{text}")
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in 1..=3 {
            self.kill(id);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
    }
}

/// A tmux server of our own (private socket), running the console in one fixed-size window.
struct Console {
    socket: PathBuf,
    log: PathBuf,
}

impl Console {
    fn start(dir: &Path, cluster: &[String], extra: &str) -> Console {
        let console = Console {
            socket: dir.join("tmux.sock"),
            log: dir.join("console.log"),
        };
        let command = format!(
            "{} --cluster {} --refresh 250ms --log-file {} {extra}",
            env!("CARGO_BIN_EXE_qraft-tui"),
            cluster.join(","),
            console.log.display()
        );
        let started = console
            .tmux(&[
                "new-session",
                "-d",
                "-x",
                &WIDTH.to_string(),
                "-y",
                &HEIGHT.to_string(),
            ])
            .arg(command)
            .env_remove("TMUX")
            .env("TERM", "xterm-256color")
            .status()
            .expect("run tmux (scripts/setup.sh installs it)");
        assert!(started.success(), "tmux could not start the console");
        console
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command.arg("-S").arg(&self.socket).args(args);
        command
    }

    fn screen(&self) -> String {
        let output = self
            .tmux(&["capture-pane", "-p"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        let status = self.tmux(&["send-keys", keys]).status().expect("tmux send-keys");
        assert!(status.success(), "tmux send-keys {keys:?} failed");
    }

    fn running(&self) -> bool {
        self.tmux(&["has-session"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Polls the screen until `wanted` holds; returns the screen and how long it took.
    async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> (String, Duration) {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if wanted(&screen) {
                return (screen, started.elapsed());
            }
            if started.elapsed() > limit {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!(
                    "the console did not show {what} within {limit:?}; screen:\n{screen}\nconsole log:\n{log}"
                );
            }
            // Polling a screen; the deadline above decides.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).stderr(Stdio::null()).status();
    }
}

/// Polls the cluster until `probe` answers, or panics naming what it waited for.
async fn wait_until<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        // Polling interval, not synchronisation: the condition above decides.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_follows_a_failover_and_pauses_a_queue() {
    let mut cluster = Cluster::start();
    let leader = wait_until("a leader", Duration::from_secs(20), || cluster.leader()).await;
    let client = cluster.client();
    for n in 0..5 {
        // No worker takes this queue, so it stays visible with its tasks ready.
        let spec = pb::TaskSpec {
            name: format!("console.task{n}"),
            queue: "console".into(),
            ..Default::default()
        };
        client.submit(spec).await.expect("submit");
    }

    let schedule = pb::ScheduleSpec {
        name: "console-hourly".into(),
        task: Some(pb::TaskSpec {
            name: "console.tick".into(),
            queue: "console".into(),
            ..Default::default()
        }),
        every_ms: 3_600_000,
        ..Default::default()
    };
    client.add_schedule(schedule).await.expect("add a schedule");
    client
        .set_limit("task:console.task0", 10, 1_000)
        .await
        .expect("set a limit");
    // Its members sit in the unserved queue, so the flow stays RUNNING at 0 of 2.
    let members = (0..2).map(|n| pb::TaskSpec {
        name: format!("console.member{n}"),
        queue: "console".into(),
        ..Default::default()
    });
    let flow = client
        .submit_flow(pb::FlowSpec::group(members))
        .await
        .expect("submit a flow");

    let console = Console::start(cluster.dir.path(), &cluster.addrs, "");
    console
        .wait_for(
            "the leader in the status bar",
            Duration::from_secs(15),
            |screen| screen.contains(&format!("leader n{leader} ")),
        )
        .await;

    console.keys("6");
    console
        .wait_for("the schedule and the limit", Duration::from_secs(10), |screen| {
            screen.lines().any(|line| {
                line.contains("console-hourly") && line.contains("every 1h") && line.contains("in 59m")
            }) && screen
                .lines()
                .any(|line| line.contains("task:console.task0") && line.contains("10/s"))
        })
        .await;
    console.keys("7");
    console
        .wait_for("the flow", Duration::from_secs(10), |screen| {
            screen.lines().any(|line| {
                line.contains(&flow.id)
                    && line.contains("group")
                    && line.contains("RUNNING")
                    && line.contains("0/2")
            }) && screen.contains("console.member1")
        })
        .await;

    cluster.kill(leader);
    let (screen, took) = console
        .wait_for("a new leader", Duration::from_secs(15), |screen| {
            let first = screen.lines().next().unwrap_or_default();
            first.contains("leader n") && !first.contains(&format!("leader n{leader} "))
        })
        .await;
    eprintln!(
        "the console showed the new leader {} ms after the kill",
        took.as_millis()
    );
    let status_bar = screen.lines().next().unwrap_or_default().to_owned();
    assert!(status_bar.contains("quorum 2/3"), "{status_bar}");
    console.keys("5");
    console
        .wait_for(
            "the election on the timeline",
            Duration::from_secs(15),
            |screen| {
                screen.contains(&format!(": n{leader} → n"))
                    && screen.contains(&format!("node {leader} unreachable"))
            },
        )
        .await;

    console.keys("2");
    console
        .wait_for("the queue", Duration::from_secs(10), |screen| {
            screen.contains("▶ console")
        })
        .await;
    console.keys("p");
    wait_until(
        "the queue paused in the cluster",
        Duration::from_secs(10),
        || async {
            let queues = client.list_queues(true).await.ok()?;
            queues
                .iter()
                .any(|q| q.name == "console" && q.paused)
                .then_some(())
        },
    )
    .await;
    console
        .wait_for("the pause on screen", Duration::from_secs(10), |screen| {
            screen
                .lines()
                .any(|line| line.contains("console") && line.contains("paused"))
        })
        .await;

    console.keys("q");
    wait_until("the console to quit", Duration::from_secs(10), || async {
        (!console.running()).then_some(())
    })
    .await;
}

/// Runs `qraft ARGS` and returns what it printed, failing the test if it fails.
fn qraft(args: &[&str]) -> String {
    let output = Command::new(qraft_binary())
        .args(args)
        .output()
        .expect("run qraft");
    assert!(
        output.status.success(),
        "qraft {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A `[[tokens]]` entry and the token, from `qraft token new --json`.
fn token(role: &str) -> (String, String) {
    let made = qraft(&["token", "new", "--role", role, "--name", role, "--json"]);
    let field = |name: &str| {
        let start = made.find(&format!("\"{name}\":\"")).expect("field") + name.len() + 4;
        made[start..].split('"').next().expect("value").to_owned()
    };
    let entry = format!(
        "[[tokens]]\nname = {role:?}\nrole = {role:?}\nsha256 = {:?}\n",
        field("sha256")
    );
    (field("token"), entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reads_a_tls_cluster_with_a_viewer_token() {
    let mut viewer_token = String::new();
    let cluster = Cluster::start_with(|dir| {
        let certs = dir.join("certs");
        qraft(&["certs", "init", certs.to_str().expect("path")]);
        let (admin, admin_entry) = token("admin");
        let (viewer, viewer_entry) = token("viewer");
        viewer_token = viewer;
        let config = dir.join("secure.toml");
        let text = format!(
            "[tls]\nca = {:?}\ncert = {:?}\nkey = {:?}\n\n{admin_entry}\n{viewer_entry}",
            certs.join("ca.pem"),
            certs.join("node.pem"),
            certs.join("node.key")
        );
        std::fs::write(&config, text).expect("write config");
        let files = TlsFiles {
            ca: Some(certs.join("ca.pem")),
            ..TlsFiles::default()
        };
        let credentials = Credentials::load(&files, Some(admin)).expect("credentials");
        (vec!["--config".into(), config.display().to_string()], credentials)
    });
    let leader = wait_until("a leader", Duration::from_secs(20), || cluster.leader()).await;
    let spec = pb::TaskSpec {
        name: "console.secure".into(),
        queue: "secure".into(),
        ..Default::default()
    };
    cluster
        .client()
        .submit(spec)
        .await
        .expect("submit with the admin token");

    let ca = cluster.dir.path().join("certs").join("ca.pem");
    let extra = format!("--read-only --ca {} --token {viewer_token}", ca.display());
    let console = Console::start(cluster.dir.path(), &cluster.addrs, &extra);
    console
        .wait_for("the leader over TLS", Duration::from_secs(15), |screen| {
            screen.contains(&format!("leader n{leader} "))
        })
        .await;
    console.keys("2");
    console
        .wait_for("the queue over TLS", Duration::from_secs(10), |screen| {
            screen.lines().any(|line| line.contains("secure"))
        })
        .await;
    assert!(console.running());
}
