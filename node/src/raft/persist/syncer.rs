//! Group commit for the Raft log: one thread that makes every pending write durable with a
//! single WAL sync, then tells everyone waiting on it.
//!
//! Writes land in RocksDB (page cache) on the caller's task, in order; only the fsync happens
//! here, so the Raft core never blocks on the disk and one sync covers every append queued
//! behind it.

use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::time::Instant;

use openraft::storage::IOFlushed;
use rocksdb::DB;
use tokio::sync::oneshot;

use crate::metrics::Stage;
use crate::raft::types::TypeConfig;

enum Waiter {
    Append(IOFlushed<TypeConfig>),
    Await(oneshot::Sender<Result<(), io::Error>>),
}

/// Handle to the syncer thread; the thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct Syncer {
    tx: mpsc::Sender<Waiter>,
}

impl Syncer {
    /// Starts the thread; each sync's duration goes to `fsync_seconds`. Without `fsync` (the
    /// chaos suite's canary only) the WAL goes to the page cache and no further.
    pub fn start(db: &Arc<DB>, node_id: u64, fsync_seconds: Stage, fsync: bool) -> Result<Syncer, io::Error> {
        let (tx, rx) = mpsc::channel::<Waiter>();
        // A weak handle: the syncer must not keep the database open after the stores close it.
        let db = Arc::downgrade(db);
        std::thread::Builder::new()
            .name(format!("qraft-syncer-{node_id}"))
            .spawn(move || run(&db, &rx, &fsync_seconds, fsync))?;
        Ok(Syncer { tx })
    }

    /// Calls `callback` once everything written so far is durable.
    pub fn after_sync(&self, callback: IOFlushed<TypeConfig>) {
        if let Err(mpsc::SendError(Waiter::Append(callback))) = self.tx.send(Waiter::Append(callback)) {
            callback.io_completed(Err(stopped()));
        }
    }

    /// Waits until everything written so far is durable.
    pub async fn sync(&self) -> Result<(), io::Error> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Waiter::Await(tx)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

fn run(db: &Weak<DB>, rx: &mpsc::Receiver<Waiter>, fsync_seconds: &Stage, fsync: bool) {
    while let Ok(first) = rx.recv() {
        let mut waiters = vec![first];
        waiters.extend(rx.try_iter());
        let result = match db.upgrade() {
            Some(db) => {
                let started = Instant::now();
                let synced = db.flush_wal(fsync).map_err(|e| e.to_string());
                fsync_seconds.observe(started.elapsed().as_secs_f64());
                synced
            }
            None => Err("the database is closed".to_string()),
        };
        for waiter in waiters {
            let result = result
                .as_ref()
                .map(|_| ())
                .map_err(|e| io::Error::other(format!("WAL sync failed: {e}")));
            match waiter {
                Waiter::Append(callback) => callback.io_completed(result),
                Waiter::Await(tx) => {
                    let _ = tx.send(result);
                }
            }
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("the log syncer has stopped")
}
