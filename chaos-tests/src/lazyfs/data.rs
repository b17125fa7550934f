//! Operations on file contents: open, read, write, fsync, truncate, fallocate, setattr.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::UNIX_EPOCH;

use fuser::{Errno, FileAttr, INodeNo, TimeOrNow};
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

use super::state::{AttrChange, Core, OpenFile, Res, State};

/// A `fallocate` (mode 0) that would extend a file by more than this is refused with
/// `EOPNOTSUPP` (callers such as `posix_fallocate` then fall back to writing), because the
/// extension is held in memory like any other unsynced write.
const MAX_FALLOCATE_EXTENSION: u64 = 64 << 20;

impl Core {
    pub(super) fn setattr(&self, ino: INodeNo, fh: Option<u64>, change: AttrChange) -> Res<FileAttr> {
        let mut st = self.state();
        st.check_writable()?;
        if let Some(size) = change.size {
            self.truncate(&mut st, ino.0, fh, size)?;
        }
        let path = st.path(ino.0)?.to_path_buf();
        if let Some(mode) = change.mode {
            fs::set_permissions(&path, Permissions::from_mode(mode & 0o7777)).map_err(Errno::from)?;
        }
        if change.uid.is_some() || change.gid.is_some() {
            std::os::unix::fs::lchown(&path, change.uid, change.gid).map_err(Errno::from)?;
        }
        if change.atime.is_some() || change.mtime.is_some() {
            let (atime, mtime) = (timespec(change.atime)?, timespec(change.mtime)?);
            utimensat(
                nix::fcntl::AT_FDCWD,
                &path,
                &atime,
                &mtime,
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(|e| Errno::from_i32(e as i32))?;
        }
        let meta = self.metadata(&st, ino.0, fh)?;
        Ok(self.attr(&meta, st.pending.get(&ino.0)))
    }

    /// Truncation makes the inode's unsynced bytes durable first (a documented simplification),
    /// so what is left pending never lies past the new end. Truncating to the current size changes
    /// nothing and persists nothing: RocksDB does exactly that when it closes a preallocated file
    /// (WAL, SST, MANIFEST), which must not make unsynced data durable.
    fn truncate(&self, st: &mut State, ino: u64, fh: Option<u64>, size: u64) -> Res<()> {
        let old = self.logical_size(st, ino, fh)?;
        if size == old {
            return Ok(());
        }
        st.check_room(old, size)?;
        self.persist(st, ino, fh)?;
        self.with_writable(st, ino, fh, |file| file.set_len(size))?;
        st.account(old, size);
        Ok(())
    }

    /// Runs `op` on a writable descriptor of the backing file: the handle's when it has one.
    fn with_writable(
        &self,
        st: &State,
        ino: u64,
        fh: Option<u64>,
        op: impl FnOnce(&File) -> io::Result<()>,
    ) -> Res<()> {
        match fh.and_then(|fh| st.files.get(&fh)).filter(|open| open.writable) {
            Some(open) => op(&open.file),
            None => OpenOptions::new()
                .write(true)
                .open(st.path(ino)?)
                .and_then(|file| op(&file)),
        }
        .map_err(Errno::from)
    }

    /// Writes the inode's unsynced bytes to the backing file. They stay pending if that fails.
    fn persist(&self, st: &mut State, ino: u64, fh: Option<u64>) -> Res<()> {
        let Some(extents) = st.pending.get(&ino) else {
            return Ok(());
        };
        self.with_writable(st, ino, fh, |file| {
            extents
                .runs()
                .try_for_each(|(offset, bytes)| file.write_all_at(bytes, offset))
        })?;
        st.pending.remove(&ino);
        Ok(())
    }

    pub(super) fn open(&self, ino: INodeNo, flags: i32) -> Res<u64> {
        let mut st = self.state();
        if flags & libc_flags::O_TRUNC != 0 && flags & libc_flags::O_ACCMODE != libc_flags::O_RDONLY {
            st.check_writable()?;
            self.truncate(&mut st, ino.0, None, 0)?;
        }
        let open = open_backing(st.path(ino.0)?).map_err(Errno::from)?;
        Ok(st.add_file(open))
    }

    pub(super) fn create(
        &self,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        flags: i32,
    ) -> Res<(FileAttr, u64)> {
        let mut st = self.state();
        st.check_writable()?;
        let path = self.child_path(&st, parent, name)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .create_new(flags & libc_flags::O_EXCL != 0)
            .mode(mode)
            .open(&path)
            .map_err(Errno::from)?;
        // The kernel already applied the caller's umask; undo the one of this process.
        file.set_permissions(Permissions::from_mode(mode & 0o7777))
            .map_err(Errno::from)?;
        let attr = self.fresh_entry_at(&mut st, path)?;
        let fh = st.add_file(OpenFile { file, writable: true });
        Ok((attr, fh))
    }

    pub(super) fn read(&self, ino: INodeNo, fh: u64, offset: u64, size: u32) -> Res<Vec<u8>> {
        let st = self.state();
        let open = st.files.get(&fh).ok_or(Errno::EBADF)?;
        let logical = self.logical_size(&st, ino.0, Some(fh))?;
        let len = logical.saturating_sub(offset).min(u64::from(size));
        let mut buf = vec![0; usize::try_from(len).map_err(|_| Errno::EINVAL)?];
        // Past the backing end the buffer keeps its zeros: a hole before unsynced bytes.
        read_up_to(&open.file, &mut buf, offset).map_err(Errno::from)?;
        if let Some(extents) = st.pending.get(&ino.0) {
            extents.overlay(offset, &mut buf);
        }
        Ok(buf)
    }

    pub(super) fn write(&self, ino: INodeNo, fh: u64, offset: u64, data: &[u8]) -> Res<u32> {
        let mut st = self.state();
        st.check_writable()?;
        let written = u32::try_from(data.len()).map_err(|_| Errno::EINVAL)?;
        let end = offset.checked_add(u64::from(written)).ok_or(Errno::EFBIG)?;
        if st.free_left.is_some() {
            let old = self.logical_size(&st, ino.0, Some(fh))?;
            st.check_room(old, end)?;
            st.account(old, end);
        }
        st.pending.entry(ino.0).or_default().insert(offset, data);
        Ok(written)
    }

    pub(super) fn fsync(&self, ino: INodeNo, fh: u64) -> Res<()> {
        let mut st = self.state();
        st.fsyncs += 1;
        st.check_writable()?;
        self.persist(&mut st, ino.0, Some(fh))
    }

    pub(super) fn fsyncdir(&self) -> Res<()> {
        self.state().check_writable()
    }

    /// `FALLOC_FL_KEEP_SIZE` is a no-op (space is not reserved); mode 0 extends the logical size
    /// with unsynced zeros; every other mode (punching holes, ...) is `EOPNOTSUPP`.
    pub(super) fn fallocate(&self, ino: INodeNo, fh: u64, offset: u64, length: u64, mode: i32) -> Res<()> {
        let mut st = self.state();
        st.check_writable()?;
        match mode {
            libc_flags::FALLOC_FL_KEEP_SIZE => return Ok(()),
            0 => {}
            _ => return Err(Errno::EOPNOTSUPP),
        }
        let end = offset.checked_add(length).ok_or(Errno::EFBIG)?;
        let old = self.logical_size(&st, ino.0, Some(fh))?;
        if end <= old {
            return Ok(());
        }
        if end - old > MAX_FALLOCATE_EXTENSION {
            return Err(Errno::EOPNOTSUPP);
        }
        st.check_room(old, end)?;
        st.account(old, end);
        let zeros = vec![0; (end - old) as usize];
        st.pending.entry(ino.0).or_default().insert(old, &zeros);
        Ok(())
    }

    pub(super) fn release(&self, fh: u64) {
        self.state().files.remove(&fh);
    }
}

/// Opens a backing file read-write whatever the caller asked for, since `fsync` may need to write
/// through any handle; falls back to read-only (a directory, a read-only file for a non-root
/// daemon). Never `O_APPEND`: the kernel hands appends over as explicit offsets, and `pwrite` on
/// an `O_APPEND` descriptor would ignore them.
fn open_backing(path: &Path) -> io::Result<OpenFile> {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => Ok(OpenFile { file, writable: true }),
        Err(_) => File::open(path).map(|file| OpenFile {
            file,
            writable: false,
        }),
    }
}

/// Fills `buf` from `offset` until it is full or the file ends.
fn read_up_to(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn timespec(time: Option<TimeOrNow>) -> Res<TimeSpec> {
    match time {
        None => Ok(TimeSpec::UTIME_OMIT),
        Some(TimeOrNow::Now) => Ok(TimeSpec::UTIME_NOW),
        Some(TimeOrNow::SpecificTime(at)) => {
            let since_epoch = at.duration_since(UNIX_EPOCH).map_err(|_| Errno::EINVAL)?;
            Ok(TimeSpec::from_duration(since_epoch))
        }
    }
}

/// The few libc constants needed, through nix's re-export (the crate has no direct libc dependency).
mod libc_flags {
    pub(super) use nix::libc::{FALLOC_FL_KEEP_SIZE, O_ACCMODE, O_EXCL, O_RDONLY, O_TRUNC};
}
