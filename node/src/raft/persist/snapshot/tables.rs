//! A snapshot's state as RocksDB table files (SSTs): written from a point-in-time view, and
//! handed whole to the installing node's RocksDB, which takes them into its tree as they are
//! (ingestion) instead of writing every record again through its log and memtables.
//!
//! The tables are not the sending node's own files: RocksDB's C API, the one the Rust binding
//! wraps, can export a column family's files but not import files another database made, so the
//! view is written out into fresh tables, which any RocksDB can ingest. RocksDB writes them to
//! files of their own, which are then copied into the one file that carries the snapshot: each
//! table is written twice by the sender (measured at 10 M tasks, still half the time of writing
//! and reading records).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};

use rocksdb::{
    BottommostLevelCompaction, CompactOptions, DB, IngestExternalFileOptions, Options, ReadOptions,
    SnapshotWithThreadMode, SstFileWriter,
};

use super::format::{Contents, TAG_SM_DATA, TAG_SM_META};
use crate::raft::persist::storage::{CF_SM_DATA, CF_SM_META, cf, rocks_err};

/// Bytes RocksDB reads ahead while the view is walked in order.
const READ_AHEAD: usize = 4 << 20;

/// The column family a tag stands for.
fn family(tag: u8) -> &'static str {
    if tag == TAG_SM_DATA {
        CF_SM_DATA
    } else {
        CF_SM_META
    }
}

/// Table files of a snapshot being written or installed, in a scratch directory on the data's
/// own file system; removed when dropped (ingestion moves them into the database first).
pub struct Tables {
    pub files: Vec<(u8, PathBuf)>,
}

impl Tables {
    /// Writes every record of the state machine as `view` sees it into table files under
    /// `scratch`, one per column family that holds any.
    pub fn write(db: &DB, view: &SnapshotWithThreadMode<'_, DB>, scratch: &Path) -> io::Result<Tables> {
        let mut tables = Tables { files: Vec::new() };
        let mut options = Options::default();
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        for tag in [TAG_SM_DATA, TAG_SM_META] {
            let path = scratch_path(scratch, tag);
            let mut writer = SstFileWriter::create(&options);
            writer.open(&path).map_err(rocks_err)?;
            tables.files.push((tag, path));
            let mut read = ReadOptions::default();
            read.fill_cache(false);
            read.set_readahead_size(READ_AHEAD);
            let mut records = view.raw_iterator_cf_opt(cf(db, family(tag))?, read);
            records.seek_to_first();
            let mut any = false;
            while let (Some(key), Some(value)) = (records.key(), records.value()) {
                writer.put(key, value).map_err(rocks_err)?;
                any = true;
                records.next();
            }
            records.status().map_err(rocks_err)?;
            if any {
                writer.finish().map_err(rocks_err)?;
            } else {
                // RocksDB writes no table without records.
                drop(writer);
                tables.remove(tag);
            }
        }
        Ok(tables)
    }

    /// Moves the tables into the state machine's column families, which the caller emptied.
    /// Each is taken whole or not at all; the caller's install mark covers a stop in between.
    ///
    /// The emptied families are compacted first, which drops what the caller deleted: a table
    /// then goes to the bottom of the tree, where no compaction rewrites it again, instead of
    /// above the deletion, where one would rewrite it and the old state together.
    pub fn ingest(&self, db: &DB) -> io::Result<()> {
        // Forced: a lone file would otherwise be moved down whole, deletion and all.
        let mut compact = CompactOptions::default();
        compact.set_bottommost_level_compaction(BottommostLevelCompaction::Force);
        for name in [CF_SM_DATA, CF_SM_META] {
            db.compact_range_cf_opt(cf(db, name)?, None::<&[u8]>, None::<&[u8]>, &compact);
        }
        let mut options = IngestExternalFileOptions::default();
        options.set_move_files(true);
        for (tag, path) in &self.files {
            db.ingest_external_file_cf_opts(cf(db, family(*tag))?, &options, vec![path])
                .map_err(rocks_err)?;
        }
        Ok(())
    }

    fn remove(&mut self, tag: u8) {
        self.files.retain(|(t, path)| {
            if *t == tag {
                let _ = fs::remove_file(path);
            }
            *t != tag
        });
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        for (_, path) in &self.files {
            let _ = fs::remove_file(path);
        }
    }
}

/// Reads the tables of a snapshot out into files under `scratch`, for [`Tables::ingest`].
pub struct Extract<'a> {
    pub scratch: &'a Path,
    pub tables: Tables,
}

impl Contents for Extract<'_> {
    fn table(&mut self, tag: u8, table: &mut dyn Read) -> io::Result<()> {
        let path = scratch_path(self.scratch, tag);
        self.tables.files.push((tag, path.clone()));
        let mut out = BufWriter::new(File::create(&path)?);
        io::copy(table, &mut out)?;
        // RocksDB syncs the files it ingests.
        out.into_inner().map_err(|e| e.into_error())?;
        Ok(())
    }
}

/// A name the stale-file sweep of the snapshot directory recognises (`.tmp`).
fn scratch_path(scratch: &Path, tag: u8) -> PathBuf {
    scratch.join(format!("table-{}-{tag}.sst.tmp", ulid::Ulid::new()))
}
