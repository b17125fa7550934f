//! The client's address book: one lazy channel per node, plus the hint of which one leads.

use std::sync::OnceLock;
use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::ClientError;
use crate::security::{Bearer, Credentials};

/// A node's channel with the client's token stamped on every request.
pub type NodeChannel = InterceptedService<Channel, Bearer>;

/// How long a TCP connect may take before the node counts as unreachable. Short, because a dead
/// node should cost a failover little time, and a live node on a LAN answers in microseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// One cluster node as the client sees it.
#[derive(Debug)]
pub(crate) struct Node {
    /// `host:port`, as shown to operators and compared with `x-qraft-leader`.
    pub(crate) addr: String,
    endpoint: Endpoint,
    bearer: Bearer,
    /// Created on first use rather than in `Client::new`: tonic spawns a task per channel, and
    /// creating the client should not require a Tokio runtime.
    channel: OnceLock<Channel>,
}

impl Node {
    fn parse(raw: &str, tls: Option<&ClientTlsConfig>, bearer: &Bearer) -> Result<Self, ClientError> {
        let (addr, endpoint) = parse_addr(raw, tls)?;
        Ok(Node {
            addr,
            endpoint,
            bearer: bearer.clone(),
            channel: OnceLock::new(),
        })
    }

    /// The node's one channel, shared by every call so that calls reuse its connection.
    pub(crate) fn channel(&self) -> NodeChannel {
        let channel = self.channel.get_or_init(|| self.endpoint.connect_lazy()).clone();
        InterceptedService::new(channel, self.bearer.clone())
    }
}

/// Known nodes in the order the caller gave them, followed by leaders learned from answers.
#[derive(Debug)]
pub(crate) struct AddressBook {
    nodes: Vec<Node>,
    /// Index into `nodes` of the node believed to lead. Writes start there.
    leader: Option<usize>,
    /// For nodes learned later (leader hints) too.
    tls: Option<ClientTlsConfig>,
    bearer: Bearer,
}

impl AddressBook {
    pub(crate) fn parse(
        addrs: impl IntoIterator<Item = impl AsRef<str>>,
        credentials: &Credentials,
    ) -> Result<Self, ClientError> {
        let bearer = credentials
            .interceptor()
            .map_err(|e| ClientError::InvalidAddress(e.to_string()))?;
        let mut book = AddressBook {
            nodes: Vec::new(),
            leader: None,
            tls: credentials.tls.as_ref().map(|tls| tls.client_config()),
            bearer,
        };
        for raw in addrs {
            book.find_or_add(raw.as_ref())?;
        }
        if book.nodes.is_empty() {
            return Err(ClientError::InvalidAddress(
                "no node addresses given; pass at least one host:port".into(),
            ));
        }
        Ok(book)
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn addrs(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.addr.clone()).collect()
    }

    /// Where a call starts: the leader if one is known, else the first address.
    pub(crate) fn first(&self) -> usize {
        self.leader.unwrap_or(0)
    }

    /// The node at `index`, wrapping around, so a caller can keep counting past the end.
    pub(crate) fn node(&self, index: usize) -> (String, NodeChannel) {
        let node = &self.nodes[index % self.nodes.len()];
        (node.addr.clone(), node.channel())
    }

    pub(crate) fn leader_addr(&self) -> Option<String> {
        self.leader.map(|index| self.nodes[index].addr.clone())
    }

    /// Index of `raw`, adding it as a new node when it is not known yet.
    pub(crate) fn find_or_add(&mut self, raw: &str) -> Result<usize, ClientError> {
        let wanted = normalize(raw);
        if let Some(index) = self.nodes.iter().position(|node| node.addr == wanted) {
            return Ok(index);
        }
        self.nodes
            .push(Node::parse(raw, self.tls.as_ref(), &self.bearer)?);
        Ok(self.nodes.len() - 1)
    }

    /// Records `raw` as the leader and returns its index. A node may name a leader address we
    /// cannot parse (a misconfigured `advertise` address); that hint is dropped, not an error.
    pub(crate) fn set_leader(&mut self, raw: &str) -> Option<usize> {
        match self.find_or_add(raw) {
            Ok(index) => {
                if self.leader != Some(index) {
                    tracing::debug!(leader = %self.nodes[index].addr, "leader hint updated");
                }
                self.leader = Some(index);
                Some(index)
            }
            Err(error) => {
                tracing::debug!(leader = raw, %error, "ignoring unusable leader hint");
                None
            }
        }
    }

    /// Drops the hint when it points at `index`, e.g. because that node could not be reached.
    pub(crate) fn forget_leader(&mut self, index: usize) {
        if self.leader == Some(index % self.nodes.len()) {
            self.leader = None;
        }
    }
}

/// The `host:port` part of an address, so `http://a:1/`, `https://a:1` and `a:1` compare equal.
pub(crate) fn normalize(raw: &str) -> &str {
    let raw = raw.trim();
    raw.strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .unwrap_or(raw)
        .trim_end_matches('/')
}

/// Parses `host:port` (or with `http://`/`https://`) into the display address and a tonic
/// endpoint: TLS when `tls` is given, whatever the scheme written, since the cluster decides.
pub(crate) fn parse_addr(
    raw: &str,
    tls: Option<&ClientTlsConfig>,
) -> Result<(String, Endpoint), ClientError> {
    let invalid = |why: &str| ClientError::InvalidAddress(format!("{raw:?}: {why}"));
    let addr = normalize(raw);
    if addr.is_empty() {
        return Err(invalid("the address is empty; expected host:port"));
    }
    if addr.contains("://") {
        return Err(invalid(
            "write host:port (the cluster's TLS settings decide http or https)",
        ));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .map_err(|error| invalid(&format!("not a host:port ({error})")))?;
    let endpoint = match tls {
        Some(tls) => endpoint
            .tls_config(tls.clone())
            .map_err(|error| invalid(&format!("TLS settings ({error})")))?,
        None => endpoint,
    };
    let uri = endpoint.uri();
    if uri.path() != "/" || uri.query().is_some() {
        return Err(invalid("a node address has no path; write host:port"));
    }
    // Defaulting to port 80 would send gRPC to whatever listens there, so insist on a port.
    if uri.port_u16().is_none() {
        return Err(invalid(
            "a port number is needed; write host:port, e.g. 127.0.0.1:7071",
        ));
    }
    let endpoint = endpoint.connect_timeout(CONNECT_TIMEOUT).tcp_nodelay(true);
    Ok((addr.to_owned(), endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Credentials {
        Credentials::default()
    }

    #[test]
    fn parses_plain_and_http_addresses() {
        let book = AddressBook::parse(
            ["127.0.0.1:7071", "http://node-b:7072/", " [::1]:7073 "],
            &plain(),
        )
        .expect("valid addresses");
        assert_eq!(book.addrs(), ["127.0.0.1:7071", "node-b:7072", "[::1]:7073"]);
    }

    #[test]
    fn duplicate_addresses_collapse() {
        let book =
            AddressBook::parse(["a:1", "http://a:1", "https://a:1"], &plain()).expect("valid addresses");
        assert_eq!(book.addrs(), ["a:1"]);
    }

    #[test]
    fn rejects_bad_addresses_with_a_reason() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "no node addresses"),
            (&[""], "empty"),
            (&["a:1", "  "], "empty"),
            (&["127.0.0.1"], "port number is needed"),
            (&["a:notaport"], "port number is needed"),
            (&["a:99999"], "port number is needed"),
            (&["ftp://a:1"], "write host:port"),
            (&["a:1/queue"], "no path"),
            (&["a b:1"], "not a host:port"),
            (&["a:1:2"], "not a host:port"),
        ];
        for (addrs, reason) in cases {
            match AddressBook::parse(addrs.iter(), &plain()) {
                Err(ClientError::InvalidAddress(message)) => assert!(
                    message.contains(reason),
                    "{addrs:?}: message {message:?} should mention {reason:?}"
                ),
                other => panic!("{addrs:?}: expected InvalidAddress, got {other:?}"),
            }
        }
    }

    #[test]
    fn leader_hint_adds_unknown_nodes_and_can_be_forgotten() {
        let mut book = AddressBook::parse(["a:1"], &plain()).expect("valid address");
        assert_eq!(book.first(), 0);
        assert_eq!(book.set_leader("http://b:2"), Some(1));
        assert_eq!(book.leader_addr().as_deref(), Some("b:2"));
        assert_eq!(book.addrs(), ["a:1", "b:2"]);
        assert_eq!(book.set_leader("not an address"), None);
        assert_eq!(book.first(), 1);
        book.forget_leader(0);
        assert_eq!(book.first(), 1, "forgetting another node keeps the hint");
        book.forget_leader(1);
        assert_eq!(book.leader_addr(), None);
    }
}
