//! The free-space watermark: below it a node refuses writes that would grow the state (new
//! tasks, flows, schedules) with a clear error, instead of filling its disk until RocksDB fails
//! and the node must stop. Answers, leases and deletions still pass: they are how a full queue
//! drains.

use std::path::PathBuf;

use crate::queue::Command;

/// The data disk of `node` is below the watermark (the proposer answers it as
/// `ProposeError::DiskFull`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskFull {
    pub node: u64,
    pub free_bytes: u64,
    pub min_free_bytes: u64,
}

#[derive(Clone, Debug)]
pub struct DiskGuard {
    dir: PathBuf,
    node: u64,
    min_free_bytes: u64,
}

impl DiskGuard {
    pub fn new(dir: PathBuf, node: u64, min_free_bytes: u64) -> DiskGuard {
        DiskGuard {
            dir,
            node,
            min_free_bytes,
        }
    }

    /// Refuses `commands` when one would grow the state and the disk is below the watermark.
    pub fn must_have_room(&self, commands: &[Command]) -> Result<(), DiskFull> {
        if self.min_free_bytes == 0 || !commands.iter().any(grows) {
            return Ok(());
        }
        let free = free_bytes(&self.dir);
        match free {
            Some(free) if free < self.min_free_bytes => Err(DiskFull {
                node: self.node,
                free_bytes: free,
                min_free_bytes: self.min_free_bytes,
            }),
            _ => Ok(()),
        }
    }
}

/// Commands that add to what the state holds.
fn grows(command: &Command) -> bool {
    matches!(
        command,
        Command::Submit(_) | Command::SubmitFlow(_) | Command::AddSchedule { .. }
    )
}

/// Bytes available to this (unprivileged) process on the filesystem holding `dir`.
fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let stats = nix::sys::statvfs::statvfs(dir).ok()?;
    Some(stats.blocks_available().saturating_mul(stats.fragment_size()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Command;

    #[test]
    fn only_growing_writes_are_refused_below_the_watermark() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(free_bytes(dir.path()).is_some_and(|free| free > 0));
        let full = DiskGuard::new(dir.path().to_path_buf(), 2, u64::MAX);
        assert!(
            full.must_have_room(&[Command::Tick]).is_ok(),
            "a tick adds nothing"
        );
        let submit = Command::RemoveSchedule { name: "x".into() };
        assert!(full.must_have_room(&[submit]).is_ok());
        match full.must_have_room(&[Command::PauseQueue { queue: "q".into() }, a_submit()]) {
            Err(DiskFull { node: 2, .. }) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
        let off = DiskGuard::new(dir.path().to_path_buf(), 2, 0);
        assert!(
            off.must_have_room(&[a_submit()]).is_ok(),
            "0 turns the watermark off"
        );
    }

    fn a_submit() -> Command {
        Command::Submit(crate::queue::SubmitTask::sample("t", "q"))
    }
}
