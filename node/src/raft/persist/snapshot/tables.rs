//! Installing a snapshot through RocksDB tables: its records, which come in key order per
//! column family, are written into one table file (SST) per column family as they are read,
//! and the tables are handed whole to RocksDB (ingestion), instead of every record going
//! through its log, memtables and compactions. The tables are written beside the snapshot, on
//! the database's file system, and moved into the database.
//!
//! The sending node does not send tables: RocksDB's C API, all the Rust binding reaches, can
//! export a column family's files but not import another database's, and writing fresh tables
//! there as well as the file that carries them made building a snapshot cost twice the disk
//! traffic, on every node, every time, for an install that is rare.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rocksdb::{
    BottommostLevelCompaction, CompactOptions, DB, DBCompressionType, IngestExternalFileOptions, Options,
    SstFileWriter,
};

use super::format::{Contents, Record, TAG_SM_DATA, TAG_SM_META};
use crate::raft::persist::storage::{CF_SM_DATA, CF_SM_META, cf, rocks_err};

/// The column family a tag stands for.
fn family(tag: u8) -> &'static str {
    if tag == TAG_SM_DATA {
        CF_SM_DATA
    } else {
        CF_SM_META
    }
}

/// Options of the tables written; `Tables` borrows them.
pub fn table_options() -> Options {
    let mut options = Options::default();
    options.set_compression_type(DBCompressionType::Lz4);
    options
}

/// One column family's table being written.
struct Table<'a> {
    tag: u8,
    path: PathBuf,
    writer: SstFileWriter<'a>,
    records: u64,
}

/// The tables of a snapshot being installed, written from its records as they are read
/// ([`Contents`]); removed when dropped (ingestion moves them into the database first).
pub struct Tables<'a> {
    options: &'a Options,
    scratch: &'a Path,
    open: Vec<Table<'a>>,
    /// Finished tables, each with its column family's tag.
    done: Vec<(u8, PathBuf)>,
}

impl<'a> Tables<'a> {
    pub fn new(options: &'a Options, scratch: &'a Path) -> Tables<'a> {
        Tables {
            options,
            scratch,
            open: Vec::new(),
            done: Vec::new(),
        }
    }

    /// Finishes every table (a column family without records has none). Call once the
    /// snapshot was read whole and checked.
    pub fn finish(&mut self) -> io::Result<()> {
        for mut table in std::mem::take(&mut self.open) {
            if table.records > 0 {
                table.writer.finish().map_err(rocks_err)?;
                self.done.push((table.tag, table.path));
            } else {
                drop(table.writer);
                let _ = fs::remove_file(&table.path);
            }
        }
        Ok(())
    }

    /// Moves the finished tables into the state machine's column families, which the caller
    /// emptied. Each is taken whole or not at all; the caller's install mark covers a stop in
    /// between.
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
        for (tag, path) in &self.done {
            db.ingest_external_file_cf_opts(cf(db, family(*tag))?, &options, vec![path])
                .map_err(rocks_err)?;
        }
        Ok(())
    }

    fn table(&mut self, tag: u8) -> io::Result<&mut Table<'a>> {
        if let Some(at) = self.open.iter().position(|t| t.tag == tag) {
            return Ok(&mut self.open[at]);
        }
        // A name the stale-file sweep of the snapshot directory recognises (`.tmp`).
        let path = self
            .scratch
            .join(format!("table-{}-{tag}.sst.tmp", ulid::Ulid::new()));
        let writer = SstFileWriter::create(self.options);
        writer.open(&path).map_err(rocks_err)?;
        self.open.push(Table {
            tag,
            path,
            writer,
            records: 0,
        });
        Ok(self.open.last_mut().expect("pushed above"))
    }
}

impl Contents for Tables<'_> {
    fn record(&mut self, (tag, key, value): Record) -> io::Result<()> {
        if tag != TAG_SM_DATA && tag != TAG_SM_META {
            return Err(super::format::invalid(format!(
                "unknown snapshot record tag {tag}"
            )));
        }
        let table = self.table(tag)?;
        // RocksDB refuses a key that is not after the one before: a snapshot out of order is
        // damaged, and is refused as such.
        table.writer.put(&key, &value).map_err(|e| {
            super::format::invalid(format!("snapshot records out of key order, or unwritable: {e}"))
        })?;
        table.records += 1;
        Ok(())
    }
}

impl Drop for Tables<'_> {
    fn drop(&mut self) {
        for table in self.open.drain(..) {
            drop(table.writer);
            let _ = fs::remove_file(&table.path);
        }
        for (_, path) in &self.done {
            let _ = fs::remove_file(path);
        }
    }
}
