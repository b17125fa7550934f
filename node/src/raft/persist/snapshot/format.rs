//! The snapshot file: its framing and checksum, written and read as a stream.
//!
//! Format, version 4: `QRAFTSNP`, version byte, `u32` length + encoded [`SnapshotMeta`], then
//! the tables: `tag u8` (which column family), `u64` length, the bytes of one RocksDB table
//! file (SST) holding that column family's records; the end tag, the `u64` table count, and
//! the SHA-256 of every byte before it. Integers are big-endian. The tables are compressed
//! block by block, so the file is as small as the state on disk, and a follower hands them to
//! RocksDB as they are ([`super::tables`]), without writing each record again.
//!
//! Versions 3 (records, LZ4-compressed), 2 (records, uncompressed) and 1 (records, without the
//! checksum) are still read: [`super::records`].
//!
//! A file whose checksum does not match is refused before anything is installed, so a
//! snapshot damaged on disk or on the way is found, not spread to the node that installs it.

use std::io::{self, BufReader, Read, Write};

use lz4_flex::frame::FrameDecoder;
use sha2::{Digest, Sha256};

use crate::raft::persist::codec;
use crate::raft::types::SnapshotMeta;

pub const MAGIC: &[u8; 8] = b"QRAFTSNP";
pub const TABLES_VERSION: u8 = 4;
pub const RECORDS_VERSION: u8 = 3;
/// Files written before records were compressed.
pub const UNCOMPRESSED_VERSION: u8 = 2;
/// Files written before snapshots carried a checksum.
pub const UNCHECKED_VERSION: u8 = 1;
pub const TAG_SM_DATA: u8 = 1;
pub const TAG_SM_META: u8 = 2;
pub const TAG_END: u8 = 0xFF;

/// One state machine record: which column family (tag), key, value.
pub type Record = (u8, Vec<u8>, Vec<u8>);

/// What a reader does with a snapshot's contents as they stream past. By default, nothing:
/// reading the file through is what checks it.
pub trait Contents {
    /// One record of a records-format snapshot.
    fn record(&mut self, _record: Record) -> io::Result<()> {
        Ok(())
    }

    /// One table of a tables-format snapshot; `table` reads its bytes and no more. What is
    /// left unread is skipped.
    fn table(&mut self, _tag: u8, _table: &mut dyn Read) -> io::Result<()> {
        Ok(())
    }
}

/// Reads a snapshot through: its contents are handed to `contents`, and the file is checked
/// whole (framing, counts, checksum). Returns the meta it covers.
pub fn read(file: impl Read, contents: &mut impl Contents) -> io::Result<SnapshotMeta> {
    let mut head = Hashing::new(BufReader::new(file));
    let (meta, version) = read_header(&mut head)?;
    let (file, hasher) = head.into_parts();
    if version == RECORDS_VERSION {
        // The checksum is inside the compressed stream, after the records it covers.
        let mut records = Hashing::resume(FrameDecoder::new(file), hasher);
        read_record_list(&mut records, contents)?;
        let (mut rest, digest) = records.finish();
        must_match(&mut rest, digest)?;
        must_end(&mut rest)?;
        return Ok(meta);
    }
    let mut body = Hashing::resume(file, hasher);
    if version == TABLES_VERSION {
        read_table_list(&mut body, contents)?;
    } else {
        read_record_list(&mut body, contents)?;
    }
    if version != UNCHECKED_VERSION {
        let (mut rest, digest) = body.finish();
        must_match(&mut rest, digest)?;
        must_end(&mut rest)?;
    }
    Ok(meta)
}

/// The format version of the snapshot `reader` starts with.
pub fn version(reader: impl Read) -> io::Result<u8> {
    read_header(&mut BufReader::new(reader)).map(|(_, version)| version)
}

/// The snapshot's meta, from its header alone.
pub fn meta(reader: impl Read) -> io::Result<SnapshotMeta> {
    read_header(&mut BufReader::new(reader)).map(|(meta, _)| meta)
}

/// Writes a tables-format snapshot: the header, each table, and the checksum of it all.
pub struct TablesWriter<W: Write> {
    out: Hashing<W>,
    count: u64,
}

impl<W: Write> TablesWriter<W> {
    pub fn start(out: W, meta: &SnapshotMeta) -> io::Result<Self> {
        let mut out = Hashing::new(out);
        write_header(&mut out, meta, TABLES_VERSION)?;
        Ok(TablesWriter { out, count: 0 })
    }

    pub fn table(&mut self, tag: u8, table: impl Read, len: u64) -> io::Result<()> {
        self.out.write_all(&[tag])?;
        self.out.write_all(&len.to_be_bytes())?;
        let copied = io::copy(&mut table.take(len), &mut self.out)?;
        if copied != len {
            return Err(invalid(format!("a table of {len} bytes ended after {copied}")));
        }
        self.count += 1;
        Ok(())
    }

    /// The end tag, the table count and the checksum; the file's writer, to be synced.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[TAG_END])?;
        self.out.write_all(&self.count.to_be_bytes())?;
        let (mut out, digest) = self.out.finish();
        out.write_all(&digest)?;
        Ok(out)
    }
}

fn read_table_list(reader: &mut impl Read, contents: &mut impl Contents) -> io::Result<()> {
    let mut found = 0u64;
    loop {
        match read_u8(reader)? {
            TAG_END => return must_count(read_u64(reader)?, found, "tables"),
            tag @ (TAG_SM_DATA | TAG_SM_META) => {
                let len = read_u64(reader)?;
                let mut table = reader.by_ref().take(len);
                contents.table(tag, &mut table)?;
                io::copy(&mut table, &mut io::sink())?;
                if table.limit() != 0 {
                    return Err(invalid("snapshot ends in the middle of a table".into()));
                }
                found += 1;
            }
            other => return Err(invalid(format!("unknown snapshot table tag {other}"))),
        }
    }
}

/// The records up to the end tag, and their count checked.
fn read_record_list(reader: &mut impl Read, contents: &mut impl Contents) -> io::Result<()> {
    let mut found = 0u64;
    loop {
        match read_u8(reader)? {
            TAG_END => return must_count(read_u64(reader)?, found, "records"),
            tag @ (TAG_SM_DATA | TAG_SM_META) => {
                let key = read_block(reader)?;
                let value = read_block(reader)?;
                found += 1;
                contents.record((tag, key, value))?;
            }
            other => return Err(invalid(format!("unknown snapshot record tag {other}"))),
        }
    }
}

fn must_count(stated: u64, found: u64, what: &str) -> io::Result<()> {
    if stated != found {
        return Err(invalid(format!("snapshot says {stated} {what}, found {found}")));
    }
    Ok(())
}

/// Reads the stored checksum and compares it with the one computed.
fn must_match(reader: &mut impl Read, digest: [u8; 32]) -> io::Result<()> {
    let mut stored = [0u8; 32];
    reader.read_exact(&mut stored)?;
    if stored != digest {
        return Err(invalid("snapshot checksum mismatch: the file is damaged".into()));
    }
    Ok(())
}

fn must_end(reader: &mut impl Read) -> io::Result<()> {
    if reader.read(&mut [0u8; 1])? != 0 {
        return Err(invalid("snapshot has data after its checksum".into()));
    }
    Ok(())
}

/// A reader or writer that hashes every byte passing through it.
pub struct Hashing<T> {
    inner: T,
    hasher: Sha256,
}

impl<T> Hashing<T> {
    pub fn new(inner: T) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Goes on hashing where another left off.
    pub fn resume(inner: T, hasher: Sha256) -> Self {
        Hashing { inner, hasher }
    }

    pub fn into_parts(self) -> (T, Sha256) {
        (self.inner, self.hasher)
    }

    pub fn finish(self) -> (T, [u8; 32]) {
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

pub fn write_header(out: &mut impl Write, meta: &SnapshotMeta, version: u8) -> io::Result<()> {
    out.write_all(MAGIC)?;
    out.write_all(&[version])?;
    let encoded = codec::encode(meta)?;
    write_len(out, encoded.len())?;
    out.write_all(&encoded)
}

/// The snapshot's meta and format version.
fn read_header(reader: &mut impl Read) -> io::Result<(SnapshotMeta, u8)> {
    let mut magic = [0u8; 8];
    reader.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(invalid("not a qraft snapshot file".into()));
    }
    let version = read_u8(reader)?;
    if ![
        TABLES_VERSION,
        RECORDS_VERSION,
        UNCOMPRESSED_VERSION,
        UNCHECKED_VERSION,
    ]
    .contains(&version)
    {
        return Err(invalid(format!(
            "snapshot format {version} is not supported by this version of qraft"
        )));
    }
    Ok((codec::decode(&read_block(reader)?)?, version))
}

pub fn write_len(out: &mut impl Write, len: usize) -> io::Result<()> {
    let len = u32::try_from(len).map_err(|_| invalid(format!("record of {len} bytes is too large")))?;
    out.write_all(&len.to_be_bytes())
}

fn read_block(reader: &mut impl Read) -> io::Result<Vec<u8>> {
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

fn read_u8(reader: &mut impl Read) -> io::Result<u8> {
    let mut byte = [0u8; 1];
    reader.read_exact(&mut byte)?;
    Ok(byte[0])
}

fn read_u64(reader: &mut impl Read) -> io::Result<u64> {
    let mut bytes = [0u8; 8];
    reader.read_exact(&mut bytes)?;
    Ok(u64::from_be_bytes(bytes))
}

pub fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
