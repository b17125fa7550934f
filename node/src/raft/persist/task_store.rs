//! Task bodies read back from RocksDB: what [`QueueState`](crate::queue::QueueState) does not keep
//! in memory once written.

use std::io;
use std::sync::Arc;

use rocksdb::DB;

use super::codec;
use super::storage::{CF_SM_DATA, cf};
use crate::queue::TaskId;
use crate::queue::record::RecordId;
use crate::queue::state::TaskStore;
use crate::queue::task::{Task, TaskPayload};

/// The state machine's records of tasks, joined with their payloads.
pub struct StoredTasks {
    db: Arc<DB>,
}

impl StoredTasks {
    pub fn over(db: Arc<DB>) -> Arc<dyn TaskStore> {
        Arc::new(StoredTasks { db })
    }

    fn read_body(&self, id: TaskId) -> Result<Option<Task>, io::Error> {
        let data = cf(&self.db, CF_SM_DATA)?;
        let keys = [RecordId::Task(id).key(), RecordId::Payload(id).key()];
        let mut found = self.db.batched_multi_get_cf(data, &keys, false).into_iter();
        let (task, payload) = (found.next(), found.next());
        let Some(task) = task.transpose().map_err(io::Error::other)?.flatten() else {
            return Ok(None);
        };
        let mut task: Task = codec::decode(&task)?;
        // Records written whole (before payloads had records of their own) hold them already.
        if let Some(payload) = payload.transpose().map_err(io::Error::other)?.flatten() {
            let payload: TaskPayload = codec::decode(&payload)?;
            task.args = payload.args;
            task.headers = payload.headers;
        }
        Ok(Some(task))
    }
}

impl TaskStore for StoredTasks {
    fn read(&self, id: TaskId) -> Result<Option<Task>, String> {
        self.read_body(id).map_err(|e| e.to_string())
    }
}
