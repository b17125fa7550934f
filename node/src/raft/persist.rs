//! Storage: RocksDB, the Raft log and its group commit, the state machine, snapshots and when to build them, the free-disk watermark, and the versioned encoding of what is on disk and on the wire.

pub mod background;
pub mod codec;
pub mod compaction;
pub mod disk;
pub mod load;
pub mod log_store;
pub mod snapshot;
pub mod state_machine;
pub mod storage;
pub mod syncer;
pub mod task_store;
