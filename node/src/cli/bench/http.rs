//! Submits over the HTTP/JSON API, for `qraft bench submit --http`: one keep-alive HTTP/1.1
//! connection per client, opened again when it breaks, as a web app's connection pool would.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use qraft_proto::pb;
use tokio::net::TcpStream;

pub struct HttpSubmitter {
    addr: String,
    token: Option<String>,
    connection: Option<SendRequest<Full<Bytes>>>,
}

impl HttpSubmitter {
    pub fn new(addr: String, token: Option<String>) -> HttpSubmitter {
        HttpSubmitter {
            addr,
            token,
            connection: None,
        }
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if self.connection.as_ref().is_none_or(SendRequest::is_closed) {
            let stream = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| format!("{}: {e}", self.addr))?;
            let _ = stream.set_nodelay(true);
            let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            self.connection = Some(sender);
        }
        self.connection.as_mut().ok_or_else(|| "no connection".to_owned())
    }

    /// POSTs `body` (JSON) to `path` and returns the answer's body, or why it failed.
    async fn post(&mut self, path: &str, body: Bytes) -> Result<Bytes, String> {
        let mut request = hyper::Request::post(path)
            .header("host", &self.addr)
            .header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let sent = self.connection().await?.send_request(request).await;
        let response = sent.map_err(|e| {
            self.connection = None;
            e.to_string()
        })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{status}: {}", String::from_utf8_lossy(&body)))
        }
    }

    /// Submits one task (`size` 1) or a batch of `size` copies of `task`.
    pub async fn submit(
        &mut self,
        task: &serde_json::Value,
        size: u64,
    ) -> Result<Vec<pb::SubmitResponse>, String> {
        let (path, body) = if size == 1 {
            ("/v1/tasks", task.to_string())
        } else {
            let tasks = vec![task.clone(); usize::try_from(size).unwrap_or(1)];
            (
                "/v1/tasks/batch",
                serde_json::json!({ "tasks": tasks }).to_string(),
            )
        };
        let answer: serde_json::Value =
            serde_json::from_slice(&self.post(path, Bytes::from(body)).await?).map_err(|e| e.to_string())?;
        let submitted = |one: &serde_json::Value| pb::SubmitResponse {
            id: one["id"].as_str().unwrap_or_default().to_owned(),
            ..Default::default()
        };
        Ok(match answer["results"].as_array() {
            Some(results) => results.iter().map(submitted).collect(),
            None => vec![submitted(&answer)],
        })
    }
}
