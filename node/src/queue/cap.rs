//! Caps on what one queue holds, set like its rate limit (`qraft limit set queue:mail
//! max-length 100000`). A submit that would take the queue past a cap is refused in apply, so
//! the cap holds exactly, whichever node leads and however many producers send at once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::command::Command;

/// What a queue holds now: its unfinished tasks (waiting or running) and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub tasks: u64,
    pub bytes: u64,
}

/// A queue's caps; a submit past either is refused (the overflow policy is `reject`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCap {
    pub queue: String,
    /// Unfinished tasks (waiting or running) the queue may hold.
    #[serde(default)]
    pub max_length: Option<u64>,
    /// Bytes of those tasks' args and headers.
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

impl QueueCap {
    pub fn new(queue: String) -> Self {
        QueueCap {
            queue,
            max_length: None,
            max_bytes: None,
        }
    }

    /// Sets one cap; 0 removes it.
    pub fn set(&mut self, kind: CapKind, value: u64) {
        let value = (value > 0).then_some(value);
        match kind {
            CapKind::MaxLength => self.max_length = value,
            CapKind::MaxBytes => self.max_bytes = value,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.max_length.is_none() && self.max_bytes.is_none()
    }

    /// The cap that one more task of `bytes` would break, with its value.
    pub fn broken_by(&self, held: Held, bytes: u64) -> Option<(CapKind, u64)> {
        if let Some(max) = self.max_length.filter(|max| held.tasks >= *max) {
            return Some((CapKind::MaxLength, max));
        }
        self.max_bytes
            .filter(|max| held.bytes.saturating_add(bytes) > *max)
            .map(|max| (CapKind::MaxBytes, max))
    }
}

/// Which cap: `max-length` (tasks) or `max-bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CapKind {
    MaxLength,
    MaxBytes,
}

impl fmt::Display for CapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapKind::MaxLength => "max-length",
            CapKind::MaxBytes => "max-bytes",
        })
    }
}

impl FromStr for CapKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "max-length" | "max_length" => Ok(CapKind::MaxLength),
            "max-bytes" | "max_bytes" => Ok(CapKind::MaxBytes),
            other => Err(format!("{other:?} is not a cap; use max-length or max-bytes")),
        }
    }
}

/// Cluster-wide caps on what the state holds (`[limits] max_tasks` and `max_stored_bytes`):
/// every replica holds every task, so these keep each node inside its memory and disk. The node
/// a write arrives at (and the leader it is forwarded to) checks them before proposing, so a
/// write they refuse was never proposed; answers, which shrink the state, always pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreCaps {
    pub max_tasks: u64,
    pub max_stored_bytes: u64,
}

/// What the state holds, and what a write would add to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub tasks: u64,
    pub bytes: u64,
}

impl Usage {
    /// What `commands` would add to the state: the tasks they submit and those tasks' bytes.
    pub fn added_by(commands: &[Command]) -> Usage {
        let mut adding = Usage::default();
        for command in commands {
            let (tasks, bytes) = match command {
                Command::Submit(submit) => (1, submit.stored_bytes()),
                Command::SubmitFlow(flow) => {
                    let steps = flow.spec.steps();
                    let bytes = steps.iter().map(|step| step.template.args.len() as u64).sum();
                    (steps.len() as u64, bytes)
                }
                _ => (0, 0),
            };
            adding.tasks += tasks;
            adding.bytes += bytes;
        }
        adding
    }

    pub fn is_nothing(&self) -> bool {
        *self == Usage::default()
    }
}

impl StoreCaps {
    /// Refuses a write that adds `adding` to a state holding `held`, if it would pass a cap.
    pub fn must_hold(&self, held: Usage, adding: Usage) -> Result<(), StoreFull> {
        if adding.tasks > 0 && held.tasks.saturating_add(adding.tasks) > self.max_tasks {
            return Err(StoreFull::Tasks {
                held: held.tasks,
                max: self.max_tasks,
            });
        }
        if adding.bytes > 0 && held.bytes.saturating_add(adding.bytes) > self.max_stored_bytes {
            return Err(StoreFull::Bytes {
                held: held.bytes,
                max: self.max_stored_bytes,
            });
        }
        Ok(())
    }
}

/// A write refused because the cluster holds as much as a cluster-wide cap allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum StoreFull {
    #[error(
        "the cluster holds {held} tasks, at its cap of {max} (--max-tasks, [limits] max_tasks): \
         let workers drain the queues and results expire, purge what is not needed, or raise the cap \
         on every node if their memory allows"
    )]
    Tasks { held: u64, max: u64 },
    #[error(
        "the cluster holds {held} bytes of args and results, at its cap of {max} \
         (--max-stored-bytes, [limits] max_stored_bytes): let workers drain the queues and \
         results expire, purge what is not needed, or raise the cap on every node if their \
         memory and disk allow"
    )]
    Bytes { held: u64, max: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_is_broken_by_the_task_that_would_pass_it() {
        let mut cap = QueueCap::new("mail".into());
        let held = |tasks, bytes| Held { tasks, bytes };
        assert_eq!(cap.broken_by(held(1_000_000, 1 << 40), 1 << 20), None, "no caps");
        cap.set(CapKind::MaxLength, 2);
        assert_eq!(cap.broken_by(held(1, 0), 10), None);
        assert_eq!(cap.broken_by(held(2, 0), 10), Some((CapKind::MaxLength, 2)));
        cap.set(CapKind::MaxBytes, 100);
        assert_eq!(cap.broken_by(held(1, 90), 10), None, "exactly full fits");
        assert_eq!(cap.broken_by(held(1, 91), 10), Some((CapKind::MaxBytes, 100)));
        cap.set(CapKind::MaxLength, 0);
        cap.set(CapKind::MaxBytes, 0);
        assert!(cap.is_empty());
        assert_eq!("max-length".parse(), Ok(CapKind::MaxLength));
        assert!("length".parse::<CapKind>().is_err());
    }

    #[test]
    fn store_caps_refuse_only_what_adds_past_them() {
        let caps = StoreCaps {
            max_tasks: 10,
            max_stored_bytes: 100,
        };
        let stored = |tasks, bytes| Usage { tasks, bytes };
        assert_eq!(caps.must_hold(stored(9, 0), stored(1, 100)), Ok(()));
        assert_eq!(
            caps.must_hold(stored(9, 0), stored(2, 0)),
            Err(StoreFull::Tasks { held: 9, max: 10 })
        );
        assert_eq!(
            caps.must_hold(stored(0, 90), stored(1, 11)),
            Err(StoreFull::Bytes { held: 90, max: 100 })
        );
        assert_eq!(
            caps.must_hold(stored(50, 500), stored(0, 0)),
            Ok(()),
            "answers pass"
        );
    }
}
