//! Each node's data directory on its own lazy disk (`crate::lazyfs`): the nemeses cut power to
//! it (dropping every write not yet fsynced), fill it up, or make it fail.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::lazyfs::{Control, Mounted};

/// The nodes' disks, by slot; unmounted when dropped (after the processes).
#[derive(Debug)]
pub struct Disks {
    mounts: Vec<Mounted>,
}

impl Disks {
    /// Mounts a lazy disk at `dir/n{id}` for every slot, its durable contents in `dir/n{id}.disk`.
    pub fn mount(dir: &Path, n: usize) -> anyhow::Result<Disks> {
        let mut mounts = Vec::new();
        for id in 1..=n {
            let backing = dir.join(format!("n{id}.disk"));
            let mountpoint = data_dir(dir, id);
            std::fs::create_dir_all(&backing)?;
            std::fs::create_dir_all(&mountpoint)?;
            let mounted = Mounted::mount(&backing, &mountpoint)
                .with_context(|| format!("cannot mount a lazy disk at {}", mountpoint.display()))?;
            mounts.push(mounted);
        }
        Ok(Disks { mounts })
    }

    /// The disk of slot `id`.
    pub fn control(&self, id: usize) -> Control {
        self.mounts[id - 1].control()
    }

    /// Every disk works again, with room to spare.
    pub fn repair(&self) {
        for mounted in &self.mounts {
            let control = mounted.control();
            control.fail_writes(false);
            control.set_free_bytes(None);
        }
    }
}

/// Whether lazy disks can be mounted here (FUSE needs `/dev/fuse` and, without fusermount,
/// root): a real mount, tried and undone.
pub fn available() -> Result<(), String> {
    let probe = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (backing, mountpoint) = (probe.path().join("disk"), probe.path().join("mnt"));
    std::fs::create_dir(&backing).map_err(|e| e.to_string())?;
    std::fs::create_dir(&mountpoint).map_err(|e| e.to_string())?;
    let mounted = Mounted::mount(&backing, &mountpoint).map_err(|e| format!("{e:#}"))?;
    mounted.unmount().map_err(|e| format!("{e:#}"))
}

/// Where slot `id` keeps its data, on a lazy disk or not.
pub fn data_dir(dir: &Path, id: usize) -> PathBuf {
    dir.join(format!("n{id}"))
}
