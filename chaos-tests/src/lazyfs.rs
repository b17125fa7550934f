//! A lazy filesystem for crash tests, in the spirit of Jepsen's LazyFS.
//!
//! [`Mounted::mount`] exposes a backing directory through FUSE. File data written through the
//! mount stays in this process's memory until the file is fsynced; [`Control::cut_power`] then
//! throws away everything not yet fsynced, as a power loss would. Kill the node using the mount
//! first, cut the power, restart the node on the same mount: it finds exactly what it made
//! durable. [`Control::set_free_bytes`] simulates a full disk and [`Control::fail_writes`] a
//! failing one.
//!
//! # Semantics
//!
//! - `write` only records the bytes, per inode. `read`, `stat` and `lookup` see them (reads
//!   overlay them on the backing file, sizes include them). `fsync`/`fdatasync` writes the
//!   inode's unsynced bytes to the backing file (no fsync of the backing itself: the backing
//!   does not lose power). `close` persists nothing.
//! - Inode numbers are the backing `st_ino` (the backing root is FUSE inode 1). Hard links share
//!   one inode and therefore one set of unsynced bytes. Unlinking the last name of a file drops
//!   its unsynced bytes, also for a process that still holds it open.
//! - The kernel caches nothing across a power cut: entry and attribute TTLs are zero, opens do not
//!   keep the page cache, there is no writeback cache, and `cut_power` also tells the kernel to
//!   drop the cached pages of every file it touched.
//!
//! # Limitations (differences from real LazyFS and from a disk)
//!
//! - Metadata is not lazy: create, mkdir, unlink, rmdir, rename, link, symlink, chmod, chown
//!   and utimes reach the backing directory at once and survive a power cut, so a file created
//!   and never fsynced still exists (empty) afterwards, and a rename needs no directory fsync.
//! - Truncation (`ftruncate`, `O_TRUNC`) first makes the inode's unsynced bytes durable, then
//!   truncates the backing file; truncating to the current size is a no-op (RocksDB does that on
//!   closing every preallocated file, which must not make its unsynced tail durable).
//! - `fallocate` with `FALLOC_FL_KEEP_SIZE` succeeds without reserving anything; mode 0 extends
//!   the file with unsynced zeros (up to 64 MiB at a time, `EOPNOTSUPP` beyond); every other mode
//!   (hole punching, ...) is `EOPNOTSUPP`. `mknod` and xattrs are not implemented (ENOSYS, which
//!   the kernel turns into `EOPNOTSUPP` for xattrs). `fcntl`/`flock` locks are kept by the kernel
//!   (the session does not take them over), which is all RocksDB's `LOCK` file needs.
//! - The simulated free space counts logical sizes: growth of a file (holes included) is charged
//!   when written, shrinking, deleting and power cuts refund it (so the free space can rise above
//!   the value set); block rounding and directories are ignored.
//!   A write that does not fit fails whole with `ENOSPC`, no short write.
//! - With [`Control::fail_writes`] every modifying operation (write, fsync, fsyncdir, create,
//!   mkdir, symlink, link, rename, unlink, rmdir, setattr, fallocate, opening with `O_TRUNC`)
//!   fails with `EIO`; lookups, reads, readdir and plain opens still work. Unsynced bytes stay
//!   in memory (a power cut still drops them).
//! - `RENAME_EXCHANGE` and `RENAME_WHITEOUT` are `EINVAL`; `RENAME_NOREPLACE` works.
//! - The backing directory must be a single filesystem that nothing else modifies while mounted.
//! - One request at a time (single-threaded session), every write costs a FUSE round trip, and the
//!   unsynced bytes of a file live in memory until fsynced or dropped.
//! - Only processes with the mounting process's uid may use the mount (no `allow_other`).

mod data;
mod extents;
mod fuse;
mod namespace;
mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use fuser::{BackgroundSession, Config, MountOption};

use self::fuse::LazyFs;
use self::state::Core;

/// A mounted lazy filesystem; dropping it unmounts.
#[derive(Debug)]
pub struct Mounted {
    session: Option<BackgroundSession>,
    mountpoint: PathBuf,
    control: Control,
}

impl Mounted {
    /// Mounts at `mountpoint` (an existing directory, normally empty) a filesystem whose durable
    /// contents live in `backing` (an existing directory). Needs `CAP_SYS_ADMIN` (root): fuser's
    /// pure-Rust mount calls mount(2) itself and only falls back to `fusermount3` without it.
    pub fn mount(backing: &Path, mountpoint: &Path) -> anyhow::Result<Mounted> {
        let core = Core::new(backing).with_context(|| format!("lazyfs backing {}", backing.display()))?;
        let mountpoint = mountpoint
            .canonicalize()
            .with_context(|| format!("lazyfs mountpoint {}", mountpoint.display()))?;
        reject_nesting(core.root(), &mountpoint)?;

        let core = Arc::new(core);
        let mut config = Config::default();
        config.mount_options = vec![MountOption::FSName("qraft-lazyfs".into()), MountOption::RW];
        let session = fuser::spawn_mount(LazyFs(Arc::clone(&core)), &mountpoint, &config)
            .with_context(|| format!("mounting lazyfs at {}", mountpoint.display()))?;
        // Cannot already be set: this is the only place, right after creating the core.
        let _ = core.notifier.set(session.notifier());
        Ok(Mounted {
            session: Some(session),
            mountpoint,
            control: Control(core),
        })
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }

    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Unmounts and waits for the session to end, reporting failures (dropping only logs them).
    /// If the mount is busy it is detached lazily, so it never stays behind.
    pub fn unmount(mut self) -> anyhow::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> anyhow::Result<()> {
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        session.umount_and_join().or_else(|err| {
            // The kernel lets the last user of a detached mount finish, then ends the session.
            let detached = nix::mount::umount2(&self.mountpoint, nix::mount::MntFlags::MNT_DETACH);
            Err(err).with_context(|| {
                format!(
                    "unmounting lazyfs at {} (lazy detach: {detached:?})",
                    self.mountpoint.display()
                )
            })
        })
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            tracing::warn!("{err:#}");
        }
    }
}

/// A mount inside its own backing directory (or the reverse) would make the session wait on
/// itself.
fn reject_nesting(backing: &Path, mountpoint: &Path) -> anyhow::Result<()> {
    if mountpoint.starts_with(backing) || backing.starts_with(mountpoint) {
        bail!(
            "lazyfs mountpoint {} and backing {} must not nest",
            mountpoint.display(),
            backing.display()
        );
    }
    Ok(())
}

/// Fault injection for a mounted lazy filesystem; cheap to clone, usable from any thread.
#[derive(Clone, Debug)]
pub struct Control(Arc<Core>);

/// Counters since mounting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// fsync and fdatasync calls on files (failed ones included).
    pub fsyncs: u64,
    /// Bytes written and not yet fsynced.
    pub unsynced_bytes: u64,
    /// Bytes dropped by power cuts so far.
    pub dropped_bytes: u64,
}

impl Control {
    /// Power loss: forgets every write not yet fsynced (call after the process using the mount was
    /// killed). Returns the bytes dropped.
    pub fn cut_power(&self) -> u64 {
        let (dropped, inodes) = self.0.cut_power();
        // Outside the state lock: evicting a page may wait for a read the session is serving.
        if let Some(notifier) = self.0.notifier.get() {
            for ino in inodes {
                // ENOENT just means the kernel holds nothing for that inode.
                if let Err(err) = notifier.inval_inode(ino, 0, 0) {
                    tracing::debug!(?ino, %err, "lazyfs: evicting cached pages after a power cut");
                }
            }
        }
        dropped
    }

    /// A disk with at most `free` bytes left: statfs reports it, and writes that would use more
    /// fail with ENOSPC. None: the backing's own figures.
    pub fn set_free_bytes(&self, free: Option<u64>) {
        self.0.set_free_bytes(free);
    }

    /// A failing disk: from now on writes, fsyncs, creates, mkdirs, renames, unlinks (all
    /// modifying operations) fail with EIO; lookups and reads still work.
    pub fn fail_writes(&self, failing: bool) {
        self.0.fail_writes(failing);
    }

    pub fn stats(&self) -> Stats {
        self.0.stats()
    }
}
