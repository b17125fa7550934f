//! Snapshot files: a point-in-time copy of the state machine's column families.
//!
//! A snapshot is written from a RocksDB snapshot (a consistent view taken between two applies)
//! on its own thread, so apply never stops for it: each column family into one RocksDB table
//! file ([`tables`]), and the tables into one file ([`format`]) that travels to a follower in
//! chunks, byte for byte. The follower checks it whole before it replaces anything, then hands
//! the tables to its RocksDB as they are. Memory stays bounded on both sides whatever the
//! state's size: nothing is held but a table's index while it is written.

mod format;
mod records;
mod tables;

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{DB, WriteBatch};

use self::format::{Contents, TablesWriter};
use self::tables::{Extract, Tables};
use super::codec;
use super::storage::{CF_RAFT_META, CF_SM_DATA, CF_SM_META, cf, create_dir_durably, rocks_err};
use crate::raft::types::SnapshotMeta;

const EXTENSION: &str = "qsnap";

/// Keys of the state machine's scalars in `sm_meta`.
pub const LAST_APPLIED_KEY: &[u8] = b"last_applied";
pub const MEMBERSHIP_KEY: &[u8] = b"membership";
pub const QUEUE_META_KEY: &[u8] = b"queue_meta";

/// A finished snapshot file on disk, and a handle on it that stays readable even when a newer
/// snapshot has replaced the file meanwhile.
pub struct SnapshotFile {
    pub meta: SnapshotMeta,
    pub path: PathBuf,
    pub file: File,
}

/// Writes a snapshot of the state machine as it is in `view` into `dir`, durably, and removes
/// older snapshot files.
pub fn write_from_view(
    db: &DB,
    view: &rocksdb::SnapshotWithThreadMode<'_, DB>,
    dir: &Path,
) -> Result<SnapshotFile, io::Error> {
    let cf_meta = cf(db, CF_SM_META)?;
    let meta = SnapshotMeta {
        last_log_id: view
            .get_cf(cf_meta, LAST_APPLIED_KEY)
            .map_err(rocks_err)?
            .map(|b| codec::decode(&b))
            .transpose()?,
        last_membership: view
            .get_cf(cf_meta, MEMBERSHIP_KEY)
            .map_err(rocks_err)?
            .map(|b| codec::decode(&b))
            .transpose()?
            .unwrap_or_default(),
    };
    create_dir_durably(dir)?;
    let tmp = dir.join(format!("building-{}.tmp", ulid::Ulid::new()));
    let result = (|| {
        let tables = Tables::write(db, view, dir)?;
        let mut out = TablesWriter::start(BufWriter::new(File::create(&tmp)?), &meta)?;
        for (tag, path) in &tables.files {
            let table = File::open(path)?;
            let len = table.metadata()?.len();
            out.table(*tag, table, len)?;
        }
        out.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    publish(&tmp, dir, &meta)
}

/// Copies a received snapshot into `dir` as the current snapshot, checking it whole on the way
/// (framing, counts, checksum, and that it covers `meta`): one read does both.
pub fn store_checked(source: &mut File, dir: &Path, meta: &SnapshotMeta) -> Result<SnapshotFile, io::Error> {
    create_dir_durably(dir)?;
    let tmp = dir.join(format!("received-{}.tmp", ulid::Ulid::new()));
    let result = (|| {
        let mut out = File::create(&tmp)?;
        let found = format::read(
            Copying {
                source,
                out: &mut out,
            },
            &mut Discard,
        )?;
        if found != *meta {
            return Err(format::invalid(format!(
                "snapshot file covers {found:?}, but {meta:?} was announced"
            )));
        }
        out.sync_all()
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    publish(&tmp, dir, meta)
}

/// Reads a snapshot through and keeps nothing: reading is what checks it.
struct Discard;

impl Contents for Discard {}

/// A reader that writes every byte it reads to `out`.
struct Copying<'a, R> {
    source: R,
    out: &'a mut File,
}

impl<R: Read> Read for Copying<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.source.read(buf)?;
        self.out.write_all(&buf[..read])?;
        Ok(read)
    }
}

/// Renames a finished temp file to its final name, makes the rename durable, and deletes the
/// snapshots it supersedes. Readers holding an older file open keep reading it.
///
/// A snapshot is built while another is received, and either may be published first: only
/// older snapshots are deleted, so a build that ends late never removes the newer snapshot just
/// installed, and the file is opened before its rename, so its own reader survives the install
/// deleting it.
fn publish(tmp: &Path, dir: &Path, meta: &SnapshotMeta) -> Result<SnapshotFile, io::Error> {
    let file = File::open(tmp)?;
    let name = file_name(meta);
    let path = dir.join(&name);
    fs::rename(tmp, &path)?;
    File::open(dir)?.sync_all()?;
    for (old, old_name) in list(dir)? {
        if old_name < name {
            let _ = fs::remove_file(old);
        }
    }
    for entry in fs::read_dir(dir)? {
        let stale = entry?.path();
        if stale.extension().is_some_and(|e| e == "tmp") && stale != tmp {
            // Left by a crash mid-write; harmless, but it takes space.
            let modified = stale.metadata().and_then(|m| m.modified()).ok();
            if modified.is_some_and(|m| m.elapsed().is_ok_and(|age| age.as_secs() > 600)) {
                let _ = fs::remove_file(stale);
            }
        }
    }
    Ok(SnapshotFile {
        meta: meta.clone(),
        path,
        file,
    })
}

/// Names sort by the position they cover, so the greatest name is the newest snapshot.
fn file_name(meta: &SnapshotMeta) -> String {
    let position = meta.last_log_id.as_ref().map_or(0, |id| id.index + 1);
    format!("snapshot-{position:020}-{}.{EXTENSION}", ulid::Ulid::new())
}

fn list(dir: &Path) -> Result<Vec<(PathBuf, String)>, io::Error> {
    let mut found = Vec::new();
    if !dir.exists() {
        return Ok(found);
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == EXTENSION)
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            let name = name.to_string();
            found.push((path, name));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

/// The newest snapshot in `dir`, if any: its meta, and the file opened at its start.
pub fn newest(dir: &Path) -> Result<Option<(SnapshotMeta, File)>, io::Error> {
    let Some((path, _)) = list(dir)?.pop() else {
        return Ok(None);
    };
    let meta = format::meta(File::open(&path)?)?;
    Ok(Some((meta, File::open(&path)?)))
}

/// Reads a whole snapshot file and checks it (its framing, counts and checksum) without
/// keeping anything: what a node does with a received snapshot before handing it on.
pub fn verify(file: File) -> Result<SnapshotMeta, io::Error> {
    format::read(file, &mut Discard)
}

/// Key (in `raft_meta`) of a snapshot being installed: written before the state machine's
/// column families are replaced and deleted by the write that completes them, so a node stopped
/// half way finds it at start-up and installs the stored snapshot again.
const INSTALLING_KEY: &[u8] = b"installing_snapshot";

/// Replaces the state machine's column families with the contents of the snapshot `file`
/// (verified, and stored where a restart finds it), with bounded memory whatever the
/// snapshot's size. Its tables are read out into `scratch` (on the database's file system)
/// and checked whole first; then the replacement is marked durably, the tables are ingested,
/// and the mark is cleared, so an install cut short is finished at the next start
/// ([`interrupted_install`]) instead of leaving half a state behind.
pub fn install(db: &Arc<DB>, mut file: File, meta: &SnapshotMeta, scratch: &Path) -> Result<(), io::Error> {
    file.rewind()?;
    let version = format::version(&mut file)?;
    file.rewind()?;
    if version == format::TABLES_VERSION {
        let mut extract = Extract {
            scratch,
            tables: Tables { files: Vec::new() },
        };
        format::read(file, &mut extract)?;
        begin_install(db, meta)?;
        extract.tables.ingest(db)?;
    } else {
        begin_install(db, meta)?;
        records::install(db, file)?;
    }
    let mut done = WriteBatch::default();
    done.delete_cf(cf(db, CF_RAFT_META)?, INSTALLING_KEY);
    db.write(done).map_err(rocks_err)?;
    db.flush_wal(true).map_err(rocks_err)
}

/// Marks the install of `meta` as begun and empties the state machine, durably.
pub(in crate::raft) fn begin_install(db: &DB, meta: &SnapshotMeta) -> Result<(), io::Error> {
    let mut begin = WriteBatch::default();
    begin.put_cf(cf(db, CF_RAFT_META)?, INSTALLING_KEY, codec::encode(meta)?);
    // Every key qraft writes starts with a byte below 0xFF.
    for family in [CF_SM_DATA, CF_SM_META] {
        begin.delete_range_cf(cf(db, family)?, [0u8].as_slice(), [0xFFu8].as_slice());
    }
    db.write(begin).map_err(rocks_err)?;
    db.flush_wal(true).map_err(rocks_err)
}

/// The snapshot whose install a stop cut short, if any: it must be installed again before the
/// state machine is read.
pub fn interrupted_install(db: &DB) -> Result<Option<SnapshotMeta>, io::Error> {
    db.get_cf(cf(db, CF_RAFT_META)?, INSTALLING_KEY)
        .map_err(rocks_err)?
        .map(|bytes| codec::decode(&bytes))
        .transpose()
}

#[cfg(test)]
mod tests {
    use rocksdb::IteratorMode;

    use super::format::{Record, TAG_SM_DATA, TAG_SM_META};
    use super::*;
    use crate::raft::persist::storage::{Identity, Storage};
    use crate::raft::types::TypeConfig;

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(openraft::testing::log_id::<TypeConfig>(1, 3, index)),
            last_membership: Default::default(),
        }
    }

    fn storage(dir: &Path) -> Storage {
        let identity = Identity {
            cluster_name: "test".into(),
            node_id: 1,
        };
        Storage::open(dir, &identity).expect("storage")
    }

    /// Writes `records` and the last applied id of `meta(index)` into `db`'s state machine.
    fn fill(db: &DB, index: u64, records: &[Record]) {
        let mut batch = WriteBatch::default();
        for (tag, key, value) in records {
            let family = if *tag == TAG_SM_DATA {
                CF_SM_DATA
            } else {
                CF_SM_META
            };
            batch.put_cf(cf(db, family).expect("cf"), key, value);
        }
        let applied = codec::encode(&meta(index).last_log_id).expect("encode");
        batch.put_cf(cf(db, CF_SM_META).expect("cf"), LAST_APPLIED_KEY, applied);
        db.write(batch).expect("write");
    }

    /// A snapshot covering `index` with `records`, built the way a node builds one: from a
    /// view of a database holding them.
    fn snapshot_of(dir: &Path, index: u64, records: &[Record]) -> SnapshotFile {
        let source = storage(&dir.join(format!("source-{index}")));
        fill(&source.db, index, records);
        write_from_view(&source.db, &source.db.snapshot(), &dir.join("snapshots")).expect("write")
    }

    /// Every record of the state machine, both column families, in order.
    fn contents(db: &DB) -> Vec<Record> {
        let mut found = Vec::new();
        for (tag, family) in [(TAG_SM_DATA, CF_SM_DATA), (TAG_SM_META, CF_SM_META)] {
            for item in db.iterator_cf(cf(db, family).expect("cf"), IteratorMode::Start) {
                let (key, value) = item.expect("record");
                found.push((tag, key.to_vec(), value.to_vec()));
            }
        }
        found
    }

    fn data_keys(db: &DB) -> usize {
        let family = cf(db, CF_SM_DATA).expect("cf");
        db.iterator_cf(family, IteratorMode::Start).count()
    }

    /// Bytes that do not compress.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn tasks(count: u32, value_len: usize) -> Vec<Record> {
        (0..count)
            .map(|i| (TAG_SM_DATA, i.to_be_bytes().to_vec(), noise(i.into(), value_len)))
            .collect()
    }

    #[test]
    fn a_built_snapshot_installs_exactly_the_state_it_was_built_from() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut records = tasks(2_000, 300);
        records.push((TAG_SM_META, b"queue_meta".to_vec(), b"totals".to_vec()));
        let built = snapshot_of(dir.path(), 10, &records);
        assert_eq!(built.meta, meta(10));
        let source = storage(&dir.path().join("source-10"));
        let expected = contents(&source.db);
        drop(source);

        let target = storage(&dir.path().join("target"));
        fill(&target.db, 4, &tasks(5_000, 10)[3_000..]);
        install(&target.db, built.file, &built.meta, &dir.path().join("snapshots")).expect("install");
        assert_eq!(
            contents(&target.db),
            expected,
            "the old state replaced, the new one whole"
        );
        let family = cf(&target.db, CF_SM_DATA).expect("cf");
        let level0 = target
            .db
            .property_int_value_cf(family, "rocksdb.num-files-at-level0");
        assert_eq!(
            level0.expect("property"),
            Some(0),
            "the table went below the old state's deletion, not above it"
        );
        assert_eq!(interrupted_install(&target.db).expect("read"), None);
        let left: Vec<_> = fs::read_dir(dir.path().join("snapshots"))
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(left, [built.path], "no table file left behind");
    }

    #[test]
    fn a_damaged_snapshot_is_refused_before_anything_is_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = snapshot_of(dir.path(), 10, &tasks(500, 200));
        assert_eq!(
            verify(File::open(&good.path).expect("open")).expect("intact"),
            meta(10)
        );

        // One flipped bit in the middle of a table keeps the framing intact: only the checksum
        // can tell.
        let mut bytes = fs::read(&good.path).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        let damaged = dir.path().join("damaged.qsnap");
        fs::write(&damaged, &bytes).expect("write");
        let error = verify(File::open(&damaged).expect("open")).expect_err("refused");
        assert!(error.to_string().contains("checksum"), "{error}");

        let target = storage(&dir.path().join("target"));
        fill(&target.db, 3, &tasks(7, 10));
        let before = contents(&target.db);
        let scratch = dir.path().join("scratch");
        create_dir_durably(&scratch).expect("dir");
        let error = install(
            &target.db,
            File::open(&damaged).expect("open"),
            &meta(10),
            &scratch,
        )
        .expect_err("refused");
        assert!(error.to_string().contains("checksum"), "{error}");
        assert_eq!(contents(&target.db), before, "nothing replaced");
        assert_eq!(interrupted_install(&target.db).expect("read"), None);
        assert_eq!(fs::read_dir(&scratch).expect("dir").count(), 0, "no table left");
    }

    const MEASURED_INSTALL: &str = "QRAFT_TEST_MEASURED_INSTALL";
    const SNAPSHOT_MIB: usize = 256;

    /// Peak resident memory (VmHWM) of this process, in bytes.
    fn peak_resident() -> usize {
        let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let kib: usize = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM");
        kib * 1024
    }

    /// In the child: installs the snapshot stored under `dir` and prints how much the
    /// process's peak resident memory grew during the install.
    fn measure_install(dir: &Path) {
        let storage = storage(&dir.join("target"));
        let snapshots = dir.join("snapshots");
        let (stored, file) = newest(&snapshots).expect("newest").expect("a snapshot");
        let before = peak_resident();
        install(&storage.db, file, &stored, &snapshots).expect("install");
        let grew = peak_resident().saturating_sub(before);
        assert_eq!(data_keys(&storage.db), SNAPSHOT_MIB);
        println!("install grew the peak by {grew} bytes");
    }

    /// Installing a 256 MiB snapshot raises the process's peak memory by a bounded amount, not
    /// by the snapshot's size once or more times, as reading all its records and writing them in
    /// one batch did. Peak memory is per process, so the install runs in a child process of this
    /// test binary that does nothing else; this one builds the snapshot.
    #[test]
    fn an_install_holds_bounded_memory_whatever_the_snapshot_size() {
        if let Ok(dir) = std::env::var(MEASURED_INSTALL) {
            measure_install(Path::new(&dir));
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let built = snapshot_of(dir.path(), 10, &tasks(SNAPSHOT_MIB as u32, 1 << 20));
        assert!(
            built.file.metadata().expect("size").len() > (SNAPSHOT_MIB << 20) as u64,
            "the values do not compress"
        );
        let name =
            "raft::persist::snapshot::tests::an_install_holds_bounded_memory_whatever_the_snapshot_size";
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(MEASURED_INSTALL, dir.path())
            .output()
            .expect("run the child");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let grew: usize = stdout
            .lines()
            .find_map(|line| line.split("install grew the peak by ").nth(1))
            .and_then(|rest| rest.trim_end_matches(" bytes").parse().ok())
            .unwrap_or_else(|| panic!("no measurement in: {stdout}"));
        println!(
            "installing a {SNAPSHOT_MIB} MiB snapshot grew the peak by {} KiB",
            grew >> 10
        );
        assert!(
            grew < (SNAPSHOT_MIB << 20) / 4,
            "installing a {SNAPSHOT_MIB} MiB snapshot grew the peak by {} MiB",
            grew >> 20
        );
    }

    #[test]
    fn an_install_cut_short_is_found_and_finished_from_the_stored_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = storage(&dir.path().join("db"));
        let snapshots = dir.path().join("snapshots");
        snapshot_of(dir.path(), 5, &tasks(5, 10));
        // A stop right after the install began: the old state is gone, the new not yet there.
        begin_install(&storage.db, &meta(5)).expect("begin");
        assert_eq!(data_keys(&storage.db), 0);
        let cut_short = interrupted_install(&storage.db).expect("read").expect("marked");
        let (stored, file) = newest(&snapshots).expect("newest").expect("the stored copy");
        assert_eq!((cut_short, stored.clone()), (meta(5), meta(5)));
        install(&storage.db, file, &stored, &snapshots).expect("finished");
        assert_eq!(data_keys(&storage.db), 5);
        assert_eq!(interrupted_install(&storage.db).expect("read"), None);
    }

    #[test]
    fn a_received_snapshot_is_stored_only_if_whole_and_the_one_announced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sent = snapshot_of(dir.path(), 3, &tasks(20, 40));
        let received = dir.path().join("received");
        let mut good = File::open(&sent.path).expect("open");
        let stored = store_checked(&mut good, &received, &meta(3)).expect("stored");
        assert_eq!(
            fs::read(&stored.path).expect("read"),
            fs::read(&sent.path).expect("read")
        );

        let mut other = File::open(&sent.path).expect("open");
        let Err(refused) = store_checked(&mut other, &received, &meta(4)) else {
            panic!("stored a snapshot that was not the one announced");
        };
        assert!(refused.to_string().contains("was announced"), "{refused}");
        let mut bytes = fs::read(&sent.path).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        let damaged = dir.path().join("damaged.bin");
        fs::write(&damaged, &bytes).expect("write");
        let mut damaged = File::open(&damaged).expect("open");
        assert!(store_checked(&mut damaged, &received, &meta(3)).is_err());
        let truncated = dir.path().join("truncated.bin");
        fs::write(&truncated, &bytes[..middle]).expect("write");
        let mut truncated = File::open(&truncated).expect("open");
        assert!(store_checked(&mut truncated, &received, &meta(3)).is_err());
        let left: Vec<_> = fs::read_dir(&received)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(left, [stored.path], "nothing else stored, no temp file left");
    }

    /// A snapshot of an older format, stored before an upgrade or sent by a node not yet
    /// upgraded, is still checked and installed.
    #[test]
    fn snapshots_of_the_record_formats_are_still_read_and_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = storage(&dir.path().join("target"));
        let records = vec![
            (TAG_SM_DATA, b"t1".to_vec(), b"task".to_vec()),
            (TAG_SM_META, b"k".to_vec(), b"v".to_vec()),
        ];
        for version in [
            format::RECORDS_VERSION,
            format::UNCOMPRESSED_VERSION,
            format::UNCHECKED_VERSION,
        ] {
            let path = dir.path().join(format!("v{version}.qsnap"));
            let out = File::create(&path).expect("create");
            if version == format::RECORDS_VERSION {
                records::tests::write_compressed(out, &meta(8), &records);
            } else {
                records::tests::write_uncompressed(out, version, &meta(8), &records);
            }
            assert_eq!(verify(File::open(&path).expect("open")).expect("read"), meta(8));
            fill(&target.db, 2, &tasks(3, 10));
            install(&target.db, File::open(&path).expect("open"), &meta(8), dir.path()).expect("install");
            assert_eq!(contents(&target.db), records, "version {version}");
            if version != format::UNCHECKED_VERSION {
                let mut bytes = fs::read(&path).expect("read");
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
                fs::write(&path, &bytes).expect("write");
                let damaged = verify(File::open(&path).expect("open")).expect_err("refused");
                // In version 3 the last byte belongs to the compressed frame, which is refused
                // as such; the checksum covers what is inside.
                if version == format::UNCOMPRESSED_VERSION {
                    assert!(damaged.to_string().contains("checksum"), "{damaged}");
                }
            }
        }
    }

    fn publish_empty(dir: &Path, index: u64) -> SnapshotFile {
        let tmp = dir.join(format!("test-{index}.tmp"));
        let out = TablesWriter::start(File::create(&tmp).expect("create"), &meta(index)).expect("header");
        out.finish().expect("end");
        publish(&tmp, dir, &meta(index)).expect("publish")
    }

    #[test]
    fn a_build_that_ends_after_a_newer_install_neither_deletes_it_nor_loses_its_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let installed = publish_empty(dir.path(), 1603);
        let built = publish_empty(dir.path(), 1262);
        assert!(
            installed.path.exists(),
            "the newer snapshot must survive the older one's publish"
        );
        let (newest_meta, _) = newest(dir.path()).expect("newest").expect("a snapshot");
        assert_eq!(newest_meta, meta(1603));
        // The older file is deleted by the next publish; its handle still reads the whole file.
        let later = publish_empty(dir.path(), 1900);
        assert!(!built.path.exists() && !installed.path.exists() && later.path.exists());
        assert_eq!(verify(built.file).expect("the handle still reads"), meta(1262));
    }
}
