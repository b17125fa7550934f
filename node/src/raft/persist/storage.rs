//! The node's one RocksDB: opening it with its column families, and the identity record that
//! stops a data directory from being used by the wrong node or cluster.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DB, DBRecoveryMode, Options};
use serde::{Deserialize, Serialize};

use super::codec;

/// Raft log entries, keyed by big-endian index.
pub const CF_LOG: &str = "raft_log";
/// Vote, last purged log id, node identity.
pub const CF_RAFT_META: &str = "raft_meta";
/// State machine records: tasks, keyed by a one-byte kind and the task id.
pub const CF_SM_DATA: &str = "sm_data";
/// State machine scalars: last applied log id, membership, cluster clock.
pub const CF_SM_META: &str = "sm_meta";

const COLUMN_FAMILIES: [&str; 4] = [CF_LOG, CF_RAFT_META, CF_SM_DATA, CF_SM_META];
const IDENTITY_KEY: &[u8] = b"identity";
/// Present once the node was started with `--join`: it must never form a cluster of its own.
const JOINING_KEY: &[u8] = b"joining";
/// The log index a node that started without its data must apply before it votes again.
const WITHHOLD_VOTES_KEY: &[u8] = b"withhold_votes_until";

/// Who a data directory belongs to; written on first start, checked on every start after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub cluster_name: String,
    pub node_id: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot open the database in {dir}: {error}")]
    Open { dir: PathBuf, error: rocksdb::Error },
    #[error("cannot create the data directory {dir}: {error}")]
    Create { dir: PathBuf, error: io::Error },
    #[error(
        "the data directory {dir} belongs to node {found} of cluster {found_cluster:?}, not node {wanted} of cluster {wanted_cluster:?}; \
         point --data at this node's own directory, or at an empty one to join afresh"
    )]
    WrongIdentity {
        dir: PathBuf,
        found: u64,
        found_cluster: String,
        wanted: u64,
        wanted_cluster: String,
    },
    #[error("the data directory {dir} is damaged: {error}")]
    Corrupt { dir: PathBuf, error: io::Error },
}

/// RocksDB's own memory, the same whatever the backlog: one block cache for every column
/// family, and one budget for all their memtables (past it, the largest is flushed).
const BLOCK_CACHE_BYTES: usize = 64 << 20;
const MEMTABLE_BYTES: usize = 256 << 20;

/// Options of every column family. Tables past the first two levels are LZ4-compressed:
/// records repeat queue and task names, and queues repeat args, so a large backlog shrinks to a
/// fraction on disk; the first levels,
/// written by every memtable flush and mostly deleted again (the log, finished tasks), are not,
/// which keeps compression's CPU off the write path. Tables written before stay readable.
fn column_family_options(cache: &Cache) -> Options {
    use rocksdb::DBCompressionType::{Lz4, None as Plain};
    let mut tables = BlockBasedOptions::default();
    tables.set_block_cache(cache);
    let mut options = Options::default();
    options.set_block_based_table_factory(&tables);
    options.set_compression_per_level(&[Plain, Plain, Lz4, Lz4, Lz4, Lz4, Lz4]);
    options
}

/// An open node database plus where its snapshots live.
#[derive(Clone)]
pub struct Storage {
    pub db: Arc<DB>,
    pub dir: PathBuf,
}

impl Storage {
    /// Opens (or creates) the database under `dir` and checks that it belongs to `identity`.
    pub fn open(dir: &Path, identity: &Identity) -> Result<Storage, StorageError> {
        create_dir_durably(dir).map_err(|error| StorageError::Create {
            dir: dir.to_path_buf(),
            error,
        })?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // A torn last record (a crash mid-write) is dropped as never written; damage anywhere
        // before it refuses to open, instead of silently dropping every acknowledged write
        // after it (RocksDB's default, point-in-time recovery).
        options.set_wal_recovery_mode(DBRecoveryMode::TolerateCorruptedTailRecords);
        // One WAL for all column families: a durable write implies every earlier write is durable,
        // which is what lets the state machine skip its own fsync (see ARCHITECTURE.md).
        options.set_max_total_wal_size(256 * 1024 * 1024);
        options.set_db_write_buffer_size(MEMTABLE_BYTES);
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let descriptors = COLUMN_FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, column_family_options(&cache)));
        let db_dir = dir.join("db");
        let db =
            DB::open_cf_descriptors(&options, &db_dir, descriptors).map_err(|error| StorageError::Open {
                dir: db_dir.clone(),
                error,
            })?;
        let storage = Storage {
            db: Arc::new(db),
            dir: dir.to_path_buf(),
        };
        storage.must_match_identity(identity)?;
        Ok(storage)
    }

    pub fn snapshot_dir(&self) -> PathBuf {
        self.dir.join("snapshots")
    }

    /// Records, durably, that this node joins an existing cluster, so that a restart without
    /// `--join` before the leader reached it still never initialises a cluster of its own.
    pub fn mark_joining(&self) -> io::Result<()> {
        let cf = cf(&self.db, CF_RAFT_META)?;
        self.db
            .put_cf(cf, JOINING_KEY, [1])
            .and_then(|()| self.db.flush_wal(true))
            .map_err(rocks_err)
    }

    pub fn is_joining(&self) -> io::Result<bool> {
        let cf = cf(&self.db, CF_RAFT_META)?;
        Ok(self.db.get_cf(cf, JOINING_KEY).map_err(rocks_err)?.is_some())
    }

    /// Records, durably, that this node votes again only once it has applied `index`: a
    /// restart half-way must not let it vote with a log that lacks what it once acknowledged.
    pub fn withhold_votes_until(&self, index: u64) -> io::Result<()> {
        let cf = cf(&self.db, CF_RAFT_META)?;
        self.db
            .put_cf(cf, WITHHOLD_VOTES_KEY, index.to_be_bytes())
            .and_then(|()| self.db.flush_wal(true))
            .map_err(rocks_err)
    }

    /// The index this node must apply before it votes, if it is still catching up.
    pub fn votes_withheld_until(&self) -> io::Result<Option<u64>> {
        let cf = cf(&self.db, CF_RAFT_META)?;
        let Some(bytes) = self.db.get_cf(cf, WITHHOLD_VOTES_KEY).map_err(rocks_err)? else {
            return Ok(None);
        };
        let bytes: [u8; 8] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad withheld-votes record"))?;
        Ok(Some(u64::from_be_bytes(bytes)))
    }

    pub fn stop_withholding_votes(&self) -> io::Result<()> {
        let cf = cf(&self.db, CF_RAFT_META)?;
        self.db
            .delete_cf(cf, WITHHOLD_VOTES_KEY)
            .and_then(|()| self.db.flush_wal(true))
            .map_err(rocks_err)
    }

    fn must_match_identity(&self, wanted: &Identity) -> Result<(), StorageError> {
        let corrupt = |error: io::Error| StorageError::Corrupt {
            dir: self.dir.clone(),
            error,
        };
        let cf = cf(&self.db, CF_RAFT_META).map_err(corrupt)?;
        let stored = self
            .db
            .get_cf(cf, IDENTITY_KEY)
            .map_err(|e| corrupt(io::Error::other(e)))?;
        match stored {
            Some(bytes) => {
                let found: Identity = codec::decode(&bytes).map_err(corrupt)?;
                if &found != wanted {
                    return Err(StorageError::WrongIdentity {
                        dir: self.dir.clone(),
                        found: found.node_id,
                        found_cluster: found.cluster_name,
                        wanted: wanted.node_id,
                        wanted_cluster: wanted.cluster_name.clone(),
                    });
                }
                Ok(())
            }
            None => {
                let bytes = codec::encode(wanted).map_err(corrupt)?;
                self.db
                    .put_cf(cf, IDENTITY_KEY, bytes)
                    .and_then(|()| self.db.flush_wal(true))
                    .map_err(|e| corrupt(io::Error::other(e)))
            }
        }
    }
}

/// Creates `dir` (and its missing parents) and fsyncs each new directory's parent, so that the
/// directory itself survives a power loss, not only the files later synced inside it.
pub fn create_dir_durably(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        missing.push(path);
        at = path.parent();
    }
    std::fs::create_dir_all(dir)?;
    for created in missing.into_iter().rev() {
        let parent = created
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// A column family handle; its absence means the database was not opened by [`Storage::open`].
pub fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a rocksdb::ColumnFamily, io::Error> {
    db.cf_handle(name)
        .ok_or_else(|| io::Error::other(format!("column family {name} is missing")))
}

pub fn rocks_err(e: rocksdb::Error) -> io::Error {
    io::Error::other(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            cluster_name: "test".into(),
            node_id: 1,
        }
    }

    /// Copies a directory tree: what a crash leaves on disk is the files as they are.
    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("type").is_dir() {
                copy_tree(&entry.path(), &target);
            } else if entry.file_name() != "LOCK" {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }

    #[test]
    fn a_wal_damaged_in_the_middle_refuses_to_open_instead_of_dropping_what_follows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("live");
        let storage = Storage::open(&live, &identity()).expect("open");
        let cf = cf(&storage.db, CF_LOG).expect("cf");
        for index in 0..200u64 {
            storage
                .db
                .put_cf(cf, index.to_be_bytes(), vec![b'e'; 1000])
                .expect("put");
            storage.db.flush_wal(true).expect("sync");
        }
        // The node "crashes" here: its files are copied as they are, then one byte in the middle
        // of the log of synced writes is damaged.
        let crashed = dir.path().join("crashed");
        copy_tree(&live, &crashed);
        let wal = std::fs::read_dir(crashed.join("db"))
            .expect("db dir")
            .map(|e| e.expect("entry").path())
            .find(|p| p.extension().is_some_and(|e| e == "log"))
            .expect("a WAL file");
        let mut bytes = std::fs::read(&wal).expect("read WAL");
        assert!(bytes.len() > 100_000, "every write is still in the WAL");
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xFF;
        std::fs::write(&wal, bytes).expect("write WAL");
        match Storage::open(&crashed, &identity()) {
            Ok(_) => panic!("a WAL damaged before its last record must not open"),
            Err(e) => assert!(e.to_string().to_lowercase().contains("corrupt"), "{e}"),
        }
    }

    #[test]
    fn new_directories_are_created_with_their_parents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deep = dir.path().join("a/b/c");
        create_dir_durably(&deep).expect("create");
        assert!(deep.is_dir());
        create_dir_durably(&deep).expect("an existing directory is fine");
    }
}
