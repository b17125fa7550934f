//! Idempotency keys, held for their whole window whatever happens to their task: a task
//! deleted when its result TTL ran out, or purged, still answers a resend of its submit with
//! its own id, and a key used again for a different task within the window is refused instead
//! of silently returning the first one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::task::{TaskId, TaskState};

/// One idempotency key and what it stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldKey {
    pub key: String,
    /// The task the key's first submit stored.
    pub task: TaskId,
    /// Of that submit's task name, queue and args: a resend has the same, another task not.
    pub fingerprint: u64,
    /// Cluster time the window closes; the key is forgotten then.
    pub until_ms: u64,
    /// The task's state when it was deleted; `None` while it exists (its own state counts).
    pub last_state: Option<TaskState>,
}

/// A stable fingerprint (the first 8 bytes of a SHA-256, the same on every build) of what makes
/// two submits the same task.
pub fn fingerprint(name: &str, queue: &str, args: &[u8]) -> u64 {
    let mut hasher = Sha256::new();
    for part in [name.as_bytes(), queue.as_bytes(), args] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_fields_apart_and_are_stable() {
        let a = fingerprint("mail.send", "mail", b"{\"to\":\"ada\"}");
        assert_eq!(a, fingerprint("mail.send", "mail", b"{\"to\":\"ada\"}"));
        assert_ne!(a, fingerprint("mail.send", "mail", b"{\"to\":\"bob\"}"));
        assert_ne!(a, fingerprint("mail.send", "other", b"{\"to\":\"ada\"}"));
        // Field boundaries count: "ab"+"c" is not "a"+"bc".
        assert_ne!(fingerprint("ab", "c", b""), fingerprint("a", "bc", b""));
        // Fixed across builds: stored fingerprints must keep matching after an upgrade.
        assert_eq!(fingerprint("", "", b""), 0x9d90_8ecf_b6b2_56de);
    }
}
