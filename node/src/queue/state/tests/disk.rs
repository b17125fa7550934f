//! A replica's storage as the state machine keeps it, for states whose task bodies leave memory:
//! after each apply the changed task records are written (without their payloads, as encoded)
//! and read back from here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::queue::record::{RecordId, RecordRef};
use crate::queue::state::{QueueState, TaskStore};
use crate::queue::task::{Task, TaskId, TaskPayload};

#[derive(Default)]
pub struct Disk {
    tasks: Mutex<BTreeMap<TaskId, Task>>,
    payloads: Mutex<BTreeMap<TaskId, TaskPayload>>,
}

impl TaskStore for Disk {
    fn read(&self, id: TaskId) -> Result<Option<Task>, String> {
        let Some(mut task) = self.tasks.lock().expect("disk").get(&id).cloned() else {
            return Ok(None);
        };
        if let Some(payload) = self.payloads.lock().expect("disk").get(&id) {
            task.args = payload.args.clone();
            task.headers = payload.headers.clone();
        }
        Ok(Some(task))
    }
}

impl Disk {
    /// An empty state over an empty disk, that reads every body it changes back from it.
    pub fn state() -> (QueueState, Arc<Disk>) {
        let disk = Arc::new(Disk::default());
        let mut state = QueueState::restore_over(Default::default(), [], disk.clone());
        state.cache_bodies(0);
        (state, disk)
    }

    /// Writes what the last applies changed, as the state machine does, and lets the state drop
    /// those bodies from memory.
    pub fn write(&self, state: &mut QueueState) {
        let changes = state.take_changes();
        self.write_changes(state, changes);
    }

    /// A task's records as an earlier release may have left them.
    pub fn put(&self, task: Task, payload: TaskPayload) {
        self.tasks.lock().expect("disk").insert(task.id, task);
        self.payloads.lock().expect("disk").insert(payload.id, payload);
    }

    pub fn write_changes(&self, state: &mut QueueState, changes: crate::queue::state::Changes) {
        for id in &changes.records {
            let record = state.get_record(id);
            match (id, record) {
                (RecordId::Task(_), Some(RecordRef::Task(task))) => {
                    let mut task = task.clone();
                    task.args.clear();
                    task.headers.clear();
                    self.tasks.lock().expect("disk").insert(task.id, task);
                }
                (RecordId::Payload(_), Some(RecordRef::Payload { id, args, headers })) => {
                    let payload = TaskPayload {
                        id: *id,
                        args: args.to_vec(),
                        headers: headers.clone(),
                    };
                    self.payloads.lock().expect("disk").insert(*id, payload);
                }
                (RecordId::Task(id), None) => {
                    self.tasks.lock().expect("disk").remove(id);
                }
                (RecordId::Payload(id), None) => {
                    self.payloads.lock().expect("disk").remove(id);
                }
                // Other records stay in memory whatever the mode.
                _ => {}
            }
        }
        assert_eq!(state.take_failure(), None);
        state.written();
    }
}
