//! The Raft log and vote in RocksDB ([`LogStore`]).
//!
//! Durability rules (openraft's, and the ones that cost other projects data): an append is
//! reported flushed only after the WAL sync that covers it (group-committed by [`Syncer`]); a
//! vote is synced before `save_vote` returns; all writes go through the one WAL in call order,
//! so a sync never leaves a hole behind it.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader};
use rocksdb::{DB, Direction, IteratorMode, WriteBatch};

use super::codec;
use super::storage::{CF_LOG, CF_RAFT_META, cf, rocks_err};
use super::syncer::Syncer;
use crate::raft::types::{Entry, LogId, TypeConfig, Vote};

/// Most bytes of encoded entries one replication read returns (always at least one entry): an
/// append to a lagging follower stays far below the transport's message limit however many
/// large batches it is behind, instead of wedging on one message it can never send.
pub const MAX_REPLICATION_BYTES: usize = 16 * 1024 * 1024;

const VOTE_KEY: &[u8] = b"vote";
const LAST_PURGED_KEY: &[u8] = b"last_purged";

#[derive(Clone)]
pub struct LogStore {
    db: Arc<DB>,
    syncer: Syncer,
}

impl LogStore {
    pub fn new(db: Arc<DB>, syncer: Syncer) -> Result<LogStore, io::Error> {
        cf(&db, CF_LOG)?;
        cf(&db, CF_RAFT_META)?;
        Ok(LogStore { db, syncer })
    }

    fn get_meta<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, io::Error> {
        let bytes = self
            .db
            .get_cf(cf(&self.db, CF_RAFT_META)?, key)
            .map_err(rocks_err)?;
        bytes.map(|b| codec::decode(&b)).transpose()
    }

    fn put_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<(), io::Error> {
        self.db
            .put_cf(cf(&self.db, CF_RAFT_META)?, key, codec::encode(value)?)
            .map_err(rocks_err)
    }

    fn last_entry_log_id(&self) -> Result<Option<LogId>, io::Error> {
        let mut iter = self.db.iterator_cf(cf(&self.db, CF_LOG)?, IteratorMode::End);
        match iter.next() {
            None => Ok(None),
            Some(item) => {
                let (_, bytes) = item.map_err(rocks_err)?;
                let entry: Entry = codec::decode(&bytes)?;
                Ok(Some(entry.log_id()))
            }
        }
    }
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn key_index(key: &[u8]) -> Result<u64, io::Error> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "log key is not 8 bytes"))?;
    Ok(u64::from_be_bytes(bytes))
}

impl LogStore {
    /// The entries in `range`, in order, stopping before the one that would take their encoded
    /// size past `budget` bytes (the first is always returned).
    fn read_entries(&self, range: impl RangeBounds<u64>, budget: usize) -> Result<Vec<Entry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(x) => *x,
            Bound::Excluded(x) => x.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let cf_log = cf(&self.db, CF_LOG)?;
        let mut entries = Vec::new();
        let mut bytes_read = 0usize;
        let from = index_key(start);
        for item in self
            .db
            .iterator_cf(cf_log, IteratorMode::From(&from, Direction::Forward))
        {
            let (key, bytes) = item.map_err(rocks_err)?;
            let index = key_index(&key)?;
            if !range.contains(&index) {
                break;
            }
            bytes_read = bytes_read.saturating_add(bytes.len());
            if !entries.is_empty() && bytes_read > budget {
                break;
            }
            let entry: Entry = codec::decode(&bytes)?;
            if entry.index() != index {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "log entry stored under index {index} says it is {}",
                        entry.index()
                    ),
                ));
            }
            entries.push(entry);
        }
        Ok(entries)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        self.read_entries(range, usize::MAX)
    }

    /// What replication sends in one append: bounded in bytes, not only in entries.
    async fn limited_get_log_entries(&mut self, start: u64, end: u64) -> Result<Vec<Entry>, io::Error> {
        self.read_entries(start..end, MAX_REPLICATION_BYTES)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.get_meta(VOTE_KEY)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let last_purged_log_id: Option<LogId> = self.get_meta(LAST_PURGED_KEY)?;
        let last_log_id = self.last_entry_log_id()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.put_meta(VOTE_KEY, vote)?;
        self.syncer.sync().await
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
    {
        let cf_log = cf(&self.db, CF_LOG)?;
        let mut batch = WriteBatch::default();
        for entry in entries {
            batch.put_cf(cf_log, index_key(entry.index()), codec::encode(&entry)?);
        }
        // Written now, so the entries can be read as soon as this returns; durable only after the
        // syncer's next fsync, which is when openraft hears about it.
        self.db.write(batch).map_err(rocks_err)?;
        self.syncer.after_sync(callback);
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |id| id.index() + 1);
        self.db
            .delete_range_cf(cf(&self.db, CF_LOG)?, index_key(from), index_key(u64::MAX))
            .map_err(rocks_err)?;
        // u64::MAX itself is outside the range above.
        self.db
            .delete_cf(cf(&self.db, CF_LOG)?, index_key(u64::MAX))
            .map_err(rocks_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        // The marker goes first: entries at or below it are ignored from then on, so a crash
        // between the two writes leaves nothing openraft could misread.
        self.put_meta(LAST_PURGED_KEY, &log_id)?;
        self.db
            .delete_range_cf(cf(&self.db, CF_LOG)?, index_key(0), index_key(log_id.index() + 1))
            .map_err(rocks_err)
    }
}
