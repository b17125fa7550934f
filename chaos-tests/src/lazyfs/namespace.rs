//! Operations on names: lookup, attributes, directories, links, renames.

use std::ffi::OsStr;
use std::fs::{self, Metadata, Permissions};
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{DirBuilderExt, DirEntryExt, MetadataExt, PermissionsExt};
use std::path::Path;

use fuser::{Errno, FileAttr, FileType, INodeNo, RenameFlags};

use super::state::{Core, DirEntry, Res};

impl Core {
    pub(super) fn lookup(&self, parent: INodeNo, name: &OsStr) -> Res<FileAttr> {
        let mut st = self.state();
        let path = self.child_path(&st, parent, name)?;
        self.entry_at(&mut st, path)
    }

    pub(super) fn getattr(&self, ino: INodeNo, fh: Option<u64>) -> Res<FileAttr> {
        let st = self.state();
        let meta = self.metadata(&st, ino.0, fh)?;
        Ok(self.attr(&meta, st.pending.get(&ino.0)))
    }

    pub(super) fn readlink(&self, ino: INodeNo) -> Res<Vec<u8>> {
        let st = self.state();
        let target = fs::read_link(st.path(ino.0)?).map_err(Errno::from)?;
        Ok(target.into_os_string().into_vec())
    }

    pub(super) fn mkdir(&self, parent: INodeNo, name: &OsStr, mode: u32) -> Res<FileAttr> {
        let mut st = self.state();
        st.check_writable()?;
        let path = self.child_path(&st, parent, name)?;
        fs::DirBuilder::new()
            .mode(mode)
            .create(&path)
            .map_err(Errno::from)?;
        // The kernel already applied the caller's umask; undo the one of this process.
        fs::set_permissions(&path, Permissions::from_mode(mode & 0o7777)).map_err(Errno::from)?;
        self.fresh_entry_at(&mut st, path)
    }

    pub(super) fn symlink(&self, parent: INodeNo, name: &OsStr, target: &Path) -> Res<FileAttr> {
        let mut st = self.state();
        st.check_writable()?;
        let path = self.child_path(&st, parent, name)?;
        std::os::unix::fs::symlink(target, &path).map_err(Errno::from)?;
        self.fresh_entry_at(&mut st, path)
    }

    pub(super) fn link(&self, ino: INodeNo, new_parent: INodeNo, new_name: &OsStr) -> Res<FileAttr> {
        let mut st = self.state();
        st.check_writable()?;
        let to = self.child_path(&st, new_parent, new_name)?;
        fs::hard_link(st.path(ino.0)?, &to).map_err(Errno::from)?;
        self.entry_at(&mut st, to)
    }

    pub(super) fn unlink(&self, parent: INodeNo, name: &OsStr) -> Res<()> {
        let mut st = self.state();
        st.check_writable()?;
        let path = self.child_path(&st, parent, name)?;
        let meta = fs::symlink_metadata(&path).map_err(Errno::from)?;
        fs::remove_file(&path).map_err(Errno::from)?;
        st.forget_name(self.fuse_ino(meta.ino()), &path, &meta);
        Ok(())
    }

    pub(super) fn rmdir(&self, parent: INodeNo, name: &OsStr) -> Res<()> {
        let mut st = self.state();
        st.check_writable()?;
        let path = self.child_path(&st, parent, name)?;
        let meta = fs::symlink_metadata(&path).map_err(Errno::from)?;
        fs::remove_dir(&path).map_err(Errno::from)?;
        st.forget_name(self.fuse_ino(meta.ino()), &path, &meta);
        Ok(())
    }

    pub(super) fn rename(
        &self,
        parent: INodeNo,
        name: &OsStr,
        new_parent: INodeNo,
        new_name: &OsStr,
        flags: RenameFlags,
    ) -> Res<()> {
        let mut st = self.state();
        st.check_writable()?;
        if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
            return Err(Errno::EINVAL);
        }
        let from = self.child_path(&st, parent, name)?;
        let to = self.child_path(&st, new_parent, new_name)?;
        let moved = fs::symlink_metadata(&from).map_err(Errno::from)?;
        let replaced = existing(&to)?;
        if replaced.is_some() && flags.contains(RenameFlags::RENAME_NOREPLACE) {
            // Check-then-rename is atomic here: only this single-threaded session changes the tree.
            return Err(Errno::EEXIST);
        }
        if replaced.as_ref().is_some_and(|r| r.ino() == moved.ino()) {
            // Two links to one inode: rename(2) succeeds and changes nothing.
            return Ok(());
        }
        fs::rename(&from, &to).map_err(Errno::from)?;
        if let Some(replaced) = replaced {
            st.forget_name(self.fuse_ino(replaced.ino()), &to, &replaced);
        }
        st.rename_paths(&from, &to);
        Ok(())
    }

    pub(super) fn opendir(&self, ino: INodeNo) -> Res<u64> {
        let mut st = self.state();
        let path = st.path(ino.0)?.to_path_buf();
        let mut entries = vec![
            self.dot_entry(ino, "."),
            self.dot_entry(self.parent_ino(ino, &path), ".."),
        ];
        for entry in fs::read_dir(&path).map_err(Errno::from)? {
            let entry = entry.map_err(Errno::from)?;
            let kind = entry.file_type().map_err(Errno::from)?;
            entries.push(DirEntry {
                ino: INodeNo(self.fuse_ino(entry.ino())),
                kind: FileType::from_std(kind).unwrap_or(FileType::RegularFile),
                name: entry.file_name(),
            });
        }
        let fh = st.take_handle();
        st.dirs.insert(fh, entries);
        Ok(fh)
    }

    fn dot_entry(&self, ino: INodeNo, name: &str) -> DirEntry {
        DirEntry {
            ino,
            kind: FileType::Directory,
            name: name.into(),
        }
    }

    fn parent_ino(&self, ino: INodeNo, path: &Path) -> INodeNo {
        let parent = path.parent().filter(|_| ino != INodeNo::ROOT);
        match parent.and_then(|p| fs::symlink_metadata(p).ok()) {
            Some(meta) => INodeNo(self.fuse_ino(meta.ino())),
            None => INodeNo::ROOT,
        }
    }

    /// Feeds the snapshot entries from `offset` on to `add` (which returns true once its buffer is
    /// full); the offset handed out with each entry is the index of the next one.
    pub(super) fn readdir(
        &self,
        fh: u64,
        offset: u64,
        mut add: impl FnMut(&DirEntry, u64) -> bool,
    ) -> Res<()> {
        let st = self.state();
        let entries = st.dirs.get(&fh).ok_or(Errno::EBADF)?;
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (index, entry) in entries.iter().enumerate().skip(skip) {
            if add(entry, index as u64 + 1) {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn releasedir(&self, fh: u64) {
        self.state().dirs.remove(&fh);
    }
}

/// Metadata of `path`, or None when nothing is there.
fn existing(path: &Path) -> Res<Option<Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}
