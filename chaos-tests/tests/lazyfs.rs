//! End-to-end tests: every test mounts a real FUSE filesystem (needs root and /dev/fuse).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use qraft_chaos::lazyfs::{Control, Mounted};
use tempfile::TempDir;

/// A mount over a fresh backing directory. `mounted` is declared first so it unmounts before the
/// directories are removed.
struct Fixture {
    mounted: Mounted,
    backing: TempDir,
    _mountpoint: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let backing = TempDir::new().expect("backing dir");
        let mountpoint = TempDir::new().expect("mountpoint dir");
        let mounted = Mounted::mount(backing.path(), mountpoint.path()).expect("mount lazyfs");
        Fixture {
            mounted,
            backing,
            _mountpoint: mountpoint,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.mounted.mountpoint().join(name)
    }

    fn backing(&self, name: &str) -> PathBuf {
        self.backing.path().join(name)
    }

    fn control(&self) -> Control {
        self.mounted.control()
    }
}

fn write_synced(path: &Path, data: &[u8]) {
    let mut file = File::create(path).expect("create");
    file.write_all(data).expect("write");
    file.sync_all().expect("fsync");
}

fn append(path: &Path, data: &[u8]) {
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    file.write_all(data).expect("append");
}

/// What a freshly started process sees, as opposed to this one.
fn cat(path: &Path) -> Vec<u8> {
    let out = Command::new("cat").arg(path).output().expect("run cat");
    assert!(out.status.success(), "cat {}: {out:?}", path.display());
    out.stdout
}

fn raw_os_error(result: io::Result<impl std::fmt::Debug>) -> Option<i32> {
    result.expect_err("operation should fail").raw_os_error()
}

#[test]
fn power_cut_keeps_exactly_the_synced_bytes() {
    let fx = Fixture::new();
    let (log, fresh, page) = (fx.path("log"), fx.path("fresh"), fx.path("page"));

    write_synced(&log, b"synced;");
    append(&log, b"lost-append");
    fs::write(&fresh, b"lost-new").expect("write fresh");
    write_synced(&page, b"0123456789");
    File::options()
        .write(true)
        .open(&page)
        .expect("open page")
        .write_all_at(b"XYZ", 3)
        .expect("overwrite");
    // RocksDB closes a preallocated file with ftruncate(current size): that must not persist.
    let closing = File::options().write(true).open(&log).expect("open log");
    closing
        .set_len(closing.metadata().expect("fstat").len())
        .expect("ftruncate to same size");
    drop(closing);

    // Before the cut everything reads as written, and nothing unsynced reached the backing.
    assert_eq!(fs::read(&log).expect("read"), b"synced;lost-append");
    assert_eq!(fs::read(&page).expect("read"), b"012XYZ6789");
    assert_eq!(fs::read(fx.backing("log")).expect("read backing"), b"synced;");
    assert_eq!(fs::metadata(&fresh).expect("stat").len(), 8);
    let unsynced = (b"lost-append".len() + b"lost-new".len() + 3) as u64;
    assert_eq!(fx.control().stats().unsynced_bytes, unsynced);

    assert_eq!(fx.control().cut_power(), unsynced);

    assert_eq!(cat(&log), b"synced;");
    assert_eq!(fs::metadata(&fresh).expect("fresh still exists").len(), 0);
    assert_eq!(cat(&fresh), b"");
    assert_eq!(cat(&page), b"0123456789");
    assert_eq!(fs::read(&page).expect("read"), b"0123456789");
    let stats = fx.control().stats();
    assert_eq!((stats.unsynced_bytes, stats.dropped_bytes), (0, unsynced));
    assert!(stats.fsyncs >= 2, "{stats:?}");
}

#[test]
fn namespace_operations_behave_like_a_normal_filesystem() {
    let fx = Fixture::new();

    // RocksDB's CURRENT dance: write a temp file, fsync, rename over the old one.
    write_synced(&fx.path("CURRENT"), b"MANIFEST-1\n");
    write_synced(&fx.path("CURRENT.tmp"), b"MANIFEST-2\n");
    fs::rename(fx.path("CURRENT.tmp"), fx.path("CURRENT")).expect("rename over");
    assert_eq!(fs::read(fx.path("CURRENT")).expect("read"), b"MANIFEST-2\n");
    assert!(!fx.path("CURRENT.tmp").exists());

    // Hard links, as a checkpoint makes them.
    write_synced(&fx.path("000001.sst"), b"sst-bytes");
    fs::create_dir(fx.path("checkpoint")).expect("mkdir");
    fs::hard_link(fx.path("000001.sst"), fx.path("checkpoint/000001.sst")).expect("link");
    let (orig, linked) = (
        fs::metadata(fx.path("000001.sst")),
        fs::metadata(fx.path("checkpoint/000001.sst")),
    );
    let (orig, linked) = (orig.expect("stat"), linked.expect("stat"));
    assert_eq!((orig.ino(), orig.nlink()), (linked.ino(), 2));
    fs::remove_file(fx.path("000001.sst")).expect("unlink");
    assert_eq!(
        fs::read(fx.path("checkpoint/000001.sst")).expect("read link"),
        b"sst-bytes"
    );
    assert_eq!(
        fs::metadata(fx.path("checkpoint/000001.sst"))
            .expect("stat")
            .nlink(),
        1
    );

    // readdir.
    let mut names: Vec<String> = fs::read_dir(fx.mounted.mountpoint())
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    assert_eq!(names, ["CURRENT", "checkpoint"]);

    // Truncate makes pending bytes durable first, then cuts.
    write_synced(&fx.path("trunc"), b"0123456789");
    append(&fx.path("trunc"), b"abc");
    File::options()
        .write(true)
        .open(fx.path("trunc"))
        .expect("open")
        .set_len(11)
        .expect("ftruncate");
    assert_eq!(fs::read(fx.path("trunc")).expect("read"), b"0123456789a");
    File::create(fx.path("CURRENT")).expect("O_TRUNC");
    assert_eq!(fs::metadata(fx.path("CURRENT")).expect("stat").len(), 0);

    // Reopen read-write and overwrite in place; rename with pending bytes keeps them.
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(fx.path("trunc"))
        .expect("reopen");
    file.seek(SeekFrom::Start(2)).expect("seek");
    file.write_all(b"__").expect("write");
    drop(file);
    fs::rename(fx.path("trunc"), fx.path("moved")).expect("rename");
    let mut file = File::options()
        .read(true)
        .write(true)
        .open(fx.path("moved"))
        .expect("open moved");
    let mut content = String::new();
    file.read_to_string(&mut content).expect("read");
    assert_eq!(content, "01__456789a");
    file.sync_all().expect("fsync moved");
    drop(file);
    assert_eq!(fx.control().cut_power(), 0);
    assert_eq!(fs::read(fx.backing("moved")).expect("backing"), b"01__456789a");

    // rmdir, and a directory rename carries its files along.
    fs::create_dir(fx.path("dir")).expect("mkdir");
    fs::write(fx.path("dir/inner"), b"x").expect("write inner");
    fs::rename(fx.path("dir"), fx.path("dir2")).expect("rename dir");
    File::open(fx.path("dir2/inner"))
        .expect("open inner")
        .sync_all()
        .expect("fsync inner");
    assert_eq!(fs::read(fx.backing("dir2/inner")).expect("backing"), b"x");
    fs::remove_file(fx.path("dir2/inner")).expect("unlink inner");
    fs::remove_dir(fx.path("dir2")).expect("rmdir");
    assert!(!fx.backing("dir2").exists());
}

#[test]
fn full_disk_reports_and_enforces_the_free_space() {
    let fx = Fixture::new();
    let control = fx.control();
    let free = 64 * 1024;
    control.set_free_bytes(Some(free));

    let vfs = nix::sys::statvfs::statvfs(fx.mounted.mountpoint()).expect("statvfs");
    let available = vfs.blocks_available() * vfs.fragment_size();
    assert!(
        available <= free && available + vfs.fragment_size() > free,
        "{available} of {free}"
    );

    let mut file = File::create(fx.path("big")).expect("create");
    file.write_all(&[1; 4096]).expect("small write fits");
    let err = file
        .write_all(&vec![2; 128 * 1024])
        .expect_err("larger write must fail");
    assert_eq!(err.raw_os_error(), Some(nix::libc::ENOSPC), "{err}");

    // Deleting refunds the space; lifting the cap lifts the limit.
    drop(file);
    fs::remove_file(fx.path("big")).expect("unlink");
    let vfs = nix::sys::statvfs::statvfs(fx.mounted.mountpoint()).expect("statvfs");
    assert!(vfs.blocks_available() * vfs.fragment_size() + vfs.fragment_size() > free);
    control.set_free_bytes(None);
    fs::write(fx.path("big"), vec![3; 128 * 1024]).expect("write without a cap");
}

#[test]
fn failing_disk_refuses_writes_but_serves_reads() {
    let fx = Fixture::new();
    let control = fx.control();
    write_synced(&fx.path("data"), b"durable");
    let mut file = OpenOptions::new()
        .append(true)
        .open(fx.path("data"))
        .expect("open");

    control.fail_writes(true);
    assert_eq!(raw_os_error(file.write_all(b"more")), Some(nix::libc::EIO));
    assert_eq!(raw_os_error(file.sync_all()), Some(nix::libc::EIO));
    assert_eq!(fs::read(fx.path("data")).expect("reads still work"), b"durable");
    assert_eq!(raw_os_error(File::create(fx.path("new"))), Some(nix::libc::EIO));
    assert_eq!(raw_os_error(fs::create_dir(fx.path("dir"))), Some(nix::libc::EIO));
    assert_eq!(
        raw_os_error(fs::rename(fx.path("data"), fx.path("other"))),
        Some(nix::libc::EIO)
    );
    assert_eq!(
        raw_os_error(fs::remove_file(fx.path("data"))),
        Some(nix::libc::EIO)
    );

    control.fail_writes(false);
    file.write_all(b"+more").expect("write after recovery");
    file.sync_all().expect("fsync after recovery");
    assert_eq!(fs::read(fx.backing("data")).expect("backing"), b"durable+more");
}

#[test]
fn wal_keeps_exactly_the_fsynced_prefix() {
    let fx = Fixture::new();
    let wal = fx.path("000003.log");
    let records: Vec<String> = (0..1000)
        .map(|i| format!("{i:04}:{}\n", "x".repeat(i % 17)))
        .collect();

    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&wal)
        .expect("open wal");
    let mut synced = 0;
    for (i, record) in records.iter().enumerate() {
        file.write_all(record.as_bytes()).expect("append record");
        // fsync after every 10th record counting from the first: 0, 10, ..., 990.
        if i % 10 == 0 {
            file.sync_data().expect("fdatasync");
            synced = i + 1;
        }
    }
    drop(file);
    assert_eq!(synced, 991);

    let unsynced: usize = records[synced..].iter().map(String::len).sum();
    assert_eq!(fx.control().cut_power(), unsynced as u64);

    let expected: String = records[..synced].concat();
    assert_eq!(String::from_utf8(cat(&wal)).expect("utf-8"), expected);
    let stats = fx.control().stats();
    assert_eq!((stats.fsyncs, stats.dropped_bytes), (100, unsynced as u64));
}

#[test]
fn unmounting_a_busy_mount_detaches_instead_of_hanging() {
    let backing = TempDir::new().expect("backing dir");
    let mountpoint = TempDir::new().expect("mountpoint dir");
    let mounted = Mounted::mount(backing.path(), mountpoint.path()).expect("mount lazyfs");
    let mut busy = File::create(mounted.mountpoint().join("held")).expect("create");

    let err = mounted.unmount().expect_err("an open file keeps the mount busy");
    assert!(format!("{err:#}").contains("lazy detach: Ok"), "{err:#}");
    // The detached mount still serves its last user, then goes away.
    busy.write_all(b"still served").expect("write after detach");
    drop(busy);
    assert!(
        fs::read_dir(mountpoint.path()).expect("readdir").next().is_none(),
        "mountpoint is empty again"
    );
}
