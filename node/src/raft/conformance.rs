//! openraft's storage conformance suite against our RocksDB log store and state machine, plus
//! the properties the suite cannot see: tasks survive a reopen and travel in snapshots.

use futures::stream;
use openraft::entry::RaftEntry;
use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use openraft::{RaftSnapshotBuilder, StorageError};
use tempfile::TempDir;

use super::persist::log_store::LogStore;
use super::persist::state_machine::StateMachineStore;
use super::persist::storage::{Identity, Storage};
use super::persist::syncer::Syncer;
use super::types::{Entry, Proposal, TypeConfig};
use crate::queue::{Command, SubmitTask, TaskId};

fn open(dir: &std::path::Path) -> Result<(LogStore, StateMachineStore), std::io::Error> {
    let identity = Identity {
        cluster_name: "test".into(),
        node_id: 1,
    };
    let storage = Storage::open(dir, &identity).map_err(std::io::Error::other)?;
    let timings = crate::metrics::Timings::default();
    let syncer = Syncer::start(&storage.db, 1, timings.fsync.clone(), true)?;
    let log = LogStore::new(storage.db.clone(), syncer)?;
    let sm = StateMachineStore::open(
        storage.db.clone(),
        storage.snapshot_dir(),
        timings,
        Default::default(),
    )?;
    Ok((log, sm))
}

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), StorageError<TypeConfig>> {
        let dir = TempDir::new().map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        let (log, sm) = open(dir.path()).map_err(|e| StorageError::read(TypeConfig::err_from_error(&e)))?;
        Ok((dir, log, sm))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openraft_storage_conformance() -> Result<(), StorageError<TypeConfig>> {
    Suite::test_all(Builder).await
}

fn submit_entry(index: u64, names: &[&str]) -> (Entry, Vec<TaskId>) {
    sized_entry(index, names, b"{\"n\":1}".to_vec())
}

fn sized_entry(index: u64, names: &[&str], args: Vec<u8>) -> (Entry, Vec<TaskId>) {
    let ids: Vec<TaskId> = names.iter().map(|_| TaskId::generate()).collect();
    let commands = names
        .iter()
        .zip(&ids)
        .map(|(name, id)| {
            Command::Submit(SubmitTask {
                id: *id,
                args: args.clone(),
                priority: 3,
                ..SubmitTask::sample(name, "default")
            })
        })
        .collect();
    let entry = Entry::new_normal(
        openraft::testing::log_id::<TypeConfig>(1, 1, index),
        Proposal {
            stamped_at_ms: 1_000 + index,
            commands,
        },
    );
    (entry, ids)
}

async fn apply(sm: &mut StateMachineStore, entries: Vec<Entry>) {
    let items: Vec<Result<_, std::io::Error>> = entries.into_iter().map(|e| Ok((e, None))).collect();
    sm.apply(stream::iter(items)).await.expect("apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_survive_reopen_and_travel_in_snapshots() {
    let leader_dir = TempDir::new().expect("tempdir");
    let (ids, meta, snapshot) = {
        let (_log, mut sm) = open(leader_dir.path()).expect("open");
        let (first, mut ids) = submit_entry(1, &["a", "b"]);
        let (second, more) = submit_entry(2, &["c"]);
        ids.extend(more);
        apply(&mut sm, vec![first, second]).await;

        let mut builder = sm.get_snapshot_builder().await;
        // Applied after the view was taken: must not be in the snapshot.
        let (late, late_ids) = submit_entry(3, &["late"]);
        apply(&mut sm, vec![late]).await;
        let snapshot = builder.build_snapshot().await.expect("build");
        assert_eq!(snapshot.meta.last_log_id.map(|id| id.index()), Some(2));
        assert_eq!(sm.shared().queue().task_count(), 4);
        assert!(sm.shared().queue().task(&late_ids[0]).is_some());
        (ids, snapshot.meta, snapshot.snapshot)
    };

    tracing::info!("--- reopen: the queue is rebuilt from RocksDB");
    {
        let (_log, sm) = open(leader_dir.path()).expect("reopen");
        let shared = sm.shared();
        let queue = shared.queue();
        assert_eq!(queue.task_count(), 4);
        for id in &ids {
            assert_eq!(queue.task(id).map(|t| t.priority), Some(3));
            // The args come back from the payload record, not the task's own.
            assert_eq!(
                queue.task(id).map(|t| t.args.clone()),
                Some(b"{\"n\":1}".to_vec())
            );
        }
        assert_eq!(*shared.applied().borrow(), 3);
    }

    tracing::info!("--- install the snapshot on an empty follower");
    let follower_dir = TempDir::new().expect("tempdir");
    let (_log, mut follower) = open(follower_dir.path()).expect("open follower");
    follower.install_snapshot(&meta, snapshot).await.expect("install");
    assert_eq!(follower.shared().queue().task_count(), 3);
    let (applied, _) = follower.applied_state().await.expect("applied state");
    assert_eq!(applied.map(|id| id.index()), Some(2));
    let current = follower
        .get_current_snapshot()
        .await
        .expect("current")
        .expect("some");
    assert_eq!(current.meta, meta);

    tracing::info!("--- and the follower keeps it across a reopen");
    drop((_log, follower));
    let (_log, follower) = open(follower_dir.path()).expect("reopen follower");
    assert_eq!(follower.shared().queue().task_count(), 3);

    tracing::info!("--- an install cut short by a stop is finished when the node opens");
    drop((_log, follower));
    {
        let identity = Identity {
            cluster_name: "test".into(),
            node_id: 1,
        };
        let storage = Storage::open(follower_dir.path(), &identity).expect("storage");
        super::persist::snapshot::begin_install(&storage.db, &meta).expect("begin");
    }
    let (_log, follower) = open(follower_dir.path()).expect("reopen after a cut-short install");
    assert_eq!(follower.shared().queue().task_count(), 3);
    let (applied, _) = {
        let mut follower = follower;
        follower.applied_state().await.expect("applied state")
    };
    assert_eq!(applied.map(|id| id.index()), Some(2));
}

/// A restart reads each task's small record and not its payload: what every queue holds is
/// counted from the records, and args stay on disk until a task is read. (Before, a restart
/// read and kept every payload: 50 MiB here, the whole backlog on a node.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reads_no_payload_and_keeps_none_in_memory() {
    use rocksdb::perf::{PerfContext, PerfMetric, PerfStatsLevel};
    const ARGS: usize = 256 * 1024;
    const PER_ENTRY: usize = 20;
    const ENTRIES: u64 = 10;
    let payloads = (ARGS * PER_ENTRY) as u64 * ENTRIES;
    let dir = TempDir::new().expect("tempdir");
    let ids = {
        let (_log, mut sm) = open(dir.path()).expect("open");
        let mut ids = Vec::new();
        for index in 1..=ENTRIES {
            let (entry, more) = sized_entry(index, &["big"; PER_ENTRY], vec![b'x'; ARGS]);
            apply(&mut sm, vec![entry]).await;
            ids.extend(more);
        }
        let shared = sm.shared();
        assert_eq!(shared.queue().held("default").bytes, payloads);
        assert_eq!(shared.queue().bodies_in_memory().0, 0, "all written");
        ids
    };

    rocksdb::perf::set_perf_stats(PerfStatsLevel::EnableCount);
    let mut perf = PerfContext::default();
    perf.reset();
    let (_log, sm) = open(dir.path()).expect("reopen");
    let read = [
        PerfMetric::IterReadBytes,
        PerfMetric::GetReadBytes,
        PerfMetric::MultigetReadBytes,
    ]
    .into_iter()
    .map(|metric| perf.metric(metric))
    .sum::<u64>();
    rocksdb::perf::set_perf_stats(PerfStatsLevel::Disable);
    // The records are read on a thread of the load's own, which counts them; the perf counters,
    // this thread's, catch any body read back while indexing.
    let shared = sm.shared();
    let loaded = shared.loaded_bytes();
    tracing::info!(read, loaded, payloads, "bytes read by the restart");
    assert!(read > 0, "the perf counters count");
    assert!(loaded > 0, "the load counts");
    assert!(
        read + loaded < payloads / 100,
        "the restart read {read} + {loaded} bytes; the payloads are {payloads}"
    );
    let queue = shared.queue();
    assert_eq!(queue.task_count(), ids.len());
    assert_eq!(
        queue.held("default").bytes,
        payloads,
        "counted without reading them"
    );
    assert_eq!(queue.bodies_in_memory(), (0, 0));
    assert_eq!(
        queue.task(&ids[7]).map(|t| t.args.len()),
        Some(ARGS),
        "read when asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vote_and_appends_are_durable_through_the_syncer() {
    let dir = TempDir::new().expect("tempdir");
    {
        let (mut log, _sm) = open(dir.path()).expect("open");
        let vote = openraft::impls::Vote::new(3, 2);
        log.save_vote(&vote).await.expect("save vote");
        let (tx, rx) = TypeConfig::oneshot();
        let (entry, _) = submit_entry(1, &["x"]);
        log.append(vec![entry], openraft::storage::IOFlushed::signal(tx))
            .await
            .expect("append");
        rx.await.expect("flushed").expect("sync ok");
    }
    let (mut log, _sm) = open(dir.path()).expect("reopen");
    let state = log.get_log_state().await.expect("log state");
    assert_eq!(state.last_log_id.map(|id| id.index()), Some(1));
    let mut reader = log.get_log_reader().await;
    use openraft::RaftLogReader;
    assert_eq!(
        reader
            .read_vote()
            .await
            .expect("vote")
            .map(|v| v.leader_id().term),
        Some(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replication_read_is_bounded_in_bytes_but_never_empty() {
    use super::persist::log_store::MAX_REPLICATION_BYTES;
    use openraft::RaftLogReader;
    let dir = TempDir::new().expect("tempdir");
    let (mut log, _sm) = open(dir.path()).expect("open");
    // Each entry a third of the budget and a bit; the last alone larger than all of it.
    let third = vec![b'x'; MAX_REPLICATION_BYTES / 3 + 1024];
    let mut entries: Vec<Entry> = (1..=4)
        .map(|i| sized_entry(i, &["big"], third.clone()).0)
        .collect();
    entries.push(sized_entry(5, &["huge"], vec![b'x'; MAX_REPLICATION_BYTES + 1024]).0);
    let (tx, rx) = TypeConfig::oneshot();
    log.append(entries, openraft::storage::IOFlushed::signal(tx))
        .await
        .expect("append");
    rx.await.expect("flushed").expect("sync ok");
    let mut reader = log.get_log_reader().await;
    let indexes = |entries: Vec<Entry>| entries.iter().map(|e| e.index()).collect::<Vec<_>>();
    let read = reader.limited_get_log_entries(1, 6).await.expect("read");
    assert_eq!(indexes(read), [1, 2], "two fit, the third would pass the budget");
    let read = reader.limited_get_log_entries(3, 6).await.expect("read");
    assert_eq!(indexes(read), [3, 4]);
    let read = reader.limited_get_log_entries(5, 6).await.expect("read");
    assert_eq!(
        indexes(read),
        [5],
        "an entry larger than the budget still goes, alone"
    );
    let all = reader.try_get_log_entries(1..6).await.expect("read all");
    assert_eq!(indexes(all), [1, 2, 3, 4, 5], "reads for anything else are whole");
}
