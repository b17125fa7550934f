//! Snapshots of the older formats (versions 1 to 3), which hold records one by one: a node
//! still installs one stored or sent before tables replaced them.

use std::fs::File;
use std::io;
use std::sync::Arc;

use rocksdb::{DB, WriteBatch};

use super::format::{self, Contents, Record, TAG_SM_DATA};
use crate::raft::persist::storage::{CF_SM_DATA, CF_SM_META, cf, rocks_err};
use crate::raft::types::SnapshotMeta;

/// Bytes of records handed to RocksDB at once while installing.
const INSTALL_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Writes the records of the snapshot `file` into the emptied state machine, a chunk at a
/// time, so memory stays bounded whatever the snapshot's size. The caller has begun the
/// install and completes it.
pub fn install(db: &Arc<DB>, file: File) -> io::Result<SnapshotMeta> {
    let mut chunks = Chunks {
        db,
        data: cf(db, CF_SM_DATA)?,
        meta: cf(db, CF_SM_META)?,
        chunk: WriteBatch::default(),
    };
    let meta = format::read(file, &mut chunks)?;
    db.write(chunks.chunk).map_err(rocks_err)?;
    Ok(meta)
}

struct Chunks<'a> {
    db: &'a DB,
    data: &'a rocksdb::ColumnFamily,
    meta: &'a rocksdb::ColumnFamily,
    chunk: WriteBatch,
}

impl Contents for Chunks<'_> {
    fn record(&mut self, (tag, key, value): Record) -> io::Result<()> {
        let family = if tag == TAG_SM_DATA { self.data } else { self.meta };
        self.chunk.put_cf(family, key, value);
        if self.chunk.size_in_bytes() >= INSTALL_CHUNK_BYTES {
            self.db
                .write(std::mem::take(&mut self.chunk))
                .map_err(rocks_err)?;
        }
        Ok(())
    }
}

/// Writes snapshots of the records formats, for the tests that read them.
#[cfg(test)]
pub mod tests {
    use std::io::Write;

    use lz4_flex::frame::FrameEncoder;

    use super::*;
    use crate::raft::persist::snapshot::format::{Hashing, MAGIC, TAG_END, write_len};

    /// A records-format file (version 3): the header, the records compressed, and the
    /// checksum of it all (of the bytes before compression, which is what a reader sees).
    pub fn write_compressed(out: impl Write, meta: &SnapshotMeta, records: &[Record]) {
        let mut head = Hashing::new(out);
        format::write_header(&mut head, meta, format::RECORDS_VERSION).expect("header");
        let (out, hasher) = head.into_parts();
        let mut body = Hashing::resume(FrameEncoder::new(out), hasher);
        write_list(&mut body, records);
        let (mut body, digest) = body.finish();
        body.write_all(&digest).expect("digest");
        body.finish().expect("frame").flush().expect("flush");
    }

    /// A file of an older, uncompressed format: `version`'s header, the records, and the
    /// checksum unless the format had none.
    pub fn write_uncompressed(out: impl Write, version: u8, meta: &SnapshotMeta, records: &[Record]) {
        let mut out = Hashing::new(out);
        out.write_all(MAGIC).expect("magic");
        out.write_all(&[version]).expect("version");
        let encoded = crate::raft::persist::codec::encode(meta).expect("meta");
        write_len(&mut out, encoded.len()).expect("len");
        out.write_all(&encoded).expect("meta");
        write_list(&mut out, records);
        let (mut out, digest) = out.finish();
        if version != format::UNCHECKED_VERSION {
            out.write_all(&digest).expect("digest");
        }
        out.flush().expect("flush");
    }

    fn write_list(out: &mut impl Write, records: &[Record]) {
        for (tag, key, value) in records {
            out.write_all(&[*tag]).expect("tag");
            write_len(out, key.len()).expect("len");
            out.write_all(key).expect("key");
            write_len(out, value.len()).expect("len");
            out.write_all(value).expect("value");
        }
        out.write_all(&[TAG_END]).expect("end");
        out.write_all(&(records.len() as u64).to_be_bytes())
            .expect("count");
    }
}
