//! The state machine adapter: feeds committed entries to [`QueueState`] and writes what changed
//! to RocksDB in one batch per apply call.
//!
//! The in-memory [`QueueState`] answers every read; RocksDB holds the authoritative records and
//! is where the state is rebuilt from at start. Apply writes without its own fsync: all column
//! families share one WAL, so the next log sync covers these writes, and after a crash openraft
//! re-applies whatever the lost tail held from the (durable) log.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Instant;

use futures::{Stream, TryStreamExt};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use rocksdb::{DB, WriteBatch};
use tokio::sync::{broadcast, oneshot, watch};

use super::load::{Loaded, load_queue, read_meta};
use super::snapshot::{self, LAST_APPLIED_KEY, MEMBERSHIP_KEY, QUEUE_META_KEY};
use super::storage::{CF_SM_DATA, CF_SM_META, cf, rocks_err};
use super::{background, codec};
use crate::clock::LeaderClock;
use crate::metrics::Timings;
use crate::queue::{QueueState, TaskId};
use crate::raft::types::{LogId, ProposalResponse, SnapshotMeta, StoredMembership, TypeConfig};

type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, tokio::fs::File>;

/// Finishes a slow listener may fall behind by before it is told it missed some (16 bytes each).
const FINISHED_BACKLOG: usize = 65_536;

/// What the rest of the node reads: the queue as of the last apply, that apply's index, the
/// tasks that just finished (for callers waiting on them), and the newest event's number.
pub struct SharedState {
    queue: RwLock<QueueState>,
    applied: watch::Sender<u64>,
    /// Commands applied since this process started: what a snapshot's cost is weighed against.
    applied_commands: AtomicU64,
    /// Bytes of records the last load of the state read (at start, or after an install).
    loaded_bytes: AtomicU64,
    finished: broadcast::Sender<TaskId>,
    last_event: watch::Sender<u64>,
}

impl SharedState {
    /// Read access to the queue. Poisoning means an apply panicked, after which the node stops
    /// anyway; readers still get the last state.
    pub fn queue(&self) -> RwLockReadGuard<'_, QueueState> {
        self.queue.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The index of the last applied log entry, watchable.
    pub fn applied(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Commands applied since this process started.
    pub fn applied_commands(&self) -> u64 {
        self.applied_commands.load(Ordering::Relaxed)
    }

    /// Bytes of records the last load of the state read: a start reads no payload.
    pub fn loaded_bytes(&self) -> u64 {
        self.loaded_bytes.load(Ordering::Relaxed)
    }

    /// Ids of tasks as they reach a final state on this replica. A receiver that lags behind
    /// gets `Lagged` and must re-read the states it cares about.
    pub fn finished(&self) -> broadcast::Receiver<TaskId> {
        self.finished.subscribe()
    }

    /// The sequence number of the newest event, watchable: event streams wake only when there
    /// is something new, not on every apply.
    pub fn last_event(&self) -> watch::Receiver<u64> {
        self.last_event.subscribe()
    }

    fn replace(&self, loaded: Loaded) {
        let last_event = loaded.state.meta().last_event_seq;
        *self.queue.write().unwrap_or_else(|p| p.into_inner()) = loaded.state;
        self.loaded_bytes.store(loaded.bytes_read, Ordering::Relaxed);
        self.last_event.send_replace(last_event);
    }
}

#[derive(Clone)]
pub struct StateMachineStore {
    db: Arc<DB>,
    shared: Arc<SharedState>,
    snapshot_dir: PathBuf,
    timings: Timings,
    /// Told the cluster time of every apply as it happens, so that a term this node may lead
    /// later goes on from the newest time it saw, counted from when it saw it.
    clock: Arc<LeaderClock>,
}

impl StateMachineStore {
    /// Opens the state machine and rebuilds the in-memory queue from its records.
    pub fn open(
        db: Arc<DB>,
        snapshot_dir: PathBuf,
        timings: Timings,
        clock: Arc<LeaderClock>,
    ) -> Result<StateMachineStore, io::Error> {
        finish_interrupted_install(&db, &snapshot_dir)?;
        let Loaded { state, bytes_read } = load_queue(&db)?;
        clock.observe(state.now_ms());
        let applied = read_meta::<LogId>(&db, LAST_APPLIED_KEY)?.map_or(0, |id| id.index());
        let (applied_tx, _) = watch::channel(applied);
        let (finished_tx, _) = broadcast::channel(FINISHED_BACKLOG);
        let (last_event_tx, _) = watch::channel(state.meta().last_event_seq);
        Ok(StateMachineStore {
            db,
            shared: Arc::new(SharedState {
                queue: RwLock::new(state),
                applied: applied_tx,
                applied_commands: AtomicU64::new(0),
                loaded_bytes: AtomicU64::new(bytes_read),
                finished: finished_tx,
                last_event: last_event_tx,
            }),
            snapshot_dir,
            timings,
            clock,
        })
    }

    pub fn shared(&self) -> Arc<SharedState> {
        self.shared.clone()
    }
}

/// Installs again the snapshot whose install a stop cut short, from the copy stored before it
/// began.
fn finish_interrupted_install(db: &Arc<DB>, dir: &std::path::Path) -> Result<(), io::Error> {
    let Some(meta) = snapshot::interrupted_install(db)? else {
        return Ok(());
    };
    let stored = snapshot::newest(dir)?.filter(|(newest, _)| *newest == meta);
    let Some((_, file)) = stored else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the install of snapshot {meta:?} was cut short and its file is gone from {}; \
                 wipe this node's data and start it with --rebuild",
                dir.display()
            ),
        ));
    };
    tracing::warn!(snapshot = ?meta, "finishing the install of a snapshot a stop cut short");
    snapshot::install(db, file, &meta, dir)
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotData = tokio::fs::File;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok((
            read_meta(&self.db, LAST_APPLIED_KEY)?,
            read_meta(&self.db, MEMBERSHIP_KEY)?.unwrap_or_default(),
        ))
    }

    async fn apply<Strm>(&mut self, entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let entries: Vec<EntryResponder<TypeConfig>> = entries.try_collect().await?;
        let started = Instant::now();
        let Some(last) = entries.last().map(|(entry, _)| entry.log_id()) else {
            return Ok(());
        };
        let cf_meta = cf(&self.db, CF_SM_META)?;
        let cf_data = cf(&self.db, CF_SM_DATA)?;
        let mut batch = WriteBatch::default();
        let mut responses = Vec::with_capacity(entries.len());
        let finished;
        let last_event;
        {
            let mut queue = self.shared.queue.write().unwrap_or_else(|p| p.into_inner());
            for (entry, responder) in entries {
                let log_id = entry.log_id();
                let response = match entry.payload {
                    EntryPayload::Blank => ProposalResponse::default(),
                    EntryPayload::Normal(proposal) => {
                        let commands = proposal.commands.len() as u64;
                        self.shared
                            .applied_commands
                            .fetch_add(commands, Ordering::Relaxed);
                        ProposalResponse {
                            outcomes: queue.apply_batch(proposal.stamped_at_ms, proposal.commands),
                        }
                    }
                    EntryPayload::Membership(membership) => {
                        let stored = StoredMembership::new(Some(log_id), membership);
                        batch.put_cf(cf_meta, MEMBERSHIP_KEY, codec::encode(&stored)?);
                        ProposalResponse::default()
                    }
                };
                if let Some(responder) = responder {
                    responses.push((responder, response));
                }
            }
            let changes = queue.take_changes();
            for id in &changes.records {
                match queue.get_record(id) {
                    Some(record) if record.by_position() => {
                        batch.put_cf(cf_data, id.key(), codec::encode_positional(&record)?)
                    }
                    Some(record) => batch.put_cf(cf_data, id.key(), codec::encode(&record)?),
                    None => batch.delete_cf(cf_data, id.key()),
                }
            }
            if let Some(failure) = queue.take_failure() {
                // Memory already moved past what could be read: write nothing, stop the node.
                return Err(io::Error::other(format!("applying {last}: {failure}")));
            }
            batch.put_cf(cf_meta, QUEUE_META_KEY, codec::encode(queue.meta())?);
            finished = changes.finished;
            last_event = queue.meta().last_event_seq;
            self.clock.observe(queue.now_ms());
            for ran_ms in changes.run_times_ms {
                self.timings.task_run.observe(ran_ms as f64 / 1000.0);
            }
        }
        batch.put_cf(cf_meta, LAST_APPLIED_KEY, codec::encode(&last)?);
        self.db.write(batch).map_err(rocks_err)?;
        self.shared
            .queue
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .written();
        self.timings.apply.observe(started.elapsed().as_secs_f64());
        for (responder, response) in responses {
            responder.send(response);
        }
        self.shared.applied.send_replace(last.index());
        self.shared
            .last_event
            .send_if_modified(|seq| std::mem::replace(seq, last_event) != last_event);
        for id in finished {
            // No receiver is fine: nobody is waiting.
            let _ = self.shared.finished.send(id);
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder::start(self.db.clone(), self.snapshot_dir.clone()).await
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: tokio::fs::File,
    ) -> Result<(), io::Error> {
        let mut file = snapshot.into_std().await;
        let db = self.db.clone();
        let dir = self.snapshot_dir.clone();
        let wanted = meta.clone();
        let loaded = tokio::task::spawn_blocking(move || -> Result<Loaded, io::Error> {
            use std::io::Seek;
            file.rewind()?;
            // Checked whole and stored before anything is replaced: an install cut short is
            // finished from this copy.
            let started = Instant::now();
            let stored = snapshot::store_checked(&mut file, &dir, &wanted)?;
            let bytes = stored.file.metadata()?.len();
            snapshot::install(&db, stored.file, &wanted, &dir)?;
            tracing::info!(
                last_log_id = ?wanted.last_log_id,
                bytes,
                ms = started.elapsed().as_millis() as u64,
                "snapshot installed"
            );
            load_queue(&db)
        })
        .await
        .map_err(io::Error::other)??;
        self.clock.observe(loaded.state.now_ms());
        self.shared.replace(loaded);
        self.shared
            .applied
            .send_replace(meta.last_log_id.as_ref().map_or(0, |id| id.index()));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let dir = self.snapshot_dir.clone();
        let newest = tokio::task::spawn_blocking(move || snapshot::newest(&dir))
            .await
            .map_err(io::Error::other)??;
        Ok(newest.map(|(meta, file)| Snapshot {
            meta,
            snapshot: tokio::fs::File::from_std(file),
        }))
    }
}

/// Builds one snapshot from the consistent view taken when it was created.
pub struct SnapshotBuilder {
    done: Option<oneshot::Receiver<Result<snapshot::SnapshotFile, io::Error>>>,
}

impl SnapshotBuilder {
    /// Takes the point-in-time view now (between two applies) on a thread that then writes the
    /// file, and returns once the view is taken.
    async fn start(db: Arc<DB>, dir: PathBuf) -> SnapshotBuilder {
        let (taken_tx, taken_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("qraft-snapshot".into())
            .spawn(move || {
                let started = Instant::now();
                let result = {
                    let view = db.snapshot();
                    let _ = taken_tx.send(());
                    // Not before: applying waits for the view.
                    background::lower_this_thread();
                    snapshot::write_from_view(&db, &view, &dir)
                };
                // Let go of the database before answering, so that whoever waits on the answer
                // can close it.
                drop(db);
                if let Ok(file) = &result {
                    let bytes = file.file.metadata().map_or(0, |m| m.len());
                    let ms = started.elapsed().as_millis() as u64;
                    tracing::info!(path = %file.path.display(), last_log_id = ?file.meta.last_log_id, bytes, ms, "snapshot built");
                }
                let _ = done_tx.send(result);
            });
        match spawned {
            Ok(_) => {
                let _ = taken_rx.await;
                SnapshotBuilder { done: Some(done_rx) }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start the snapshot thread");
                SnapshotBuilder { done: None }
            }
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = tokio::fs::File;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let done = self
            .done
            .take()
            .ok_or_else(|| io::Error::other("snapshot thread did not start or was already used"))?;
        let file = done
            .await
            .map_err(|_| io::Error::other("snapshot thread ended without an answer"))??;
        Ok(Snapshot {
            meta: file.meta,
            snapshot: tokio::fs::File::from_std(file.file),
        })
    }
}
