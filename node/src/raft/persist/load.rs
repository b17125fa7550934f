//! Reading the queue state back from its records: at start, and after a snapshot is installed.
//! With millions of tasks this is most of a restart, and its two halves cost about the same:
//! reading and decoding records, and indexing them. A thread of its own does the first while
//! the caller's does the second, a bounded batch at a time, so records are never all held.
//! Emptied batches go back to the reader to be filled again: a batch is a large allocation,
//! and one freed on the other thread went back to the system, so that every new batch cost
//! page faults (a sixth of the reader's time at 10 M tasks, measured).

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::time::Instant;

use rocksdb::{DB, ReadOptions};

use super::codec;
use super::snapshot::QUEUE_META_KEY;
use super::storage::{CF_SM_DATA, CF_SM_META, cf, rocks_err};
use super::task_store::StoredTasks;
use crate::queue::record::{self, Stored};
use crate::queue::{QueueMeta, QueueState};

/// Records decoded ahead of the indexing, per batch and in batches.
const BATCH: usize = 1024;
const BATCHES_AHEAD: usize = 16;
/// Bytes RocksDB reads ahead while it walks the records in order.
const READ_AHEAD: usize = 4 << 20;

type Batch = Result<VecDeque<Stored>, io::Error>;

/// A queue state read back, and the bytes of records read for it.
pub struct Loaded {
    pub state: QueueState,
    pub bytes_read: u64,
}

/// The queue state its records rebuild; task bodies stay on disk.
pub fn load_queue(db: &Arc<DB>) -> Result<Loaded, io::Error> {
    let started = Instant::now();
    let meta: QueueMeta = read_meta(db, QUEUE_META_KEY)?.unwrap_or_default();
    let (batches, received) = sync_channel::<Batch>(BATCHES_AHEAD);
    // Room for every batch there is, so that handing one back never waits.
    let (emptied, spare) = sync_channel::<VecDeque<Stored>>(BATCHES_AHEAD + 2);
    let counts = Counts::default();
    let state = std::thread::scope(|scope| {
        let counts = &counts;
        // The sender moves to the reader: it hangs up when done, which ends the indexing.
        scope.spawn(move || read_records(db, &batches, &spare, counts));
        let mut failure = None;
        let records = in_order(received, emptied, &mut failure, counts);
        let mut state = QueueState::restore_over(meta, records, StoredTasks::over(db.clone()));
        match (failure, state.take_failure()) {
            (Some(e), _) => Err(e),
            (None, Some(failure)) => Err(io::Error::new(io::ErrorKind::InvalidData, failure)),
            (None, None) => Ok(state),
        }
    })?;
    // Which half a slow start waited on: reading (disk, decoding) or indexing (memory, CPU).
    let bytes_read = counts.bytes_read.load(Ordering::Relaxed);
    tracing::info!(
        tasks = state.task_count(),
        bytes_read,
        ms = started.elapsed().as_millis() as u64,
        reading_waited_ms = counts.reading_waited.load(Ordering::Relaxed) / 1000,
        indexing_waited_ms = counts.indexing_waited.load(Ordering::Relaxed) / 1000,
        "queue state loaded"
    );
    Ok(Loaded { state, bytes_read })
}

/// Bytes of records (keys and values) the reader read, and the microseconds each half of a
/// load spent waiting for the other.
#[derive(Default)]
struct Counts {
    bytes_read: AtomicU64,
    reading_waited: AtomicU64,
    indexing_waited: AtomicU64,
}

fn waited(counter: &AtomicU64, since: Instant) {
    counter.fetch_add(since.elapsed().as_micros() as u64, Ordering::Relaxed);
}

pub fn read_meta<T: serde::de::DeserializeOwned>(db: &DB, key: &[u8]) -> Result<Option<T>, io::Error> {
    db.get_cf(cf(db, CF_SM_META)?, key)
        .map_err(rocks_err)?
        .map(|b| codec::decode(&b))
        .transpose()
}

/// The records of the batches as they come, until the reader is done or `failure` is set; each
/// batch, once emptied, goes back through `emptied`.
fn in_order<'a>(
    received: Receiver<Batch>,
    emptied: SyncSender<VecDeque<Stored>>,
    failure: &'a mut Option<io::Error>,
    counts: &'a Counts,
) -> impl Iterator<Item = Stored> + 'a {
    let mut batch = VecDeque::new();
    std::iter::from_fn(move || {
        loop {
            if let Some(record) = batch.pop_front() {
                return Some(record);
            }
            if batch.capacity() > 0 {
                // The reader may be gone (it hung up after its last batch): then nobody needs it.
                let _ = emptied.try_send(std::mem::take(&mut batch));
            }
            let next = match received.try_recv() {
                Ok(next) => next,
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {
                    let since = Instant::now();
                    let next = received.recv().ok()?;
                    waited(&counts.indexing_waited, since);
                    next
                }
            };
            match next {
                Ok(next) => batch = next,
                Err(e) => {
                    *failure = Some(e);
                    return None;
                }
            }
        }
    })
}

/// Sends every record a start reads, decoded, in the order a restore takes them, then hangs up;
/// stops at the first error, which it sends, or when the receiver is gone. Fills the batches the
/// indexing hands back through `spare` before it allocates new ones.
fn read_records(db: &DB, batches: &SyncSender<Batch>, spare: &Receiver<VecDeque<Stored>>, counts: &Counts) {
    let next_batch = || {
        spare
            .try_recv()
            .unwrap_or_else(|_| VecDeque::with_capacity(BATCH))
    };
    let mut batch = next_batch();
    for tag in record::read_at_start() {
        let sent = read_kind(db, tag, &counts.bytes_read, &mut |stored| {
            batch.push_back(stored);
            if batch.len() < BATCH {
                return true;
            }
            let full = std::mem::replace(&mut batch, next_batch());
            match batches.try_send(Ok(full)) {
                Ok(()) => true,
                Err(TrySendError::Disconnected(_)) => false,
                Err(TrySendError::Full(full)) => {
                    let since = Instant::now();
                    let sent = batches.send(full).is_ok();
                    waited(&counts.reading_waited, since);
                    sent
                }
            }
        });
        match sent {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                let _ = batches.send(Err(e));
                return;
            }
        }
    }
    let _ = batches.send(Ok(batch));
}

/// Hands each stored record of one kind (every key starting with `tag`), decoded and in key
/// order, to `take`, while it returns `true`; `Ok(false)` if it stopped. Counts what it reads in
/// `bytes_read`.
fn read_kind(
    db: &DB,
    tag: u8,
    bytes_read: &AtomicU64,
    take: &mut impl FnMut(Stored) -> bool,
) -> Result<bool, io::Error> {
    let mut options = ReadOptions::default();
    options.set_readahead_size(READ_AHEAD);
    // Read once, in order: keeping these blocks would only push out the ones apply reads.
    options.fill_cache(false);
    let mut records = db.raw_iterator_cf_opt(cf(db, CF_SM_DATA)?, options);
    records.seek([tag]);
    let mut read = 0;
    let mut going = true;
    while let (Some(key), Some(value)) = (records.key(), records.value()) {
        if key.first() != Some(&tag) {
            break;
        }
        read += (key.len() + value.len()) as u64;
        going = take(record::decode(&Codec, key, value)?);
        if !going {
            break;
        }
        records.next();
    }
    // Counted once per kind, not once per record: one thread reads, but the counter is shared.
    bytes_read.fetch_add(read, Ordering::Relaxed);
    records.status().map_err(rocks_err)?;
    Ok(going)
}

/// The node's versioned encoding, as the record table decodes with it.
struct Codec;

impl record::Decode for Codec {
    type Error = io::Error;

    fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, io::Error> {
        codec::decode(bytes)
    }

    fn unknown(&self, message: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, message)
    }
}
