//! The filesystem's shared state and its bookkeeping. The operations on it live in `namespace.rs`
//! and `data.rs`; free of FUSE reply plumbing, each returns `Result<_, Errno>` and `fuse.rs` only
//! forwards the answer to the kernel.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{Errno, FileAttr, FileType, INodeNo, Notifier, TimeOrNow};

use super::Stats;
use super::extents::Extents;

/// Shared by the FUSE session thread and every [`Control`](super::Control).
#[derive(Debug)]
pub(super) struct Core {
    root: PathBuf,
    /// `st_ino` of the backing root, which FUSE must see as inode 1.
    root_st_ino: u64,
    state: Mutex<State>,
    /// Set once the session runs; lets `cut_power` evict the kernel's cached pages.
    pub(super) notifier: OnceLock<Notifier>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    /// Backing paths known for each FUSE inode (several when hard-linked); the first is used.
    pub(super) names: HashMap<u64, Vec<PathBuf>>,
    pub(super) pending: HashMap<u64, Extents>,
    pub(super) files: HashMap<u64, OpenFile>,
    /// Directory listings snapshotted at `opendir`, so offsets stay stable while it changes.
    pub(super) dirs: HashMap<u64, Vec<DirEntry>>,
    next_handle: u64,
    /// With a simulated full disk, the bytes files may still grow by.
    pub(super) free_left: Option<u64>,
    failing: bool,
    pub(super) fsyncs: u64,
    dropped: u64,
}

#[derive(Debug)]
pub(super) struct OpenFile {
    pub(super) file: File,
    pub(super) writable: bool,
}

#[derive(Debug, Clone)]
pub(super) struct DirEntry {
    pub(super) ino: INodeNo,
    pub(super) kind: FileType,
    pub(super) name: OsString,
}

/// The attribute changes of one `setattr`.
#[derive(Debug, Default)]
pub(super) struct AttrChange {
    pub(super) mode: Option<u32>,
    pub(super) uid: Option<u32>,
    pub(super) gid: Option<u32>,
    pub(super) size: Option<u64>,
    pub(super) atime: Option<TimeOrNow>,
    pub(super) mtime: Option<TimeOrNow>,
}

/// `statfs` figures, in `frsize` units.
#[derive(Debug)]
pub(super) struct FsStats {
    pub(super) blocks: u64,
    pub(super) bfree: u64,
    pub(super) bavail: u64,
    pub(super) files: u64,
    pub(super) ffree: u64,
    pub(super) bsize: u32,
    pub(super) namelen: u32,
    pub(super) frsize: u32,
}

pub(super) type Res<T> = Result<T, Errno>;

impl Core {
    pub(super) fn new(backing: &Path) -> io::Result<Core> {
        let root = backing.canonicalize()?;
        let root_st_ino = fs::metadata(&root)?.ino();
        let mut state = State {
            next_handle: 1,
            ..State::default()
        };
        state.names.insert(INodeNo::ROOT.0, vec![root.clone()]);
        Ok(Core {
            root,
            root_st_ino,
            state: Mutex::new(state),
            notifier: OnceLock::new(),
        })
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// FUSE inode number of a backing `st_ino`: the root's becomes 1 and, should a file own
    /// `st_ino` 1, it takes the root's number instead, which keeps the mapping one-to-one.
    pub(super) fn fuse_ino(&self, st_ino: u64) -> u64 {
        match st_ino {
            ino if ino == self.root_st_ino => INodeNo::ROOT.0,
            1 => self.root_st_ino,
            ino => ino,
        }
    }

    pub(super) fn attr(&self, meta: &Metadata, pending: Option<&Extents>) -> FileAttr {
        let size = meta.len().max(pending.map_or(0, Extents::end));
        FileAttr {
            ino: INodeNo(self.fuse_ino(meta.ino())),
            size,
            blocks: meta.blocks().max(size.div_ceil(512)),
            atime: system_time(meta.atime(), meta.atime_nsec()),
            mtime: system_time(meta.mtime(), meta.mtime_nsec()),
            ctime: system_time(meta.ctime(), meta.ctime_nsec()),
            crtime: UNIX_EPOCH,
            kind: FileType::from_std(meta.file_type()).unwrap_or(FileType::RegularFile),
            perm: (meta.mode() & 0o7777) as u16,
            nlink: u32::try_from(meta.nlink()).unwrap_or(u32::MAX),
            uid: meta.uid(),
            gid: meta.gid(),
            rdev: u32::try_from(meta.rdev()).unwrap_or(0),
            blksize: u32::try_from(meta.blksize()).unwrap_or(4096),
            flags: 0,
        }
    }

    /// Attributes of the inode a backing path now names, recording that name for it.
    pub(super) fn entry_at(&self, st: &mut State, path: PathBuf) -> Res<FileAttr> {
        let meta = fs::symlink_metadata(&path).map_err(Errno::from)?;
        let ino = self.fuse_ino(meta.ino());
        st.remember(ino, path);
        Ok(self.attr(&meta, st.pending.get(&ino)))
    }

    /// Like `entry_at`, for an inode just created: names left from an earlier inode with the same
    /// number (the backing filesystem reuses them) are forgotten.
    pub(super) fn fresh_entry_at(&self, st: &mut State, path: PathBuf) -> Res<FileAttr> {
        let meta = fs::symlink_metadata(&path).map_err(Errno::from)?;
        let ino = self.fuse_ino(meta.ino());
        st.names.insert(ino, vec![path]);
        st.pending.remove(&ino);
        Ok(self.attr(&meta, None))
    }

    pub(super) fn child_path(&self, st: &State, parent: INodeNo, name: &OsStr) -> Res<PathBuf> {
        Ok(st.path(parent.0)?.join(name))
    }

    /// Backing metadata of an inode, through its open handle when there is one (that also works
    /// for an open file whose every name was unlinked).
    pub(super) fn metadata(&self, st: &State, ino: u64, fh: Option<u64>) -> Res<Metadata> {
        match fh.and_then(|fh| st.files.get(&fh)) {
            Some(open) => open.file.metadata(),
            None => fs::symlink_metadata(st.path(ino)?),
        }
        .map_err(Errno::from)
    }

    /// Size the process sees: the backing size or the end of the unsynced bytes.
    pub(super) fn logical_size(&self, st: &State, ino: u64, fh: Option<u64>) -> Res<u64> {
        let backing = self.metadata(st, ino, fh)?.len();
        Ok(backing.max(st.pending.get(&ino).map_or(0, Extents::end)))
    }
    // `u64::from` is a no-op on 64-bit Linux, but `c_ulong` and `fsblkcnt_t` are narrower elsewhere.
    #[allow(clippy::useless_conversion)]
    pub(super) fn statfs(&self) -> Res<FsStats> {
        let vfs = nix::sys::statvfs::statvfs(&self.root).map_err(|e| Errno::from_i32(e as i32))?;
        let frsize = u64::from(vfs.fragment_size()).max(1);
        let cap = self.state().free_left.map_or(u64::MAX, |free| free / frsize);
        Ok(FsStats {
            blocks: u64::from(vfs.blocks()),
            bfree: u64::from(vfs.blocks_free()).min(cap),
            bavail: u64::from(vfs.blocks_available()).min(cap),
            files: u64::from(vfs.files()),
            ffree: u64::from(vfs.files_free()),
            bsize: u32::try_from(vfs.block_size()).unwrap_or(4096),
            namelen: u32::try_from(vfs.name_max()).unwrap_or(255),
            frsize: u32::try_from(frsize).unwrap_or(4096),
        })
    }

    /// Drops every unsynced byte; returns how many and the inodes that had some.
    pub(super) fn cut_power(&self) -> (u64, Vec<INodeNo>) {
        let mut st = self.state();
        let pending = std::mem::take(&mut st.pending);
        let mut dropped = 0;
        for (ino, extents) in &pending {
            dropped += extents.bytes();
            // The space the lost growth was charged for is free again.
            if let Ok(backing) = st
                .path(*ino)
                .and_then(|p| fs::symlink_metadata(p).map_err(Errno::from))
            {
                st.account(extents.end().max(backing.len()), backing.len());
            }
        }
        st.dropped += dropped;
        (dropped, pending.into_keys().map(INodeNo).collect())
    }

    pub(super) fn set_free_bytes(&self, free: Option<u64>) {
        self.state().free_left = free;
    }

    pub(super) fn fail_writes(&self, failing: bool) {
        self.state().failing = failing;
    }

    pub(super) fn stats(&self) -> Stats {
        let st = self.state();
        Stats {
            fsyncs: st.fsyncs,
            unsynced_bytes: st.pending.values().map(Extents::bytes).sum(),
            dropped_bytes: st.dropped,
        }
    }
}

impl State {
    pub(super) fn path(&self, ino: u64) -> Res<&Path> {
        self.names
            .get(&ino)
            .and_then(|names| names.first())
            .map(PathBuf::as_path)
            .ok_or(Errno::ENOENT)
    }

    fn remember(&mut self, ino: u64, path: PathBuf) {
        let names = self.names.entry(ino).or_default();
        if !names.contains(&path) {
            names.push(path);
        }
    }

    /// `path` (whose metadata before removal is `meta`) no longer names inode `ino`. When it was
    /// the inode's last name the file is gone: its unsynced bytes go and its space is free.
    pub(super) fn forget_name(&mut self, ino: u64, path: &Path, meta: &Metadata) {
        if meta.is_dir() || meta.nlink() <= 1 {
            self.names.remove(&ino);
            let extents = self.pending.remove(&ino);
            if meta.is_file() {
                self.account(meta.len().max(extents.map_or(0, |e| e.end())), 0);
            }
        } else if let Some(names) = self.names.get_mut(&ino) {
            names.retain(|name| name != path);
        }
    }

    /// Rewrites every known name at or below `from` to live below `to` instead.
    pub(super) fn rename_paths(&mut self, from: &Path, to: &Path) {
        for path in self.names.values_mut().flatten() {
            if let Ok(rest) = path.strip_prefix(from) {
                *path = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
            }
        }
    }

    pub(super) fn check_writable(&self) -> Res<()> {
        if self.failing { Err(Errno::EIO) } else { Ok(()) }
    }

    /// ENOSPC when a file growing from `old` to `new` bytes would not fit the simulated free space.
    pub(super) fn check_room(&self, old: u64, new: u64) -> Res<()> {
        match self.free_left {
            Some(free) if new.saturating_sub(old) > free => Err(Errno::ENOSPC),
            _ => Ok(()),
        }
    }

    /// Charges (or refunds) a file size change against the simulated free space. Sizes are
    /// logical: holes count, block rounding does not.
    pub(super) fn account(&mut self, old: u64, new: u64) {
        if let Some(free) = &mut self.free_left {
            *free = if new > old {
                free.saturating_sub(new - old)
            } else {
                free.saturating_add(old - new)
            };
        }
    }

    pub(super) fn take_handle(&mut self) -> u64 {
        self.next_handle += 1;
        self.next_handle
    }

    pub(super) fn add_file(&mut self, open: OpenFile) -> u64 {
        let fh = self.take_handle();
        self.files.insert(fh, open);
        fh
    }
}

/// A stat timestamp; out-of-range values (never seen in practice) read as the epoch.
fn system_time(secs: i64, nanos: i64) -> SystemTime {
    let nanos = Duration::from_nanos(u64::try_from(nanos).unwrap_or(0));
    let whole = match u64::try_from(secs) {
        Ok(secs) => UNIX_EPOCH.checked_add(Duration::from_secs(secs)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs())),
    };
    whole.and_then(|t| t.checked_add(nanos)).unwrap_or(UNIX_EPOCH)
}
