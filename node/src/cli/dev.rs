//! `qraft dev`: a local cluster of child processes, for a first look.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use qraft_proto::launch::{Membership, NodeLaunch, peers};
use qraft_proto::{Credentials, TlsFiles};
use tokio::process::{Child, Command};

use qraft_node::auth::Role;

#[derive(clap::Args, Debug)]
pub struct DevArgs {
    /// How many nodes to start.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// Port of node 1; node N listens on BASE_PORT + N - 1 (gRPC) and BASE_PORT + 1000 + N - 1
    /// (the HTTP/JSON API).
    #[arg(long, default_value_t = 7071)]
    pub base_port: u16,
    /// Keep data here (and reuse it next time) instead of a temporary directory removed on exit.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Secure the cluster: TLS with a CA and certificates made in the data directory, and an
    /// admin token; prints the settings clients need (also in DATA/client.env).
    #[arg(long)]
    pub tls: bool,
}

/// Node N serves HTTP this far above its gRPC port.
const HTTP_OFFSET: u64 = 1000;

struct DevNode {
    id: u64,
    addr: String,
    http: String,
    child: Child,
    log: PathBuf,
}

pub async fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    let last_port = u64::from(args.base_port) + HTTP_OFFSET + args.nodes - 1;
    if args.base_port == 0 || last_port > u64::from(u16::MAX) {
        bail!(
            "--base-port {} leaves no room for {} nodes",
            args.base_port,
            args.nodes
        );
    }
    let addrs: Vec<(u64, String)> = (1..=args.nodes)
        .map(|id| (id, format!("127.0.0.1:{}", u64::from(args.base_port) + id - 1)))
        .collect();
    let http_of = |id: u64| format!("127.0.0.1:{}", u64::from(args.base_port) + HTTP_OFFSET + id - 1);
    let http_addrs: Vec<String> = (1..=args.nodes).map(http_of).collect();
    for addr in addrs.iter().map(|(_, addr)| addr).chain(&http_addrs) {
        std::net::TcpListener::bind(addr)
            .with_context(|| format!("port of {addr} is in use; stop what uses it or pass --base-port"))?;
    }
    let (data, temporary) = match &args.data {
        Some(dir) => (dir.clone(), None),
        None => {
            let dir = tempfile::Builder::new().prefix("qraft-dev-").tempdir()?;
            (dir.path().to_path_buf(), Some(dir))
        }
    };
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    // Ids run 1..=N in order, as `peers` numbers them.
    let peers = peers(&addrs.iter().map(|(_, addr)| addr.clone()).collect::<Vec<_>>());
    let exe = std::env::current_exe().context("cannot find the qraft binary")?;
    let secure = if args.tls { Some(secure(&data)?) } else { None };
    let mut nodes = Vec::new();
    for (id, addr) in &addrs {
        match spawn_node(
            &exe,
            *id,
            (addr, &http_of(*id)),
            &peers,
            &data,
            secure.as_ref().map(|s| s.config.as_path()),
        ) {
            Ok(node) => nodes.push(node),
            Err(e) => {
                stop_all(&mut nodes).await;
                return Err(e);
            }
        }
    }

    let cluster = addrs
        .iter()
        .map(|(_, a)| a.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let credentials = match &secure {
        Some(secure) => secure.credentials()?,
        None => Credentials::default(),
    };
    match wait_for_leader(&cluster, &credentials, Duration::from_secs(30)).await {
        Ok((leader_id, leader_addr, elapsed)) => {
            println!(
                "qraft dev: {} node(s) up; node {leader_id} ({leader_addr}) leads, elected in {} ms",
                nodes.len(),
                elapsed.as_millis()
            );
        }
        Err(e) => {
            eprintln!("qraft dev: no leader within 30 s ({e}); see the node logs below");
        }
    }
    for node in &nodes {
        println!(
            "  node {}  {}  HTTP {}  log {}",
            node.id,
            node.addr,
            node.http,
            node.log.display()
        );
    }
    println!(
        "  data {}{}",
        data.display(),
        if temporary.is_some() {
            " (removed on exit)"
        } else {
            ""
        }
    );
    if let Some(secure) = &secure {
        println!(
            "  TLS and tokens: in another terminal, first `source {}`",
            secure.env_file.display()
        );
    }
    println!();
    println!("Try, in another terminal:");
    println!("  qraft status");
    println!("  qraft submit mail.send --args '{{\"to\":\"ada@example.com\"}}'");
    println!("  qraft task <ID>");
    let (scheme, curl_flags) = if secure.is_some() {
        (
            "https",
            " --cacert \"$QRAFT_CA\" -H \"Authorization: Bearer $QRAFT_TOKEN\"",
        )
    } else {
        ("http", "")
    };
    println!(
        "  curl{curl_flags} -X POST {scheme}://{}/v1/tasks -H 'Content-Type: application/json' -d '{{\"name\":\"builtin.echo\",\"args\":{{\"hi\":1}}}}'",
        http_addrs[0]
    );
    if u64::from(args.base_port) != 7071 || args.nodes != 3 {
        println!("  (with --cluster {cluster}, or export QRAFT_CLUSTER={cluster})");
    }
    println!("Press Ctrl-C to stop the cluster.");

    let code = supervise(&mut nodes).await;
    stop_all(&mut nodes).await;
    drop(temporary);
    Ok(code)
}

/// What a `--tls` dev cluster runs with: a node config naming the certificates and the admin
/// token's hash, and a file of the settings clients need.
struct Secure {
    config: PathBuf,
    env_file: PathBuf,
    ca: PathBuf,
    token: String,
}

impl Secure {
    fn credentials(&self) -> anyhow::Result<Credentials> {
        let files = TlsFiles {
            ca: Some(self.ca.clone()),
            ..TlsFiles::default()
        };
        Ok(Credentials::load(&files, Some(self.token.clone()))?)
    }
}

/// Makes (or, with a kept data directory, reuses) the certificates and token of `--tls`.
fn secure(data: &Path) -> anyhow::Result<Secure> {
    let certs = data.join("certs");
    let config = data.join("secure-node.toml");
    let env_file = data.join("client.env");
    let token_file = data.join("admin.token");
    if !certs.join("ca.pem").exists() {
        super::certs::init(&certs, &[], 365)?;
    }
    let token = match std::fs::read_to_string(&token_file) {
        Ok(token) => token.trim().to_owned(),
        Err(_) => {
            let token = super::token::new_token();
            std::fs::write(&token_file, &token)?;
            token
        }
    };
    let path = |name: &str| certs.join(name).display().to_string();
    std::fs::write(
        &config,
        format!(
            "[tls]\nca = {:?}\ncert = {:?}\nkey = {:?}\n\n{}",
            path("ca.pem"),
            path("node.pem"),
            path("node.key"),
            super::token::entry(&token, Role::Admin, "qraft-dev")
        ),
    )?;
    std::fs::write(
        &env_file,
        format!(
            "export QRAFT_CA={:?}\nexport QRAFT_TOKEN={token}\n",
            path("ca.pem")
        ),
    )?;
    Ok(Secure {
        config,
        env_file,
        ca: certs.join("ca.pem"),
        token,
    })
}

fn spawn_node(
    exe: &Path,
    id: u64,
    (addr, http): (&str, &str),
    peers: &str,
    data: &Path,
    config: Option<&Path>,
) -> anyhow::Result<DevNode> {
    let log = data.join(format!("n{id}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let mut launch = NodeLaunch::new(
        id,
        addr,
        Membership::Peers(peers.to_owned()),
        data.join(format!("n{id}")),
    )
    .http_listen(http);
    if let Some(config) = config {
        launch = launch.config(config);
    }
    let child = Command::new(exe)
        .args(launch.args())
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start node {id}"))?;
    Ok(DevNode {
        id,
        addr: addr.to_string(),
        http: http.to_string(),
        child,
        log,
    })
}

async fn wait_for_leader(
    cluster: &str,
    credentials: &Credentials,
    limit: Duration,
) -> anyhow::Result<(u64, String, Duration)> {
    let client = qraft_proto::Client::with_credentials(cluster.split(','), credentials)?
        .with_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let mut last_error = String::from("no answer yet");
    while started.elapsed() < limit {
        for (_, answer) in client.cluster_status().await {
            match answer {
                Ok(status) if status.leader_id != 0 => {
                    return Ok((status.leader_id, status.leader_addr, started.elapsed()));
                }
                Ok(_) => last_error = "nodes answer, but no leader yet".into(),
                Err(e) => last_error = e.to_string(),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{last_error}")
}

/// Waits for Ctrl-C; reports nodes that die on their own.
async fn supervise(nodes: &mut [DevNode]) -> ExitCode {
    let mut alive = nodes.len();
    loop {
        let exits =
            futures::future::select_all(nodes.iter_mut().filter(|n| n.child.id().is_some()).map(|n| {
                let id = n.id;
                Box::pin(async move { (id, n.child.wait().await) })
            }));
        tokio::select! {
            _ = qraft_node::node::shutdown_signal() => {
                println!("\nstopping the cluster...");
                return ExitCode::SUCCESS;
            }
            ((id, status), _, _) = exits => {
                alive -= 1;
                eprintln!("qraft dev: node {id} exited ({}); see its log", status.map_or_else(|e| e.to_string(), |s| s.to_string()));
                if alive == 0 {
                    eprintln!("qraft dev: every node has exited");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
}

/// SIGTERM every node, then SIGKILL whatever has not stopped after 10 s.
async fn stop_all(nodes: &mut [DevNode]) {
    for node in nodes.iter() {
        if let Some(pid) = node.child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
    for node in nodes.iter_mut() {
        if tokio::time::timeout(Duration::from_secs(10), node.child.wait())
            .await
            .is_err()
        {
            eprintln!("qraft dev: node {} did not stop in 10 s; killing it", node.id);
            let _ = node.child.kill().await;
        }
    }
}
