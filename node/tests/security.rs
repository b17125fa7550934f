//! A secured cluster over the real gRPC stack: TLS everywhere, tokens with roles, Raft only for
//! node certificates of the cluster's CA; and the refusals: plain text to a TLS node, a node of
//! another CA, a non-loopback listen without protection.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use qraft_proto::pb::raft_client::RaftClient;
use qraft_proto::{Client, ClientError, Credentials, TlsFiles, pb};
use serde_json::Value;
use tonic::Code;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::util::{QRAFT, TestCluster, free_port, spec, wait_for};

fn qraft(args: &[&str]) -> Vec<u8> {
    let output = Command::new(QRAFT).args(args).output().expect("run qraft");
    assert!(
        output.status.success(),
        "qraft {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A CA with node and client certificates in `dir`.
fn certs(dir: &Path) -> PathBuf {
    qraft(&["certs", "init", dir.to_str().expect("path")]);
    dir.to_path_buf()
}

struct Token {
    token: String,
    entry: String,
}

fn token(role: &str) -> Token {
    let made: Value = serde_json::from_slice(&qraft(&[
        "token", "new", "--role", role, "--name", role, "--json",
    ]))
    .expect("token JSON");
    Token {
        token: made["token"].as_str().expect("token").to_owned(),
        entry: format!(
            "[[tokens]]\nname = {:?}\nrole = {role:?}\nsha256 = {:?}\n",
            role,
            made["sha256"].as_str().expect("sha256")
        ),
    }
}

pub struct Secured {
    pub cluster: TestCluster,
    pub certs: PathBuf,
    tokens: Vec<(String, Token)>,
}

impl Secured {
    /// The token of `who` (`viewer`, `producer`, `producer-2`, `worker`, `admin`).
    pub fn token_of(&self, who: &str) -> String {
        self.tokens
            .iter()
            .find(|(name, _)| name == who)
            .map(|(_, t)| t.token.clone())
            .unwrap_or_else(|| panic!("no token {who}"))
    }

    pub fn start() -> Secured {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let certs = certs(&dir.join("certs"));
        let tokens: Vec<(String, Token)> = ["viewer", "producer", "worker", "admin"]
            .into_iter()
            .map(|role| (role.to_owned(), token(role)))
            .chain(std::iter::once(("producer-2".to_owned(), token("producer"))))
            .collect();
        let mut config = format!(
            "[tls]\nca = {:?}\ncert = {:?}\nkey = {:?}\n\n",
            certs.join("ca.pem"),
            certs.join("node.pem"),
            certs.join("node.key")
        );
        for (name, token) in &tokens {
            config.push_str(&token.entry.replacen(
                &format!("name = {:?}", name.trim_end_matches("-2")),
                &format!("name = {name:?}"),
                1,
            ));
        }
        let path = dir.join("node.toml");
        std::fs::write(&path, config).expect("write config");
        let mut cluster = TestCluster::start(3, &["--config", path.to_str().expect("path")]);
        cluster.credentials = Secured::credentials_of(&certs, &tokens, "admin");
        Secured {
            cluster,
            certs,
            tokens,
        }
    }

    fn credentials_of(certs: &Path, tokens: &[(String, Token)], who: &str) -> Credentials {
        let token = tokens
            .iter()
            .find(|(name, _)| name == who)
            .map(|(_, t)| t.token.clone());
        let files = TlsFiles {
            ca: Some(certs.join("ca.pem")),
            ..TlsFiles::default()
        };
        Credentials::load(&files, token).expect("credentials")
    }

    fn client_as(&self, who: &str) -> Client {
        Client::with_credentials(
            [1, 2, 3].map(|id| self.cluster.addr(id)),
            &Secured::credentials_of(&self.certs, &self.tokens, who),
        )
        .expect("client")
        .with_timeout(Duration::from_secs(2))
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Code {
    match result {
        Err(ClientError::Status(status)) => status.code(),
        Err(ClientError::InvalidArgument(_)) => Code::InvalidArgument,
        Err(ClientError::NotFound(_)) => Code::NotFound,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_cluster_with_tokens_works_and_each_role_gets_exactly_its_calls() {
    let secured = Secured::start();
    secured
        .cluster
        .wait_for_leader(&[1, 2, 3], Duration::from_secs(15))
        .await;

    tracing::info!("--- a producer submits, the nodes' pools run it over TLS, a viewer reads it");
    let producer = secured.client_as("producer");
    let mut task = spec("builtin.echo");
    task.args = br#"{"secure":true}"#.to_vec();
    let id = producer.submit(task).await.expect("producer submits").id;
    let viewer = secured.client_as("viewer");
    let (done, _) = wait_for("the task to run", Duration::from_secs(20), || async {
        let task = viewer.get_task(&id, true).await.ok()?;
        (task.state == pb::TaskState::Success as i32).then_some(task)
    })
    .await;
    assert_eq!(done.result, br#"{"secure":true}"#);

    tracing::info!("--- each role is refused what it may not do");
    assert_eq!(
        code(viewer.submit(spec("builtin.noop")).await),
        Code::PermissionDenied
    );
    assert_eq!(
        code(producer.pause_queue("default").await),
        Code::PermissionDenied
    );
    let worker = secured.client_as("worker");
    assert_eq!(
        code(worker.submit(spec("builtin.noop")).await),
        Code::PermissionDenied
    );
    let lease = worker
        .lease(pb::LeaseRequest {
            worker_id: "secure-worker".into(),
            queues: vec!["nothing-here".into()],
            names: vec!["x".into()],
            max: 1,
            lease_ms: 0,
            wait_ms: 0,
            ..Default::default()
        })
        .await;
    assert!(lease.is_ok(), "a worker may lease: {lease:?}");
    let queues = worker.list_queues(false).await;
    assert!(queues.is_ok(), "a worker may read queue counts: {queues:?}");
    assert_eq!(code(worker.list_workers().await), Code::PermissionDenied);
    let admin = secured.client_as("admin");
    admin.pause_queue("default").await.expect("an admin may pause");
    admin.resume_queue("default").await.expect("an admin may resume");

    tracing::info!("--- a producer revokes its own tasks only");
    let mut later = spec("builtin.noop");
    later.countdown_ms = 60_000;
    let own = producer.submit(later.clone()).await.expect("submit").id;
    producer.revoke(&own).await.expect("revoke own");
    let other = secured
        .client_as("producer-2")
        .submit(later)
        .await
        .expect("submit")
        .id;
    assert_eq!(code(producer.revoke(&other).await), Code::PermissionDenied);

    tracing::info!("--- no token, an unknown token, and plain text are turned away");
    let nobody = secured.client_as("nobody");
    assert_eq!(
        code(nobody.submit(spec("builtin.noop")).await),
        Code::Unauthenticated
    );
    let files = TlsFiles {
        ca: Some(secured.certs.join("ca.pem")),
        ..TlsFiles::default()
    };
    let guesser = Client::with_credentials(
        [secured.cluster.addr(1)],
        &Credentials::load(&files, Some("guess".into())).expect("credentials"),
    )
    .expect("client");
    assert_eq!(
        code(guesser.submit(spec("builtin.noop")).await),
        Code::Unauthenticated
    );
    let plain = Client::new([secured.cluster.addr(1)])
        .expect("client")
        .with_timeout(Duration::from_secs(2));
    let refused = plain.node_status(&secured.cluster.addr(1)).await;
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("speaks TLS") && e.to_string().contains("pass --ca")),
        "{refused:?}"
    );
    secured.cluster.must_not_have_panicked();
}

/// A Raft client to `addr` presenting `identity`, trusting `ca`.
async fn raft_call(addr: &str, ca: &Path, cert: &Path, key: &Path) -> Result<(), tonic::Status> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca).expect("ca")))
        .identity(Identity::from_pem(
            std::fs::read(cert).expect("cert"),
            std::fs::read(key).expect("key"),
        ));
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    RaftClient::new(channel)
        .vote(pb::RaftPayload::default())
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_node_certificates_of_the_clusters_ca_speak_raft() {
    let secured = Secured::start();
    secured
        .cluster
        .wait_for_leader(&[1, 2, 3], Duration::from_secs(15))
        .await;
    let addr = secured.cluster.addr(1);
    let ours = &secured.certs;

    // A node certificate of our CA gets through to Raft (which then judges the message itself).
    let peer = raft_call(
        &addr,
        &ours.join("ca.pem"),
        &ours.join("node.pem"),
        &ours.join("node.key"),
    )
    .await;
    assert!(
        !matches!(&peer, Err(status) if status.code() == Code::Unauthenticated || status.code() == Code::Unavailable),
        "{peer:?}"
    );
    // A client certificate of our CA is no node.
    let client = raft_call(
        &addr,
        &ours.join("ca.pem"),
        &ours.join("client.pem"),
        &ours.join("client.key"),
    )
    .await;
    assert_eq!(client.map_err(|s| s.code()), Err(Code::Unauthenticated));
    // A node certificate of another CA fails the handshake.
    let theirs = certs(&secured.cluster.dir.path().join("other-ca"));
    let foreign = raft_call(
        &addr,
        &ours.join("ca.pem"),
        &theirs.join("node.pem"),
        &theirs.join("node.key"),
    )
    .await;
    assert!(foreign.is_err(), "a foreign certificate was accepted");

    tracing::info!("--- a node with the other CA's certificate cannot join");
    let port = free_port();
    let data = secured.cluster.dir.path().join("intruder");
    let log = std::fs::File::create(secured.cluster.dir.path().join("intruder.log")).expect("log");
    let mut intruder = Command::new(QRAFT)
        .args([
            "node",
            "--id",
            "9",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--join",
            &addr,
        ])
        .arg("--data")
        .arg(&data)
        .arg("--tls-ca")
        .arg(theirs.join("ca.pem"))
        .arg("--tls-cert")
        .arg(theirs.join("node.pem"))
        .arg("--tls-key")
        .arg(theirs.join("node.key"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the intruder");
    wait_for(
        "the intruder's join to be refused",
        Duration::from_secs(20),
        || async {
            let text = std::fs::read_to_string(secured.cluster.dir.path().join("intruder.log")).ok()?;
            text.contains("not added yet").then_some(())
        },
    )
    .await;
    let status = secured.cluster.status(1).await.expect("node 1 answers");
    assert!(status.members.iter().all(|m| m.id != 9), "{status:?}");
    let _ = intruder.kill();
    let _ = intruder.wait();
    secured.cluster.must_not_have_panicked();
}

#[test]
fn a_non_loopback_listen_without_tls_and_tokens_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port().to_string();
    let listen = format!("0.0.0.0:{port}");
    let output = Command::new(QRAFT)
        .args([
            "node",
            "--id",
            "1",
            "--listen",
            &listen,
            "--advertise",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--data")
        .arg(dir.path().join("n1"))
        .output()
        .expect("run qraft node");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0") && stderr.contains("--insecure"),
        "{stderr}"
    );
}
