//! The HTTP/JSON API on real clusters: submit, wait, read, list and revoke over HTTP from any
//! node; errors as problem+json; tokens and roles as on gRPC, over HTTPS; slow clients cut off.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::util::{TestCluster, wait_for};

/// One answer: status, headers, body.
struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A problem+json answer with `status`, whose detail is returned.
    fn problem(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        let problem = self.json();
        assert_eq!(problem["status"], status);
        problem["detail"].as_str().expect("a detail").to_owned()
    }
}

/// A minimal HTTP/1.1 client: one connection per request, optionally over TLS.
#[derive(Clone, Default)]
struct Http {
    tls: Option<TlsConnector>,
    token: Option<String>,
}

impl Http {
    fn with_token(&self, token: &str) -> Http {
        Http {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    async fn send(
        &self,
        addr: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.try_send(addr, method, path, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
    }

    /// A request that may fail (a node killed, a connection cut), within 20 s.
    async fn try_send(
        &self,
        addr: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.exchange(addr, method, path, headers, body),
        )
        .await
        .map_err(|_| "no answer within 20 s".to_owned())?
    }

    async fn exchange(
        &self,
        addr: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", addr);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("request");
        let error = |e: hyper::Error| e.to_string();
        let response = match &self.tls {
            None => {
                let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(error)?;
                tokio::spawn(connection);
                sender.send_request(request).await.map_err(error)?
            }
            Some(connector) => {
                let name = ServerName::try_from("localhost").expect("name");
                let stream = connector.connect(name, stream).await.map_err(|e| e.to_string())?;
                let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .map_err(error)?;
                tokio::spawn(connection);
                sender.send_request(request).await.map_err(error)?
            }
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(error)?
            .to_bytes()
            .to_vec();
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    async fn get(&self, addr: &str, path: &str) -> Reply {
        self.send(addr, "GET", path, &[], None).await
    }

    async fn post(&self, addr: &str, path: &str, body: &Value) -> Reply {
        self.post_with(addr, path, &[], body).await
    }

    async fn post_with(&self, addr: &str, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.send(addr, "POST", path, &all, Some(body.to_string().into_bytes()))
            .await
    }
}

async fn leader_and_follower(cluster: &TestCluster) -> (String, String) {
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let follower = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    (
        cluster.nodes[&leader].http.clone(),
        cluster.nodes[&follower].http.clone(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_are_submitted_awaited_read_listed_and_revoked_over_http_on_any_node() {
    let cluster = TestCluster::start(3, &[]);
    let (leader, follower) = leader_and_follower(&cluster).await;
    let http = Http::default();

    tracing::info!("--- every node names the same leader");
    let mut leaders = std::collections::BTreeSet::new();
    for node in cluster.nodes.values() {
        let status = http.get(&node.http, "/v1/status").await.json();
        assert_eq!(status["members"].as_array().map(Vec::len), Some(3), "{status}");
        leaders.insert(status["leader_id"].as_u64().expect("a leader"));
        if status["addr"]
            == cluster.nodes[&status["leader_id"].as_u64().expect("id")]
                .addr
                .as_str()
        {
            assert_eq!(status["role"], "leader");
        }
    }
    assert_eq!(leaders.len(), 1, "{leaders:?}");

    tracing::info!("--- a follower takes the submit; the key makes a resend return the same task");
    let task = json!({"name": "builtin.echo", "args": {"hello": "http"}});
    let first = http
        .post_with(&follower, "/v1/tasks", &[("idempotency-key", "order-1")], &task)
        .await;
    assert_eq!(first.status, 201, "{}", String::from_utf8_lossy(&first.body));
    let id = first.json()["id"].as_str().expect("id").to_owned();
    assert_eq!(first.header("location"), Some(format!("/v1/tasks/{id}").as_str()));
    let again = http
        .post_with(&leader, "/v1/tasks", &[("idempotency-key", "order-1")], &task)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], id.as_str());

    tracing::info!("--- a long poll on the other node returns the result");
    let done = http.get(&leader, &format!("/v1/tasks/{id}?wait=20s")).await;
    assert_eq!(done.status, 200);
    let done = done.json();
    assert_eq!(done["state"], "SUCCESS", "{done}");
    assert_eq!(done["finished"], true);
    assert_eq!(done["result"], json!({"hello": "http"}));
    assert_eq!(done["idempotency_key"], "order-1");

    tracing::info!("--- every node reads it; a list filters it");
    for node in cluster.nodes.values() {
        let read = http.get(&node.http, &format!("/v1/tasks/{id}")).await;
        assert_eq!(read.status, 200);
        assert!(read.header("x-qraft-applied-index").is_some());
    }
    let listed = http
        .get(&follower, "/v1/tasks?state=SUCCESS&linearizable=true")
        .await
        .json();
    assert!(
        listed["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .any(|t| t["id"] == id.as_str()),
        "{listed}"
    );

    tracing::info!("--- a batch under one key; zero means zero; a countdown task is revoked before it runs");
    let batch = json!({"tasks": [
        {"name": "builtin.echo", "args": [1]},
        {"name": "builtin.echo", "args": [2], "countdown_ms": 600000, "retry_delay_ms": 0},
    ]});
    let submitted = http
        .post_with(
            &leader,
            "/v1/tasks/batch",
            &[("idempotency-key", "batch-7")],
            &batch,
        )
        .await;
    assert_eq!(
        submitted.status,
        200,
        "{}",
        String::from_utf8_lossy(&submitted.body)
    );
    let results = submitted.json()["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 2);
    let later = results[1]["id"].as_str().expect("id").to_owned();
    let scheduled = http
        .get(&follower, &format!("/v1/tasks/{later}?wait=0"))
        .await
        .json();
    assert_eq!(scheduled["state"], "SCHEDULED", "a wait of 0 looks once");
    assert_eq!(scheduled["finished"], false);
    assert_eq!(scheduled["idempotency_key"], "batch-7:1");
    let revoked = http
        .post(&follower, &format!("/v1/tasks/{later}/revoke"), &json!({}))
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.json()["state"], "REVOKED");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_problems_that_say_what_to_fix_and_never_a_server_error() {
    let cluster = TestCluster::start(1, &["--max-payload-bytes", "1000"]);
    cluster.wait_for_leader(&[1], Duration::from_secs(15)).await;
    let node = cluster.nodes[&1].http.clone();
    let http = Http::default();
    let task = |extra: Value| {
        let mut task = json!({"name": "builtin.echo"});
        task.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        task
    };

    let cases: Vec<(&str, Reply, u16, &str)> = vec![
        (
            "unknown field",
            http.post(&node, "/v1/tasks", &task(json!({"argz": 1}))).await,
            400,
            "unknown field `argz`",
        ),
        (
            "wrong type",
            http.post(&node, "/v1/tasks", &task(json!({"priority": "high"})))
                .await,
            400,
            "priority: invalid type",
        ),
        (
            "priority out of range",
            http.post(&node, "/v1/tasks", &task(json!({"priority": 12})))
                .await,
            400,
            "out of range 0..=9",
        ),
        (
            "an eta in seconds",
            http.post(&node, "/v1/tasks", &task(json!({"eta_ms": 1_800_000_000})))
                .await,
            400,
            "was it given in seconds?",
        ),
        (
            "an eta that is not RFC 3339",
            http.post(&node, "/v1/tasks", &task(json!({"eta": "tomorrow"})))
                .await,
            400,
            "RFC 3339",
        ),
        (
            "args over the node's limit",
            http.post(&node, "/v1/tasks", &task(json!({"args": "x".repeat(2000)})))
                .await,
            413,
            "the limit is 1000 bytes",
        ),
        (
            "a bad task id",
            http.get(&node, "/v1/tasks/not-an-id").await,
            400,
            "is not a task id",
        ),
        (
            "a task that does not exist",
            http.get(&node, "/v1/tasks/01M8VFJ5E3Y01ZPT8MMW2X5GH7").await,
            404,
            "no task",
        ),
        (
            "a wait too long",
            http.get(&node, "/v1/tasks/01M8VFJ5E3Y01ZPT8MMW2X5GH7?wait=2h")
                .await,
            400,
            "longer than the 600 s",
        ),
        (
            "an unknown query parameter",
            http.get(&node, "/v1/tasks?colour=red").await,
            400,
            "unknown field `colour`",
        ),
        (
            "an unknown route",
            http.get(&node, "/v2/everything").await,
            404,
            "under /v1",
        ),
        (
            "a method the route does not take",
            http.send(&node, "DELETE", "/v1/tasks", &[], None).await,
            405,
            "does not take that method",
        ),
        (
            "an empty batch",
            http.post(&node, "/v1/tasks/batch", &json!({"tasks": []})).await,
            400,
            "a batch holds 1..=1000 tasks",
        ),
    ];
    for (what, reply, status, needle) in cases {
        let detail = reply.problem(status);
        assert!(
            detail.contains(needle),
            "{what}: {detail:?} does not say {needle:?}"
        );
    }

    tracing::info!("--- every route the live node's OpenAPI document names is served");
    let doc = http.get(&node, "/v1/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "{paths:?}");
    for (path, item) in paths {
        let concrete = path.replace("{id}", "01M8VFJ5E3Y01ZPT8MMW2X5GH7");
        for method in item.as_object().expect("methods").keys() {
            if path.starts_with("/v1/streams/") {
                // A stream never ends: its answer's head is what tells it is served.
                assert_eq!(stream_status(&node, &concrete).await, 200, "{path}");
                continue;
            }
            let reply = match method.as_str() {
                "get" => http.get(&node, &concrete).await,
                _ => {
                    http.send(
                        &node,
                        &method.to_uppercase(),
                        &concrete,
                        &[("content-type", "application/json")],
                        Some(b"{}".to_vec()),
                    )
                    .await
                }
            };
            let kind = serde_json::from_slice::<Value>(&reply.body)
                .ok()
                .map(|v| v["type"].clone());
            assert!(
                reply.status < 500
                    && kind != Some(json!("urn:qraft:problem:no-route"))
                    && kind != Some(json!("urn:qraft:problem:method-not-allowed")),
                "{method} {path}: {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
    }

    tracing::info!("--- not JSON, no content type, a body over the route's cap");
    let broken = http
        .send(
            &node,
            "POST",
            "/v1/tasks",
            &[("content-type", "application/json")],
            Some(b"{\"name\":".to_vec()),
        )
        .await;
    assert!(broken.problem(400).contains("not JSON"));
    let untyped = http
        .send(&node, "POST", "/v1/tasks", &[], Some(b"{}".to_vec()))
        .await;
    assert!(untyped.problem(415).contains("Content-Type: application/json"));
    // Refused by its declared length, before a byte of it is read: the client is told at once.
    let mut stream = TcpStream::connect(&node).await.expect("connect");
    stream
        .write_all(b"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 7000000\r\n\r\n{")
        .await
        .expect("write");
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer before the body")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than this route takes"), "{answer}");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_finishes_its_headers_or_its_body_is_cut_off() {
    // Deadlines set shorter than their defaults (10 s, 30 s), which the settings must carry.
    let cluster = TestCluster::start(1, &["--http-header-timeout", "2s", "--http-body-timeout", "2s"]);
    cluster.wait_for_leader(&[1], Duration::from_secs(15)).await;
    let node = cluster.nodes[&1].http.clone();
    let mut stream = TcpStream::connect(&node).await.expect("connect");
    stream
        .write_all(b"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: appl")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the node kept a half-sent request open for 10 s");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500),
        "closed after {took:?}, before the 2 s header deadline"
    );
    let answer = String::from_utf8_lossy(&rest);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    tracing::info!("--- a body that trickles is answered 408 at its deadline");
    let mut stream = TcpStream::connect(&node).await.expect("connect");
    stream
        .write_all(b"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":")
        .await
        .expect("write");
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 2 s"), "{answer}");

    tracing::info!("--- and the node still serves");
    let reply = Http::default().get(&node, "/v1/tasks").await;
    assert_eq!(reply.status, 200);
}

/// A TLS client trusting the cluster's CA.
fn tls_client(ca: &std::path::Path) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for cert in tokio_rustls::rustls::pki_types::CertificateDer::pem_file_iter(ca).expect("CA file") {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_gets_exactly_its_routes_over_https() {
    let secured = crate::security::Secured::start();
    let cluster = &secured.cluster;
    cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(20)).await;
    let node = cluster.nodes[&1].http.clone();
    let https = Http {
        tls: Some(tls_client(&secured.certs.join("ca.pem"))),
        token: None,
    };
    let as_role = |role: &str| https.with_token(&secured.token_of(role));

    tracing::info!("--- no token, an unknown token");
    let anonymous = https.get(&node, "/v1/tasks").await;
    assert!(anonymous.problem(401).contains("Authorization: Bearer"));
    assert!(anonymous.header("www-authenticate").is_some());
    https
        .with_token("not-a-token")
        .get(&node, "/v1/tasks")
        .await
        .problem(401);

    tracing::info!("--- each role: submit, read, metrics");
    let task = json!({"name": "builtin.echo", "args": 1});
    let (submitted, _) = wait_for("a producer's submit over HTTPS", Duration::from_secs(15), || {
        let producer = as_role("producer");
        let task = task.clone();
        let node = node.clone();
        async move {
            let reply = producer.post(&node, "/v1/tasks", &task).await;
            (reply.status == 201).then(|| reply.json())
        }
    })
    .await;
    let id = submitted["id"].as_str().expect("id").to_owned();
    let expected = [
        // role, may submit, may read, may scrape metrics
        ("viewer", false, true, true),
        ("producer", true, true, true),
        ("worker", false, false, false),
        ("admin", true, true, true),
    ];
    for (role, submit, read, metrics) in expected {
        let client = as_role(role);
        let posted = client.post(&node, "/v1/tasks", &task).await;
        assert_eq!(posted.status == 201, submit, "{role} submit: {}", posted.status);
        if !submit {
            assert!(posted.problem(403).contains(&format!("role {role}")));
        }
        let got = client.get(&node, &format!("/v1/tasks/{id}")).await;
        assert_eq!(got.status == 200, read, "{role} read: {}", got.status);
        let scraped = client.get(&node, "/metrics").await;
        assert_eq!(
            scraped.status == 200,
            metrics,
            "{role} metrics: {}",
            scraped.status
        );
    }

    tracing::info!("--- the worker protocol is for workers (and admins) only");
    let register = json!({"worker_id": "w-https", "queues": ["q"]});
    for (role, allowed) in [
        ("viewer", false),
        ("producer", false),
        ("worker", true),
        ("admin", true),
    ] {
        let reply = as_role(role).post(&node, "/v1/worker/register", &register).await;
        assert_eq!(reply.status == 204, allowed, "{role} register: {}", reply.status);
    }

    tracing::info!("--- schedules are steered by admins; viewers and producers read them");
    let schedule = br#"{"task": {"name": "builtin.echo"}, "every": "1h"}"#.to_vec();
    for (role, may_add, may_read) in [
        ("viewer", false, true),
        ("producer", false, true),
        ("worker", false, false),
        ("admin", true, true),
    ] {
        let added = as_role(role)
            .send(
                &node,
                "PUT",
                "/v1/schedules/hourly",
                &[("content-type", "application/json")],
                Some(schedule.clone()),
            )
            .await;
        assert_eq!(
            added.status < 300,
            may_add,
            "{role} add schedule: {}",
            added.status
        );
        let read = as_role(role).get(&node, "/v1/schedules").await;
        assert_eq!(
            read.status == 200,
            may_read,
            "{role} list schedules: {}",
            read.status
        );
    }

    tracing::info!("--- every role finds the leader");
    for role in ["viewer", "producer", "worker", "admin"] {
        assert_eq!(
            as_role(role).get(&node, "/v1/status").await.status,
            200,
            "{role} status"
        );
    }

    tracing::info!("--- queues are steered by admins; viewers only look");
    for (role, allowed) in [
        ("viewer", false),
        ("producer", false),
        ("worker", false),
        ("admin", true),
    ] {
        let reply = as_role(role).post(&node, "/v1/queues/q/pause", &json!({})).await;
        assert_eq!(reply.status == 200, allowed, "{role} pause: {}", reply.status);
        let looked = as_role(role).get(&node, "/v1/queues").await;
        assert_eq!(looked.status, 200, "{role} list queues");
    }

    tracing::info!("--- a producer revokes only its own tasks");
    let other = as_role("producer-2")
        .post(&node, &format!("/v1/tasks/{id}/revoke"), &json!({}))
        .await;
    assert!(other.problem(403).contains("only the tasks it submitted"));
    let own = as_role("producer")
        .post(&node, &format!("/v1/tasks/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(own.status, 200, "{}", String::from_utf8_lossy(&own.body));

    tracing::info!("--- plain HTTP to the TLS port gets nothing");
    let mut plain = TcpStream::connect(&node).await.expect("connect");
    plain
        .write_all(b"GET /v1/tasks HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), plain.read_to_end(&mut answer)).await;
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    cluster.must_not_have_panicked();
}

/// Submits `key` until some node acknowledges it, trying the nodes in turn from `first`; a 503
/// (nothing stored, or an unknown outcome) or a node that does not answer is simply resent the
/// same key elsewhere. Returns the task id the acknowledgement named.
async fn submit_until_acknowledged(http: &Http, nodes: &[String], first: usize, key: &str) -> String {
    let task = json!({"name": "load.task", "queue": "http-load", "args": {"key": key}});
    let body = task.to_string().into_bytes();
    let headers = [("content-type", "application/json"), ("idempotency-key", key)];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for attempt in 0.. {
        assert!(tokio::time::Instant::now() < deadline, "{key} never acknowledged");
        let node = &nodes[(first + attempt) % nodes.len()];
        match http
            .try_send(node, "POST", "/v1/tasks", &headers, Some(body.clone()))
            .await
        {
            Ok(reply) if reply.status == 201 || reply.status == 200 => {
                return reply.json()["id"].as_str().expect("id").to_owned();
            }
            Ok(reply) if reply.status == 503 => {}
            Ok(reply) => panic!("{key}: {} {}", reply.status, String::from_utf8_lossy(&reply.body)),
            // Refused or cut off: that node is down; the next one answers.
            Err(_) => {}
        }
        // Every node tried: give an election a moment before going round again.
        if attempt % nodes.len() == nodes.len() - 1 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    unreachable!("the loop returns or panics")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_killed_amid_a_thousand_keyed_http_submits_loses_none_and_doubles_none() {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const PRODUCERS: usize = 8;
    const EACH: usize = 125;
    let mut cluster = TestCluster::start(3, &[]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let nodes: Vec<String> = cluster.nodes.values().map(|node| node.http.clone()).collect();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let nodes = nodes.clone();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let http = Http::default();
                let mut answers = Vec::new();
                for n in 0..EACH {
                    let key = format!("p{p}-{n}");
                    let id = submit_until_acknowledged(&http, &nodes, p + n, &key).await;
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                    answers.push((key, id));
                }
                answers
            })
        })
        .collect();
    let reached = |count: usize| {
        let acknowledged = acknowledged.clone();
        move || {
            let acknowledged = acknowledged.clone();
            async move { (acknowledged.load(Ordering::Relaxed) >= count).then_some(()) }
        }
    };
    wait_for("300 acknowledged submits", Duration::from_secs(60), reached(300)).await;
    tracing::info!(leader, "--- kill -9 the leader");
    cluster.kill_node(leader);
    wait_for("700 acknowledged submits", Duration::from_secs(60), reached(700)).await;
    cluster.start_node(leader);
    let mut told: BTreeMap<String, String> = BTreeMap::new();
    for producer in producers {
        told.extend(producer.await.expect("producer"));
    }
    assert_eq!(told.len(), PRODUCERS * EACH);

    tracing::info!("--- the cluster holds exactly one task per key: the one its client was told");
    let listed = cluster
        .client(&[1, 2, 3])
        .list_tasks(qraft_proto::pb::ListTasksRequest {
            queue: "http-load".into(),
            limit: 10_000,
            linearizable: true,
            ..Default::default()
        })
        .await
        .expect("list");
    let mut held: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for task in listed.tasks {
        held.entry(task.idempotency_key).or_default().push(task.id);
    }
    assert_eq!(held.len(), PRODUCERS * EACH, "a task for every key");
    for (key, id) in &told {
        assert_eq!(held.get(key), Some(&vec![id.clone()]), "{key}");
    }
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_speaks_the_lease_protocol_over_http_alone() {
    let cluster = TestCluster::start(3, &[]);
    let (leader, follower) = leader_and_follower(&cluster).await;
    let http = Http::default();
    let worker = json!({"worker_id": "curl-1", "node": "laptop", "queues": ["http-jobs"], "concurrency": 2});
    assert_eq!(
        http.post(&follower, "/v1/worker/register", &worker).await.status,
        204
    );
    let mut ids = Vec::new();
    for n in 0..3 {
        let task = json!({"name": "resize", "queue": "http-jobs", "args": {"n": n}, "max_retries": 1});
        ids.push(
            http.post(&leader, "/v1/tasks", &task).await.json()["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }

    tracing::info!("--- lease two, ack one, fail one for good; a second ack of the first is stale");
    let lease = json!({"worker_id": "curl-1", "queues": ["http-jobs"], "max": 2, "wait_ms": 5000});
    let leased = http.post(&follower, "/v1/worker/lease", &lease).await.json();
    let tasks = leased["tasks"].as_array().expect("tasks").clone();
    assert_eq!(tasks.len(), 2, "{leased}");
    assert_eq!(tasks[0]["args"], json!({"n": 0}));
    let (first, second) = (&tasks[0], &tasks[1]);
    let ack = json!({"id": first["id"], "delivery": first["delivery"], "result": {"ok": true}});
    let acked = http.post(&follower, "/v1/worker/ack", &ack).await;
    assert_eq!(acked.json()["state"], "SUCCESS");
    let again = http.post(&leader, "/v1/worker/ack", &ack).await;
    assert!(again.problem(409).contains("stale lease"));
    assert_eq!(again.header("x-qraft-error"), Some("stale-lease"));
    let fail = json!({"id": second["id"], "delivery": second["delivery"], "error": "boom", "retry": false});
    assert_eq!(
        http.post(&follower, "/v1/worker/fail", &fail).await.json()["state"],
        "FAILURE"
    );
    let read = http
        .get(
            &leader,
            &format!("/v1/tasks/{}", first["id"].as_str().expect("id")),
        )
        .await
        .json();
    assert_eq!(read["result"], json!({"ok": true}));

    tracing::info!("--- the third: extend its lease, then hand it back unrun");
    let third = http.post(&leader, "/v1/worker/lease", &lease).await.json()["tasks"][0].clone();
    assert_eq!(third["id"], ids[2].as_str());
    let delivery = json!({"id": third["id"], "delivery": third["delivery"], "lease_ms": 60000});
    let extended = http.post(&follower, "/v1/worker/extend", &delivery).await;
    assert!(extended.json()["lease_deadline"].as_str().is_some());

    tracing::info!("--- had that answer been lost, a lease that says so hands the third out again");
    let recover =
        json!({"worker_id": "curl-1", "queues": ["http-jobs"], "max": 2, "recover": true, "held": []});
    let again = http.post(&follower, "/v1/worker/lease", &recover).await.json();
    assert_eq!(again["tasks"].as_array().map(Vec::len), Some(1), "{again}");
    assert_eq!(again["tasks"][0]["id"], third["id"]);
    assert_eq!(again["tasks"][0]["delivery"], third["delivery"]);
    let holding =
        json!({"worker_id": "curl-1", "queues": ["http-jobs"], "recover": true, "held": [third["id"]]});
    let none = http.post(&follower, "/v1/worker/lease", &holding).await.json();
    assert_eq!(none["tasks"], json!([]), "{none}");
    let back = json!({"id": third["id"], "delivery": third["delivery"]});
    assert_eq!(
        http.post(&follower, "/v1/worker/release", &back).await.json()["state"],
        "PENDING"
    );

    tracing::info!("--- heartbeat, an answer that names no task, leave");
    let beat = json!({"worker_id": "curl-1", "active": 0});
    assert_eq!(
        http.post(&leader, "/v1/worker/heartbeat", &beat).await.status,
        204
    );
    let nobody = json!({"id": "01M8VFJ5E3Y01ZPT8MMW2X5GH7", "delivery": 1, "result": 1});
    http.post(&leader, "/v1/worker/ack", &nobody).await.problem(404);
    let bye = json!({"worker_id": "curl-1"});
    assert_eq!(http.post(&follower, "/v1/worker/leave", &bye).await.status, 204);
    let gone = http.post(&leader, "/v1/worker/heartbeat", &beat).await;
    assert!(gone.problem(404).contains("register first"));
    assert_eq!(gone.json()["type"], "urn:qraft:problem:not-registered");
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shell_worker_runs_every_task_through_a_leader_kill() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let nodes: Vec<String> = cluster.nodes.values().map(|node| node.http.clone()).collect();
    let http = Http::default();
    const TASKS: usize = 30;
    let mut ids = Vec::new();
    for n in 0..TASKS {
        // A short timeout: a lease whose answer a failover lost runs out in seconds.
        let task = json!({"name": "shout", "queue": "shouting", "args": {"text": format!("hi {n}")}, "timeout_ms": 2000});
        let reply = http.post(&nodes[n % 3], "/v1/tasks", &task).await;
        ids.push(reply.json()["id"].as_str().expect("id").to_owned());
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/http/worker.sh");
    let log = cluster.dir.path().join("worker.log");
    let mut worker = std::process::Command::new("bash")
        .arg(&script)
        .args(["shouting", "--", "jq", "-c", ".text |= ascii_upcase"])
        .env("QRAFT_HTTP", nodes.join(","))
        .env("QRAFT_WORKER_ID", "shell-1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("start the shell worker");
    let succeeded = |at_least: usize| {
        let node = nodes[0].clone();
        move || {
            let node = node.clone();
            async move {
                let listed = Http::default()
                    .try_send(
                        &node,
                        "GET",
                        "/v1/tasks?queue=shouting&state=SUCCESS&limit=100",
                        &[],
                        None,
                    )
                    .await
                    .ok()?;
                let done = listed.json()["tasks"].as_array().map_or(0, Vec::len);
                (done >= at_least).then_some(done)
            }
        }
    };
    wait_for(
        "10 tasks run by the shell worker",
        Duration::from_secs(60),
        succeeded(10),
    )
    .await;
    tracing::info!(leader, "--- kill -9 the leader while the worker runs");
    cluster.kill_node(leader);
    let survivor = [1, 2, 3].into_iter().find(|id| *id != leader).expect("survivor");
    let node = cluster.nodes[&survivor].http.clone();
    wait_for("every task run", Duration::from_secs(90), || {
        let node = node.clone();
        async move {
            let listed = Http::default()
                .try_send(
                    &node,
                    "GET",
                    "/v1/tasks?queue=shouting&state=SUCCESS&limit=100",
                    &[],
                    None,
                )
                .await
                .ok()?;
            (listed.json()["tasks"].as_array().map_or(0, Vec::len) == TASKS).then_some(())
        }
    })
    .await;
    for (n, id) in ids.iter().enumerate() {
        let task = http.get(&node, &format!("/v1/tasks/{id}")).await.json();
        assert_eq!(task["result"], json!({"text": format!("HI {n}")}), "{task}");
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM the worker");
    let status = worker.wait().expect("worker exits");
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "the worker exited {status}: {said}");
    assert!(said.contains("and left"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn queues_dead_letters_and_workers_are_seen_and_steered_over_http() {
    let cluster = TestCluster::start(3, &[]);
    let (leader, follower) = leader_and_follower(&cluster).await;
    let http = Http::default();

    tracing::info!("--- a paused queue keeps its task waiting; resumed, the task runs");
    let paused = http.post(&follower, "/v1/queues/default/pause", &json!({})).await;
    assert_eq!(paused.json(), json!({"queue": "default", "paused": true}));
    let task = json!({"name": "builtin.echo", "args": 1});
    let id = http.post(&leader, "/v1/tasks", &task).await.json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let listed = http.get(&follower, "/v1/queues?linearizable=true").await.json();
    let default = listed["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .find(|q| q["name"] == "default")
        .cloned()
        .expect("the default queue");
    assert_eq!(default["paused"], true);
    assert_eq!(default["ready"], 1);
    assert!(default["consumers"].is_u64(), "{default}");
    http.post(&leader, "/v1/queues/default/resume", &json!({})).await;
    let done = http
        .get(&follower, &format!("/v1/tasks/{id}?wait=20s"))
        .await
        .json();
    assert_eq!(done["state"], "SUCCESS");

    tracing::info!("--- a task that fails for good is a dead letter; retried, it runs again");
    let doomed = json!({"name": "builtin.fail", "args": {"times": 1}});
    let dead_id = http.post(&leader, "/v1/tasks", &doomed).await.json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let failed = http
        .get(&leader, &format!("/v1/tasks/{dead_id}?wait=20s"))
        .await
        .json();
    assert_eq!(failed["state"], "FAILURE", "{failed}");
    let dead = http.get(&follower, "/v1/dead?linearizable=true").await.json();
    assert!(
        dead["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .any(|t| t["id"] == dead_id.as_str()),
        "{dead}"
    );
    let retried = http
        .post(&follower, "/v1/dead/retry", &json!({"id": dead_id}))
        .await;
    assert_eq!(retried.json()["count"], 1);
    let again = http
        .get(&leader, &format!("/v1/tasks/{dead_id}?wait=20s"))
        .await
        .json();
    // Attempts start again from one, so it fails the same way, once more.
    assert_eq!(again["state"], "FAILURE", "{again}");
    assert_ne!(again["started_at"], failed["started_at"], "it ran again");
    let neither = http
        .post(
            &follower,
            "/v1/dead/purge",
            &json!({"queue": "default", "all": true}),
        )
        .await;
    assert!(neither.problem(400).contains("exactly one of"));
    let purged = http
        .post(&follower, "/v1/dead/purge", &json!({"all": true}))
        .await;
    assert_eq!(purged.json()["count"], 1, "the task that died again");

    tracing::info!("--- a rate limit set, read, removed");
    let set = http
        .send(
            &leader,
            "PUT",
            "/v1/limits/queue:default",
            &[("content-type", "application/json")],
            Some(br#"{"count": 5, "per_ms": 1000}"#.to_vec()),
        )
        .await;
    assert_eq!(set.status, 204, "{}", String::from_utf8_lossy(&set.body));
    let limits = http.get(&follower, "/v1/limits?linearizable=true").await.json();
    assert_eq!(limits["limits"][0]["scope"], "queue:default", "{limits}");
    assert_eq!(limits["limits"][0]["count"], 5);
    let wrong = http
        .send(
            &leader,
            "PUT",
            "/v1/limits/shelf:x",
            &[("content-type", "application/json")],
            Some(br#"{"count": 5, "per_ms": 1000}"#.to_vec()),
        )
        .await;
    wrong.problem(400);
    let removed = http
        .send(&follower, "DELETE", "/v1/limits/queue:default", &[], None)
        .await;
    assert_eq!(removed.json()["removed"], true);
    let again = http
        .send(&follower, "DELETE", "/v1/limits/queue:default", &[], None)
        .await;
    assert_eq!(again.json()["removed"], false);

    tracing::info!("--- a key used again for another task is refused as unprocessable");
    let keyed = |n: u32| json!({"name": "builtin.echo", "queue": "later", "args": n});
    let first = http
        .post_with(&leader, "/v1/tasks", &[("idempotency-key", "k-422")], &keyed(1))
        .await;
    assert_eq!(first.status, 201);
    let reused = http
        .post_with(&follower, "/v1/tasks", &[("idempotency-key", "k-422")], &keyed(2))
        .await;
    assert!(reused.problem(422).contains("different task"));
    assert_eq!(reused.json()["type"], "urn:qraft:problem:key-reused");

    tracing::info!("--- purge, and the workers every node runs");
    http.post(&leader, "/v1/queues/later/pause", &json!({})).await;
    for _ in 0..3 {
        http.post(&leader, "/v1/tasks", &json!({"name": "x", "queue": "later"}))
            .await;
    }
    assert_eq!(
        http.post(&follower, "/v1/queues/later/purge", &json!({}))
            .await
            .json()["count"],
        4
    );
    // Each node's pool registers as it starts: all three, once they have.
    let (workers, _) = wait_for(
        "the three pools among the workers",
        Duration::from_secs(30),
        || {
            let (http, follower) = (http.clone(), follower.clone());
            async move {
                let workers = http.get(&follower, "/v1/workers").await.json();
                (workers["workers"].as_array()?.len() >= 3).then_some(workers)
            }
        },
    )
    .await;
    assert!(
        workers["workers"].as_array().expect("workers").len() >= 3,
        "{workers}"
    );
    assert!(workers["now"].as_str().is_some());
    cluster.must_not_have_panicked();
}

/// The status of a stream's answer, read from its head alone.
#[tokio::test(flavor = "multi_thread")]
async fn flows_and_schedules_are_run_and_steered_over_http() {
    let cluster = TestCluster::start(3, &[]);
    let (leader, follower) = leader_and_follower(&cluster).await;
    let http = Http::default();

    tracing::info!("--- a chain, as the flow file of `qraft flow submit`, with a key; resent, the same flow");
    let chain = json!({"chain": [
        {"task": "builtin.echo", "args": {"page": 1}},
        {"task": "builtin.echo", "timeout": "30s"},
        {"task": "builtin.echo", "args": {"kept": true}, "immutable": true},
    ]});
    let submitted = http
        .post_with(&follower, "/v1/flows", &[("idempotency-key", "album-7")], &chain)
        .await;
    assert_eq!(
        submitted.status,
        201,
        "{}",
        String::from_utf8_lossy(&submitted.body)
    );
    let id = submitted.json()["id"].as_str().expect("id").to_owned();
    let location = format!("/v1/flows/{id}");
    assert_eq!(submitted.header("location"), Some(location.as_str()));
    let resent = http
        .post_with(&leader, "/v1/flows", &[("idempotency-key", "album-7")], &chain)
        .await;
    assert_eq!(resent.status, 200);
    assert_eq!(resent.header("idempotent-replayed"), Some("true"));
    assert_eq!(resent.json(), json!({"id": id, "duplicate": true}));
    let (flow, _) = wait_for("the chain to succeed", Duration::from_secs(30), || {
        let (http, follower, location) = (http.clone(), follower.clone(), location.clone());
        async move {
            let flow = http
                .get(&follower, &format!("{location}?linearizable=true"))
                .await
                .json();
            (flow["state"] == "SUCCEEDED").then_some(flow)
        }
    })
    .await;
    assert_eq!(flow["kind"], "chain");
    assert_eq!(
        (flow["done"].as_u64(), flow["total"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        flow["parts"][1]["result"],
        json!({"page": 1}),
        "step 1 got step 0's result"
    );
    assert_eq!(
        flow["result"],
        json!({"kept": true}),
        "the immutable step kept its args"
    );
    assert_eq!(flow["idempotency_key"], "album-7");

    tracing::info!("--- a chord whose member fails runs its callback with the error");
    let chord = json!({"chord": {
        "group": [{"task": "builtin.echo", "args": 1}, {"task": "builtin.fail", "args": {"times": 5}}],
        "callback": {"task": "builtin.echo"},
        "on_failure": "run_callback",
    }});
    let chord_id = http.post(&leader, "/v1/flows", &chord).await.json()["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (chord_done, _) = wait_for("the chord to end", Duration::from_secs(30), || {
        let (http, leader, chord_id) = (http.clone(), leader.clone(), chord_id.clone());
        async move {
            let flow = http.get(&leader, &format!("/v1/flows/{chord_id}")).await.json();
            (flow["state"] != "RUNNING").then_some(flow)
        }
    })
    .await;
    assert_eq!(chord_done["parts"][1]["state"], "FAILURE", "{chord_done}");
    assert_eq!(chord_done["callback"]["state"], "SUCCESS", "{chord_done}");
    let listed = http
        .get(&follower, "/v1/flows?linearizable=true&limit=10")
        .await
        .json();
    let listed: Vec<&str> = listed["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(listed, [chord_id.as_str(), id.as_str()], "newest first");
    let wrong = http
        .post(
            &leader,
            "/v1/flows",
            &json!({"group": [{"task": "a", "immutable": true}]}),
        )
        .await;
    assert!(wrong.problem(400).contains("only a chain's steps"));
    let timed = http
        .post(
            &leader,
            "/v1/flows",
            &json!({"chain": [{"task": "a", "countdown_ms": 5}]}),
        )
        .await;
    assert!(timed.problem(400).contains("takes no countdown"));

    tracing::info!("--- a schedule added, replaced, fired, paused, resumed and removed");
    let put = |name: &str, body: Value| {
        let (http, leader) = (http.clone(), leader.clone());
        let path = format!("/v1/schedules/{name}");
        async move {
            http.send(
                &leader,
                "PUT",
                &path,
                &[("content-type", "application/json")],
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    let tick = json!({"task": {"name": "builtin.echo", "args": {"tick": true}}, "every": "300ms"});
    let added = put("tick", tick.clone()).await;
    assert_eq!(added.status, 201, "{}", String::from_utf8_lossy(&added.body));
    assert_eq!(added.json()["schedule"]["every_ms"], 300);
    let replaced = put("tick", tick).await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.json()["replaced"], true);
    wait_for("two runs of the schedule", Duration::from_secs(30), || {
        let (http, follower) = (http.clone(), follower.clone());
        async move {
            let listed = http.get(&follower, "/v1/schedules").await.json();
            let tick = listed["schedules"]
                .as_array()?
                .iter()
                .find(|s| s["name"] == "tick")?
                .clone();
            (tick["runs"].as_u64()? >= 2 && tick["last_task_id"].is_string()).then_some(())
        }
    })
    .await;
    let paused = http
        .post(&follower, "/v1/schedules/tick/pause", &json!({}))
        .await
        .json();
    assert_eq!(paused["paused"], true, "{paused}");
    assert_eq!(paused["next_run"], Value::Null);
    let resumed = http
        .post(&leader, "/v1/schedules/tick/resume", &json!({}))
        .await
        .json();
    assert_eq!(resumed["paused"], false, "{resumed}");
    let cron = put(
        "weekdays",
        json!({"task": {"name": "report"}, "cron": "0 30 9 * * Mon-Fri", "time_zone": "Europe/Paris", "misfire": "catch_up"}),
    )
    .await
    .json();
    assert_eq!(cron["schedule"]["catch_up_limit"], 10, "{cron}");
    let both = put(
        "both",
        json!({"task": {"name": "x"}, "cron": "* * * * * *", "every": "1s"}),
    )
    .await;
    assert!(both.problem(400).contains("exactly one of"));
    for name in ["tick", "weekdays"] {
        let removed = http
            .send(&follower, "DELETE", &format!("/v1/schedules/{name}"), &[], None)
            .await;
        assert_eq!(removed.json()["removed"], true);
    }
    let again = http
        .send(&leader, "DELETE", "/v1/schedules/tick", &[], None)
        .await;
    assert_eq!(again.json()["removed"], false);
    http.post(&leader, "/v1/schedules/tick/pause", &json!({}))
        .await
        .problem(404);
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread")]
async fn members_are_listed_added_and_removed_and_leadership_moved_over_http() {
    let mut cluster = TestCluster::start(3, &[]);
    let leader_id = cluster.wait_for_leader(&[1, 2, 3], Duration::from_secs(15)).await;
    let follower_id = [1, 2, 3]
        .into_iter()
        .find(|id| *id != leader_id)
        .expect("a follower");
    let http_of = |cluster: &TestCluster, id: u64| cluster.nodes[&id].http.clone();
    let (leader, follower) = (http_of(&cluster, leader_id), http_of(&cluster, follower_id));
    let http = Http::default();

    let members = http.get(&follower, "/v1/cluster/members").await.json();
    assert_eq!(members["members"].as_array().map(Vec::len), Some(3), "{members}");
    assert_eq!(members["leader_id"], leader_id);

    tracing::info!("--- a follower sends a leadership move to the leader; the leader makes it");
    let asked = http.post(&follower, "/v1/cluster/leader", &json!({})).await;
    asked.problem(503);
    assert_eq!(
        asked.header("x-qraft-leader"),
        Some(cluster.addr(leader_id).as_str())
    );
    let moved = http.post(&leader, "/v1/cluster/leader", &json!({})).await.json();
    let new_leader_id = moved["leader_id"].as_u64().expect("leader id");
    assert_ne!(new_leader_id, leader_id, "{moved}");
    let new_leader = http_of(&cluster, new_leader_id);

    tracing::info!("--- node 4 is added (its own join and this add are the same change), then removed");
    cluster.start_joining_node(4, new_leader_id);
    let node4 = json!({"id": 4, "addr": cluster.addr(4), "timeout_ms": 60000});
    let (added, _) = wait_for("node 4 added over HTTP", Duration::from_secs(60), || {
        let (http, new_leader, node4) = (http.clone(), new_leader.clone(), node4.clone());
        async move {
            // 409: its own join is the change in progress; resent, the add finds it done.
            let reply = http.post(&new_leader, "/v1/cluster/members", &node4).await;
            (reply.status == 200).then(|| reply.json())
        }
    })
    .await;
    let voters: Vec<u64> = added["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["voter"] == true)
        .filter_map(|m| m["id"].as_u64())
        .collect();
    assert!(voters.contains(&4), "{added}");
    let removed = http
        .send(&new_leader, "DELETE", "/v1/cluster/members/4", &[], None)
        .await
        .json();
    assert_eq!(removed["removed"], true, "{removed}");
    assert_eq!(removed["members"].as_array().map(Vec::len), Some(3), "{removed}");
    let again = http
        .send(&new_leader, "DELETE", "/v1/cluster/members/4", &[], None)
        .await
        .json();
    assert_eq!(again["removed"], false, "a resent remove");
    let nowhere = http
        .post(
            &new_leader,
            "/v1/cluster/members",
            &json!({"id": 9, "addr": "nowhere"}),
        )
        .await;
    assert!(nowhere.problem(400).contains("HOST:PORT"));
    cluster.kill_node(4);
    cluster.must_not_have_panicked();
}

async fn stream_status(addr: &str, path: &str) -> u16 {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header("host", addr)
        .body(Full::new(Bytes::new()))
        .expect("request");
    tokio::time::timeout(Duration::from_secs(20), sender.send_request(request))
        .await
        .expect("a head within 20 s")
        .expect("send")
        .status()
        .as_u16()
}

/// Reads `count` events from a Server-Sent Events stream (the first `count` after connecting),
/// as (id, event name, data); then drops the connection.
async fn read_events(
    addr: &str,
    path: &str,
    last_event_id: Option<u64>,
    count: usize,
) -> Vec<(u64, String, Value)> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = hyper::Request::get(path)
        .header("host", addr)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::new())).expect("request"))
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut body = response.into_body();
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while events.len() < count {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} events within 30 s: {events:?}", events.len()))
            .expect("the stream ended")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let (mut id, mut name, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("id:") {
                    id = value.trim().parse::<u64>().ok();
                } else if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim().to_owned();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            if let Some(id) = id {
                events.push((id, name, serde_json::from_str(&data).expect("JSON data")));
            }
        }
    }
    events.truncate(count);
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn the_finished_stream_resumes_on_another_node_without_a_gap_or_a_repeat() {
    let cluster = TestCluster::start(3, &[]);
    let (leader, follower) = leader_and_follower(&cluster).await;
    let http = Http::default();
    let submit_five = |from: usize| {
        let http = http.clone();
        let leader = leader.clone();
        async move {
            let mut ids = Vec::new();
            for n in from..from + 5 {
                let task = json!({"name": "builtin.echo", "args": {"n": n}});
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                // A node that lost its leadership a moment ago answers "not applied": resend,
                // as any client does.
                let reply = loop {
                    let reply = http.post(&leader, "/v1/tasks", &task).await.json();
                    if reply["not_applied"] != true || tokio::time::Instant::now() >= deadline {
                        break reply;
                    }
                };
                let id = reply["id"].as_str().unwrap_or_else(|| panic!("no id in {reply}"));
                ids.push(id.to_owned());
            }
            ids
        }
    };

    tracing::info!("--- a stream from now on a follower sees five finishes, in order");
    let mut reader = {
        let follower = follower.clone();
        tokio::spawn(
            async move { read_events(&follower, "/v1/streams/finished?queue=default", None, 5).await },
        )
    };
    // The stream starts from the next finish: submit until it has seen five, since when it
    // began listening cannot be told from outside.
    let mut first = Vec::new();
    let seen = loop {
        first.extend(submit_five(first.len()).await);
        if let Ok(done) = tokio::time::timeout(Duration::from_millis(500), &mut reader).await {
            break done.expect("reader");
        }
        assert!(
            first.len() < 50,
            "the stream saw no five finishes of {}",
            first.len()
        );
    };
    assert_eq!(seen.len(), 5);
    assert!(
        seen.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "ids rise: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|(_, name, task)| name == "finished" && task["state"] == "SUCCESS")
    );
    let last_seen = seen.last().expect("events").0;

    tracing::info!("--- disconnected, five more finish; the other node resumes after the last id seen");
    let later = submit_five(1000).await;
    for id in &later {
        let done = http
            .get(&leader, &format!("/v1/tasks/{id}?wait=20s"))
            .await
            .json();
        assert_eq!(done["state"], "SUCCESS");
    }
    let all_finished: usize = first.len() + later.len();
    let other = cluster
        .nodes
        .values()
        .map(|node| node.http.clone())
        .find(|node| *node != follower && *node != leader)
        .expect("a third node");
    let expected_after = all_finished - 5;
    let resumed = read_events(
        &other,
        "/v1/streams/finished?queue=default",
        Some(last_seen),
        expected_after,
    )
    .await;
    let resumed_ids: Vec<&str> = resumed
        .iter()
        .map(|(_, _, task)| task["id"].as_str().expect("id"))
        .collect();
    assert!(
        resumed.iter().all(|(id, _, _)| *id > last_seen),
        "nothing repeated"
    );
    assert!(resumed.windows(2).all(|pair| pair[0].0 < pair[1].0));
    for id in &later {
        assert!(
            resumed_ids.contains(&id.as_str()),
            "{id} missing after the resume"
        );
    }
    tracing::info!("--- gRPC resumes from the same finish number the same way");
    let mut watch = cluster
        .client(&[1, 2, 3])
        .watch_finished_after(&cluster.addr(1), "default", Some(last_seen))
        .await
        .expect("watch");
    let mut grpc_ids = Vec::new();
    while grpc_ids.len() < expected_after {
        let batch = tokio::time::timeout(Duration::from_secs(20), watch.message())
            .await
            .expect("a batch in time")
            .expect("a batch")
            .expect("the stream goes on");
        grpc_ids.extend(batch.tasks.into_iter().map(|task| (task.seq, task.id)));
    }
    let sse_ids: Vec<(u64, String)> = resumed
        .iter()
        .map(|(seq, _, task)| (*seq, task["id"].as_str().expect("id").to_owned()))
        .collect();
    assert_eq!(
        grpc_ids[..expected_after],
        sse_ids[..],
        "the same finishes, numbered the same"
    );
    tracing::info!("--- the event timeline: from the oldest, then resumed on another node");
    let timeline = read_events(&leader, "/v1/streams/events", None, 2).await;
    assert_eq!(timeline[0].2["seq"], timeline[0].0);
    assert!(
        timeline[0].2["kind"]
            .as_str()
            .is_some_and(|kind| !kind.is_empty()),
        "{timeline:?}"
    );
    let next = read_events(&other, "/v1/streams/events", Some(timeline[0].0), 1).await;
    assert_eq!(next[0].0, timeline[1].0, "the one after, on another node");
    assert_eq!(next[0].2, timeline[1].2);
    let seen_ids: Vec<&str> = seen
        .iter()
        .map(|(_, _, task)| task["id"].as_str().expect("id"))
        .collect();
    for id in &first {
        assert!(
            seen_ids.contains(&id.as_str()) || resumed_ids.contains(&id.as_str()),
            "{id} seen by neither stream"
        );
    }
    cluster.must_not_have_panicked();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_node_ends_its_streams_cleanly() {
    let mut cluster = TestCluster::start(1, &[]);
    cluster.wait_for_leader(&[1], Duration::from_secs(15)).await;
    let addr = cluster.nodes[&1].http.clone();
    let stream = TcpStream::connect(&addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let request = hyper::Request::get("/v1/streams/events")
        .header("host", &addr)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = sender.send_request(request).await.expect("send");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    // The timeline's first event: the stream is live.
    let first = tokio::time::timeout(Duration::from_secs(20), body.frame())
        .await
        .expect("an event")
        .expect("a frame")
        .expect("data");
    assert!(first.is_data());
    assert!(
        cluster.stop_node(1, Duration::from_secs(20)),
        "the node stops cleanly"
    );
    tracing::info!("--- the stream ended as a stream ends, not cut off by a timeout");
    loop {
        match tokio::time::timeout(Duration::from_secs(20), body.frame())
            .await
            .expect("ended")
        {
            None => break,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("the stream was cut off instead of ended: {e}"),
        }
    }
}
