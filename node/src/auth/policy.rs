//! Roles and the calls they allow, and the table of tokens a node accepts.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The DNS name every node certificate carries (`qraft certs init` puts it there): what tells a
/// peer's certificate from a client's, both being signed by the cluster's CA.
pub const NODE_CERT_NAME: &str = "node.qraft.internal";

/// What a token lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only: status, stats, tasks, flows, events; the console with `--read-only`.
    Viewer,
    /// Submit tasks and flows, read them, and revoke the tasks it submitted.
    Producer,
    /// The worker protocol (and node status, to find the leader).
    Worker,
    /// Everything but Raft: queue operations, limits, schedules, membership, leadership.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Producer, Role::Worker, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Producer => "producer",
            Role::Worker => "worker",
            Role::Admin => "admin",
        }
    }

    fn allows(self, need: Need) -> bool {
        match (self, need) {
            (_, Need::Peer) => false,
            (Role::Admin, _) => true,
            (Role::Viewer | Role::Producer, Need::Read) => true,
            (Role::Producer, Need::Produce) => true,
            (Role::Worker, Need::Work | Need::Discover | Need::Observe) => true,
            (Role::Viewer | Role::Producer, Need::Discover | Need::Observe) => true,
            _ => false,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|role| role.name() == s)
            .ok_or_else(|| format!("unknown role {s:?}; roles are viewer, producer, worker, admin"))
    }
}

/// What a call needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Only a peer node (Raft).
    Peer,
    /// Reads of tasks, flows, queues, events, limits, schedules.
    Read,
    /// Node status: how every client finds the leader.
    Discover,
    /// Reads workers need too: finished tasks (a worker stops an attempt as soon as its task is
    /// revoked) and queue counts (a worker warns of waiting tasks nobody declares).
    Observe,
    Produce,
    Work,
    /// Anything else, unknown calls included.
    Admin,
}

/// What `path` (`/qraft.v1.Tasks/Submit`) needs.
pub fn need(path: &str) -> Need {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (service, method) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    match (service, method) {
        ("qraft.v1.Raft", _) => Need::Peer,
        ("qraft.v1.Worker", _) => Need::Work,
        ("qraft.v1.Admin", "NodeStatus") => Need::Discover,
        ("qraft.v1.Tasks", "WatchFinished") | ("qraft.v1.Admin", "ListQueues") => Need::Observe,
        ("qraft.v1.Tasks", "Submit" | "SubmitBatch" | "Revoke") | ("qraft.v1.Flows", "SubmitFlow") => {
            Need::Produce
        }
        ("qraft.v1.Tasks", "GetTask" | "Wait" | "ListTasks")
        | ("qraft.v1.Flows", "GetFlow" | "ListFlows")
        | ("qraft.v1.Admin", "ListWorkers" | "ListDead" | "WatchEvents")
        | ("qraft.v1.Control", "ListLimits" | "ListSchedules") => Need::Read,
        _ => Need::Admin,
    }
}

/// Who made a request, as the handlers see it (a request extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A peer node, by its certificate.
    Node,
    /// A token holder.
    Token { name: String, role: Role },
    /// Nobody checked: the node has no tokens configured.
    Anyone,
}

impl Caller {
    /// The name a producer's tasks are marked with, so that it may revoke only its own.
    pub fn producer_name(&self) -> Option<&str> {
        match self {
            Caller::Token {
                name,
                role: Role::Producer,
            } => Some(name),
            _ => None,
        }
    }
}

/// One accepted token as configured: a name for logs, a role, and the SHA-256 of the token in
/// hex (the token itself is never stored on a node).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub sha256: String,
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or one the node does not know, or a Raft call without a node certificate.
    Unauthenticated(String),
    /// A known caller whose role does not allow the call.
    Denied(String),
}

/// The tokens a node accepts, and whether TLS told peers apart.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    tokens: HashMap<[u8; 32], (String, Role)>,
    /// Whether the node serves TLS: then Raft needs a node certificate.
    tls: bool,
}

pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Policy {
    pub fn new(entries: &[TokenEntry], tls: bool) -> Result<Policy, String> {
        let mut tokens = HashMap::new();
        for entry in entries {
            let bytes = hex::decode(&entry.sha256)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| {
                    format!(
                        "token {:?}: sha256 must be 64 hex digits (`qraft token new` prints it)",
                        entry.name
                    )
                })?;
            if tokens.insert(bytes, (entry.name.clone(), entry.role)).is_some() {
                return Err(format!("token {:?} is listed twice", entry.name));
            }
        }
        Ok(Policy { tokens, tls })
    }

    pub fn has_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Decides a call to `path` by a caller with `token` (the part after `Bearer `) and, when
    /// `node_cert` is true, a verified node certificate.
    pub fn admit(&self, path: &str, token: Option<&str>, node_cert: bool) -> Result<Caller, Refusal> {
        let need = need(path);
        if node_cert {
            return Ok(Caller::Node);
        }
        if need == Need::Peer {
            return if self.tls {
                Err(Refusal::Unauthenticated(
                    "Raft is for peer nodes: present a node certificate of this cluster's CA".into(),
                ))
            } else {
                Ok(Caller::Anyone)
            };
        }
        self.admit_token(need, path, token)
    }

    /// Decides a client call that needs `need` (`what` names it in a refusal) by its token
    /// alone: the HTTP API, where every route mirrors a gRPC method and no peer calls.
    pub fn admit_token(&self, need: Need, what: &str, token: Option<&str>) -> Result<Caller, Refusal> {
        if need == Need::Peer {
            return Err(Refusal::Denied(format!("{what} is for peer nodes only")));
        }
        if self.tokens.is_empty() {
            return Ok(Caller::Anyone);
        }
        let token = token.ok_or_else(|| {
            Refusal::Unauthenticated("this node requires a token: pass --token (or QRAFT_TOKEN)".into())
        })?;
        let (name, role) = self
            .tokens
            .get(&digest(token))
            .ok_or_else(|| Refusal::Unauthenticated("unknown token".into()))?;
        if role.allows(need) {
            Ok(Caller::Token {
                name: name.clone(),
                role: *role,
            })
        } else {
            Err(Refusal::Denied(format!(
                "token {name:?} has role {role}, which may not call {what}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let entries: Vec<TokenEntry> = Role::ALL
            .iter()
            .map(|role| TokenEntry {
                name: format!("{role}-1"),
                role: *role,
                sha256: hex::encode(digest(&format!("secret-{role}"))),
            })
            .collect();
        Policy::new(&entries, true).expect("valid tokens")
    }

    fn allowed(role: Role, path: &str) -> bool {
        policy()
            .admit(path, Some(&format!("secret-{role}")), false)
            .is_ok()
    }

    #[test]
    fn each_role_is_allowed_exactly_its_calls() {
        let table = [
            ("/qraft.v1.Tasks/Submit", [false, true, false, true]),
            ("/qraft.v1.Tasks/Revoke", [false, true, false, true]),
            ("/qraft.v1.Flows/SubmitFlow", [false, true, false, true]),
            ("/qraft.v1.Tasks/GetTask", [true, true, false, true]),
            ("/qraft.v1.Tasks/WatchFinished", [true, true, true, true]),
            ("/qraft.v1.Admin/ListQueues", [true, true, true, true]),
            ("/qraft.v1.Admin/ListWorkers", [true, true, false, true]),
            ("/qraft.v1.Worker/AnswerBatch", [false, false, true, true]),
            ("/qraft.v1.Admin/WatchEvents", [true, true, false, true]),
            ("/qraft.v1.Admin/NodeStatus", [true, true, true, true]),
            ("/qraft.v1.Worker/Lease", [false, false, true, true]),
            ("/qraft.v1.Worker/Ack", [false, false, true, true]),
            ("/qraft.v1.Admin/PurgeQueue", [false, false, false, true]),
            ("/qraft.v1.Admin/RemoveNode", [false, false, false, true]),
            ("/qraft.v1.Control/SetLimit", [false, false, false, true]),
            ("/qraft.v1.Control/ListSchedules", [true, true, false, true]),
            ("/qraft.v1.Raft/AppendEntries", [false, false, false, false]),
            ("/grpc.health.v1.Health/Check", [false, false, false, true]),
        ];
        for (path, expected) in table {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(allowed(role, path), want, "{role} calling {path}");
            }
        }
    }

    #[test]
    fn refusals_say_why() {
        let policy = policy();
        assert_eq!(
            policy.admit("/qraft.v1.Tasks/Submit", None, false),
            Err(Refusal::Unauthenticated(
                "this node requires a token: pass --token (or QRAFT_TOKEN)".into()
            ))
        );
        assert!(matches!(
            policy.admit("/qraft.v1.Tasks/Submit", Some("guess"), false),
            Err(Refusal::Unauthenticated(_))
        ));
        assert!(matches!(
            policy.admit("/qraft.v1.Admin/PurgeQueue", Some("secret-viewer"), false),
            Err(Refusal::Denied(reason)) if reason.contains("role viewer")
        ));
        assert!(matches!(
            policy.admit("/qraft.v1.Raft/Vote", Some("secret-admin"), false),
            Err(Refusal::Unauthenticated(_))
        ));
        assert_eq!(policy.admit("/qraft.v1.Raft/Vote", None, true), Ok(Caller::Node));
    }

    #[test]
    fn without_tokens_or_tls_everything_is_open() {
        let open = Policy::new(&[], false).expect("empty");
        assert_eq!(
            open.admit("/qraft.v1.Tasks/Submit", None, false),
            Ok(Caller::Anyone)
        );
        assert_eq!(open.admit("/qraft.v1.Raft/Vote", None, false), Ok(Caller::Anyone));
        let tls_only = Policy::new(&[], true).expect("empty");
        assert_eq!(
            tls_only.admit("/qraft.v1.Tasks/Submit", None, false),
            Ok(Caller::Anyone)
        );
        assert!(tls_only.admit("/qraft.v1.Raft/Vote", None, false).is_err());
    }

    #[test]
    fn bad_token_entries_are_refused() {
        let entry = |sha256: &str| TokenEntry {
            name: "x".into(),
            role: Role::Admin,
            sha256: sha256.into(),
        };
        assert!(Policy::new(&[entry("abc")], false).is_err());
        let good = hex::encode(digest("t"));
        assert!(Policy::new(&[entry(&good), entry(&good)], false).is_err());
    }
}
