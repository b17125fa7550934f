//! Snapshot files: a point-in-time copy of the state machine's column families.
//!
//! A snapshot is written from a RocksDB snapshot (a consistent view taken between two applies)
//! on its own thread, so apply never stops for it. The file is what travels to a follower, in
//! chunks, byte for byte; the follower checks it whole before it replaces anything.
//!
//! Format, version 3: `QRAFTSNP`, version byte, `u32` length + encoded [`SnapshotMeta`], then
//! one LZ4 frame holding the records `tag u8, u32 key length, key, u32 value length, value`, the
//! end tag, the `u64` record count, and the SHA-256 of every byte before it as a reader sees
//! them (the header, then the frame's content). Integers are big-endian. A file whose checksum does not match is refused before anything is
//! installed, so a snapshot damaged on disk or on the way is found, not spread to the node that
//! installs it. The records compress to about a quarter (they repeat their field names), which
//! is what lets a node holding ten million tasks keep a snapshot on a small disk. Version 2 (the
//! same without compression) and 1 (without the checksum either) are still read.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lz4_flex::frame::{FrameDecoder, FrameEncoder};
use rocksdb::{DB, IteratorMode, WriteBatch};
use sha2::{Digest, Sha256};

use super::codec;
use super::storage::{CF_RAFT_META, CF_SM_DATA, CF_SM_META, cf, create_dir_durably, rocks_err};
use crate::raft::types::SnapshotMeta;

const MAGIC: &[u8; 8] = b"QRAFTSNP";
const FORMAT_VERSION: u8 = 3;
/// Files written before snapshots were compressed.
const UNCOMPRESSED_VERSION: u8 = 2;
/// Files written before snapshots carried a checksum.
const UNCHECKED_VERSION: u8 = 1;
const TAG_SM_DATA: u8 = 1;
const TAG_SM_META: u8 = 2;
const TAG_END: u8 = 0xFF;
const EXTENSION: &str = "qsnap";

/// Keys of the state machine's scalars in `sm_meta`.
pub const LAST_APPLIED_KEY: &[u8] = b"last_applied";
pub const MEMBERSHIP_KEY: &[u8] = b"membership";
pub const QUEUE_META_KEY: &[u8] = b"queue_meta";

/// One state machine record: which column family (tag), key, value.
pub type Record = (u8, Vec<u8>, Vec<u8>);

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
    let cf_data = cf(db, CF_SM_DATA)?;
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
        let mut out = SnapshotWriter::start(BufWriter::new(File::create(&tmp)?), &meta)?;
        for (tag, family) in [(TAG_SM_DATA, cf_data), (TAG_SM_META, cf_meta)] {
            for item in view.iterator_cf(family, IteratorMode::Start) {
                let (key, value) = item.map_err(rocks_err)?;
                out.record(tag, &key, &value)?;
            }
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
/// (framing, record count, checksum, and that it covers `meta`): one read does both.
pub fn store_checked(source: &mut File, dir: &Path, meta: &SnapshotMeta) -> Result<SnapshotFile, io::Error> {
    create_dir_durably(dir)?;
    let tmp = dir.join(format!("received-{}.tmp", ulid::Ulid::new()));
    let result = (|| {
        let mut out = File::create(&tmp)?;
        let found = read_records(
            Copying {
                source,
                out: &mut out,
            },
            |_| {},
        )?;
        if found != *meta {
            return Err(invalid(format!(
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
    let mut reader = BufReader::new(File::open(&path)?);
    let (meta, _) = read_header(&mut reader)?;
    Ok(Some((meta, File::open(&path)?)))
}

/// Writes a snapshot: the header, the records compressed, and the checksum of it all (of the
/// bytes before compression, which is what a reader sees).
struct SnapshotWriter<W: Write> {
    records: Hashing<FrameEncoder<W>>,
    count: u64,
}

impl<W: Write> SnapshotWriter<W> {
    fn start(out: W, meta: &SnapshotMeta) -> Result<Self, io::Error> {
        let mut head = Hashing::new(out);
        write_header(&mut head, meta)?;
        let (out, hasher) = head.into_parts();
        Ok(SnapshotWriter {
            records: Hashing::resume(FrameEncoder::new(out), hasher),
            count: 0,
        })
    }

    fn record(&mut self, tag: u8, key: &[u8], value: &[u8]) -> Result<(), io::Error> {
        write_record(&mut self.records, tag, key, value)?;
        self.count += 1;
        Ok(())
    }

    /// The end tag, the record count and the checksum; the file's writer, to be synced.
    fn finish(mut self) -> Result<W, io::Error> {
        self.records.write_all(&[TAG_END])?;
        self.records.write_all(&self.count.to_be_bytes())?;
        let (mut records, digest) = self.records.finish();
        records.write_all(&digest)?;
        records.finish().map_err(io::Error::other)
    }
}

/// Reads a whole snapshot file and checks it (its framing, record count and checksum) without
/// keeping its records: what a node does with a received snapshot before handing it on.
pub fn verify(file: File) -> Result<SnapshotMeta, io::Error> {
    read_records(file, |_| {})
}

fn read_records(file: impl Read, mut each: impl FnMut(Record)) -> Result<SnapshotMeta, io::Error> {
    let mut head = Hashing::new(BufReader::new(file));
    let (meta, version) = read_header(&mut head)?;
    let (file, hasher) = head.into_parts();
    if version == FORMAT_VERSION {
        // The checksum is inside the compressed stream, after the records it covers.
        let mut records = Hashing::resume(FrameDecoder::new(file), hasher);
        read_record_list(&mut records, &mut each)?;
        let (mut rest, digest) = records.finish();
        must_match(&mut rest, digest)?;
        if rest.read(&mut [0u8; 1])? != 0 {
            return Err(invalid("snapshot has data after its checksum".into()));
        }
        return Ok(meta);
    }
    let mut records = Hashing::resume(file, hasher);
    read_record_list(&mut records, &mut each)?;
    if version != UNCHECKED_VERSION {
        let (mut rest, digest) = records.finish();
        must_match(&mut rest, digest)?;
    }
    Ok(meta)
}

/// Reads the stored checksum and compares it with the one computed.
fn must_match(reader: &mut impl Read, digest: [u8; 32]) -> Result<(), io::Error> {
    let mut stored = [0u8; 32];
    reader.read_exact(&mut stored)?;
    if stored != digest {
        return Err(invalid("snapshot checksum mismatch: the file is damaged".into()));
    }
    Ok(())
}

/// The records up to the end tag, and their count checked.
fn read_record_list(reader: &mut impl Read, each: &mut impl FnMut(Record)) -> Result<(), io::Error> {
    let mut found = 0u64;
    loop {
        let tag = read_u8(reader)?;
        match tag {
            TAG_END => {
                let count = read_u64(reader)?;
                if count != found {
                    return Err(invalid(format!("snapshot says {count} records, found {found}")));
                }
                return Ok(());
            }
            TAG_SM_DATA | TAG_SM_META => {
                let key = read_block(reader)?;
                let value = read_block(reader)?;
                found += 1;
                each((tag, key, value));
            }
            other => return Err(invalid(format!("unknown snapshot record tag {other}"))),
        }
    }
}

/// A reader or writer that hashes every byte passing through it.
struct Hashing<T> {
    inner: T,
    hasher: Sha256,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Goes on hashing where another left off.
    fn resume(inner: T, hasher: Sha256) -> Self {
        Hashing { inner, hasher }
    }

    fn into_parts(self) -> (T, Sha256) {
        (self.inner, self.hasher)
    }

    fn finish(self) -> (T, [u8; 32]) {
        (self.inner, self.hasher.finalize().into())
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

/// Key (in `raft_meta`) of a snapshot being installed: written before the state machine's
/// column families are replaced and deleted by the write that completes them, so a node stopped
/// half way finds it at start-up and installs the stored snapshot again.
const INSTALLING_KEY: &[u8] = b"installing_snapshot";

/// Bytes of records handed to RocksDB at once while installing.
const INSTALL_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Replaces the state machine's column families with the records of the snapshot `file`
/// (verified, and stored where a restart finds it), streamed in chunks: memory stays bounded
/// whatever the snapshot's size. The replacement is marked durably first and the mark cleared
/// by the last write, so an install cut short is finished at the next start
/// ([`interrupted_install`]) instead of leaving half a state behind.
pub fn install(db: &Arc<DB>, mut file: File, meta: &SnapshotMeta) -> Result<(), io::Error> {
    use std::io::Seek;
    begin_install(db, meta)?;
    let cf_data = cf(db, CF_SM_DATA)?;
    let cf_meta = cf(db, CF_SM_META)?;
    let cf_raft = cf(db, CF_RAFT_META)?;
    file.rewind()?;
    let mut chunk = WriteBatch::default();
    let mut failure = None;
    read_records(file, |(tag, key, value)| {
        let family = if tag == TAG_SM_DATA { cf_data } else { cf_meta };
        chunk.put_cf(family, key, value);
        if failure.is_none() && chunk.size_in_bytes() >= INSTALL_CHUNK_BYTES {
            failure = db.write(std::mem::take(&mut chunk)).err();
        }
    })?;
    if let Some(error) = failure {
        return Err(rocks_err(error));
    }
    chunk.delete_cf(cf_raft, INSTALLING_KEY);
    db.write(chunk).map_err(rocks_err)?;
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

fn write_header(out: &mut impl Write, meta: &SnapshotMeta) -> Result<(), io::Error> {
    out.write_all(MAGIC)?;
    out.write_all(&[FORMAT_VERSION])?;
    let encoded = codec::encode(meta)?;
    write_len(out, encoded.len())?;
    out.write_all(&encoded)
}

/// The snapshot's meta and format version.
fn read_header(reader: &mut impl Read) -> Result<(SnapshotMeta, u8), io::Error> {
    let mut magic = [0u8; 8];
    reader.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(invalid("not a qraft snapshot file".into()));
    }
    let version = read_u8(reader)?;
    if ![FORMAT_VERSION, UNCOMPRESSED_VERSION, UNCHECKED_VERSION].contains(&version) {
        return Err(invalid(format!("snapshot format {version} is not supported")));
    }
    Ok((codec::decode(&read_block(reader)?)?, version))
}

fn write_record(out: &mut impl Write, tag: u8, key: &[u8], value: &[u8]) -> Result<(), io::Error> {
    out.write_all(&[tag])?;
    write_len(out, key.len())?;
    out.write_all(key)?;
    write_len(out, value.len())?;
    out.write_all(value)
}

fn write_len(out: &mut impl Write, len: usize) -> Result<(), io::Error> {
    let len = u32::try_from(len).map_err(|_| invalid(format!("record of {len} bytes is too large")))?;
    out.write_all(&len.to_be_bytes())
}

fn read_block(reader: &mut impl Read) -> Result<Vec<u8>, io::Error> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    // Grow with the data rather than trusting the length: a damaged file must not allocate 4 GiB.
    let mut block = Vec::new();
    reader.take(len as u64).read_to_end(&mut block)?;
    if block.len() != len {
        return Err(invalid("snapshot ends in the middle of a record".into()));
    }
    Ok(block)
}

fn read_u8(reader: &mut impl Read) -> Result<u8, io::Error> {
    let mut byte = [0u8; 1];
    reader.read_exact(&mut byte)?;
    Ok(byte[0])
}

fn read_u64(reader: &mut impl Read) -> Result<u64, io::Error> {
    let mut bytes = [0u8; 8];
    reader.read_exact(&mut bytes)?;
    Ok(u64::from_be_bytes(bytes))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::TypeConfig;

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(openraft::testing::log_id::<TypeConfig>(1, 3, index)),
            last_membership: Default::default(),
        }
    }

    /// A complete snapshot covering `index` with `records`, published from a temp file.
    fn publish_with(dir: &Path, index: u64, records: &[Record]) -> SnapshotFile {
        let tmp = dir.join(format!("test-{index}.tmp"));
        let mut out =
            SnapshotWriter::start(File::create(&tmp).expect("create"), &meta(index)).expect("header");
        for (tag, key, value) in records {
            out.record(*tag, key, value).expect("record");
        }
        out.finish().expect("end");
        publish(&tmp, dir, &meta(index)).expect("publish")
    }

    /// Every record of a snapshot file, after checking it whole.
    fn read_all(file: File) -> Result<(SnapshotMeta, Vec<Record>), io::Error> {
        let mut records = Vec::new();
        let meta = read_records(file, |record| records.push(record))?;
        Ok((meta, records))
    }

    fn publish_empty(dir: &Path, index: u64) -> SnapshotFile {
        publish_with(dir, index, &[])
    }

    #[test]
    fn a_damaged_snapshot_is_refused_before_anything_is_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Values that do not compress, so each is in the file as it is.
        let value = |i: u32| format!("{:x}", Sha256::digest(i.to_be_bytes())).into_bytes();
        let records: Vec<Record> = (0..50u32)
            .map(|i| (TAG_SM_DATA, i.to_be_bytes().to_vec(), value(i)))
            .collect();
        let good = publish_with(dir.path(), 10, &records);
        let (_, read) = read_all(File::open(&good.path).expect("open")).expect("intact");
        assert_eq!(read, records);
        assert_eq!(
            verify(File::open(&good.path).expect("open")).expect("intact"),
            meta(10)
        );

        // One flipped bit in the middle of a value keeps the framing intact: only the
        // checksum can tell.
        let mut bytes = fs::read(&good.path).expect("read");
        let at = bytes
            .windows(64)
            .position(|w| w == value(2).as_slice())
            .expect("a value in the file");
        bytes[at + 5] ^= 0x01;
        let damaged = dir.path().join("damaged.qsnap");
        fs::write(&damaged, &bytes).expect("write");
        for error in [
            read_all(File::open(&damaged).expect("open")).map(|_| ()),
            verify(File::open(&damaged).expect("open")).map(|_| ()),
        ] {
            let error = error.expect_err("refused");
            assert!(error.to_string().contains("checksum"), "{error}");
        }
    }

    fn storage(dir: &Path) -> crate::raft::persist::storage::Storage {
        let identity = crate::raft::persist::storage::Identity {
            cluster_name: "test".into(),
            node_id: 1,
        };
        crate::raft::persist::storage::Storage::open(dir, &identity).expect("storage")
    }

    fn data_keys(db: &DB) -> usize {
        let family = cf(db, CF_SM_DATA).expect("cf");
        db.iterator_cf(family, IteratorMode::Start).count()
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

    /// In the child: writes a snapshot of `SNAPSHOT_MIB` one record at a time, installs it,
    /// and prints how much the process's peak resident memory grew during the install.
    fn measure_install(dir: &Path) {
        let storage = storage(&dir.join("db"));
        let snapshots = dir.join("snapshots");
        create_dir_durably(&snapshots).expect("dir");
        let tmp = snapshots.join("building.tmp");
        let file = BufWriter::new(File::create(&tmp).expect("create"));
        let mut out = SnapshotWriter::start(file, &meta(10)).expect("header");
        let value = vec![b'x'; 1 << 20];
        for i in 0..SNAPSHOT_MIB as u32 {
            out.record(TAG_SM_DATA, &i.to_be_bytes(), &value).expect("record");
        }
        let mut file = out.finish().expect("finish");
        file.flush().expect("flush");
        drop(file);
        let published = publish(&tmp, &snapshots, &meta(10)).expect("publish");
        let before = peak_resident();
        install(&storage.db, published.file, &meta(10)).expect("install");
        let grew = peak_resident().saturating_sub(before);
        assert_eq!(data_keys(&storage.db), SNAPSHOT_MIB);
        println!("install grew the peak by {grew} bytes");
    }

    /// Installing a 256 MiB snapshot raises the process's peak memory by a bounded amount
    /// (RocksDB's memtables, and one chunk), not by the snapshot's size once or more times, as
    /// reading all its records and writing them in one batch did. Peak memory is per process, so
    /// the install runs in a child process of this test binary that runs nothing else.
    #[test]
    fn an_install_holds_bounded_memory_whatever_the_snapshot_size() {
        if let Ok(dir) = std::env::var(MEASURED_INSTALL) {
            measure_install(Path::new(&dir));
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
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
        assert!(
            grew < (SNAPSHOT_MIB << 20) * 3 / 4,
            "installing a {SNAPSHOT_MIB} MiB snapshot grew the peak by {} MiB",
            grew >> 20
        );
    }

    #[test]
    fn an_install_cut_short_is_found_and_finished_from_the_stored_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = storage(&dir.path().join("db"));
        let snapshots = dir.path().join("snapshots");
        create_dir_durably(&snapshots).expect("dir");
        let records: Vec<Record> = (0..5u32)
            .map(|i| (TAG_SM_DATA, i.to_be_bytes().to_vec(), b"task".to_vec()))
            .collect();
        publish_with(&snapshots, 5, &records);
        // A stop right after the install began: the old state is gone, the new not yet there.
        begin_install(&storage.db, &meta(5)).expect("begin");
        assert_eq!(data_keys(&storage.db), 0);
        let cut_short = interrupted_install(&storage.db).expect("read").expect("marked");
        let (stored, file) = newest(&snapshots).expect("newest").expect("the stored copy");
        assert_eq!((cut_short, stored.clone()), (meta(5), meta(5)));
        install(&storage.db, file, &stored).expect("finished");
        assert_eq!(data_keys(&storage.db), 5);
        assert_eq!(interrupted_install(&storage.db).expect("read"), None);
    }

    #[test]
    fn a_received_snapshot_is_stored_only_if_whole_and_the_one_announced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let records: Vec<Record> = (0..20u32)
            .map(|i| {
                (
                    TAG_SM_DATA,
                    i.to_be_bytes().to_vec(),
                    format!("value {i}").into_bytes(),
                )
            })
            .collect();
        let sent = publish_with(dir.path(), 3, &records);
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
        let left: Vec<_> = fs::read_dir(&received)
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(left, [stored.path], "nothing else stored, no temp file left");
    }

    /// A file of an older, uncompressed format up to its record count: `version`'s header and
    /// one record (the caller appends the checksum of a format that has one).
    fn write_uncompressed(out: &mut impl Write, version: u8, meta: &SnapshotMeta, record: &Record) {
        out.write_all(MAGIC).expect("magic");
        out.write_all(&[version]).expect("version");
        let encoded = codec::encode(meta).expect("meta");
        write_len(out, encoded.len()).expect("len");
        out.write_all(&encoded).expect("meta");
        write_record(out, record.0, &record.1, &record.2).expect("record");
        out.write_all(&[TAG_END]).expect("end");
        out.write_all(&1u64.to_be_bytes()).expect("count");
    }

    #[test]
    fn a_snapshot_written_before_compression_is_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v2.qsnap");
        let mut out = Hashing::new(File::create(&path).expect("create"));
        let record = (TAG_SM_DATA, b"t1".to_vec(), b"task".to_vec());
        write_uncompressed(&mut out, UNCOMPRESSED_VERSION, &meta(8), &record);
        let (mut file, digest) = out.finish();
        file.write_all(&digest).expect("digest");
        drop(file);
        let (read_meta, records) = read_all(File::open(&path).expect("open")).expect("read");
        assert_eq!(
            (read_meta, records),
            (meta(8), vec![(TAG_SM_DATA, b"t1".to_vec(), b"task".to_vec())])
        );
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).expect("write");
        let damaged = read_all(File::open(&path).expect("open")).expect_err("refused");
        assert!(damaged.to_string().contains("checksum"), "{damaged}");
    }

    #[test]
    fn a_snapshot_written_before_checksums_is_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v1.qsnap");
        let mut out = File::create(&path).expect("create");
        let record = (TAG_SM_META, b"k".to_vec(), b"v".to_vec());
        write_uncompressed(&mut out, UNCHECKED_VERSION, &meta(7), &record);
        drop(out);
        let (read_meta, records) = read_all(File::open(&path).expect("open")).expect("read");
        assert_eq!(
            (read_meta, records),
            (meta(7), vec![(TAG_SM_META, b"k".to_vec(), b"v".to_vec())])
        );
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
        let (read_meta, records) = read_all(built.file).expect("the handle still reads");
        assert_eq!((read_meta, records.len()), (meta(1262), 0));
    }
}
