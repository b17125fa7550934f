//! The kinds of record the state keeps, registered once. Each kind has a tag (the first byte of
//! its storage key), a key, and one variant in each enum below: [`RecordId`] names a record that
//! changed, [`RecordRef`] is the record as the state holds it (what gets stored), and [`Stored`]
//! is a record read back (what a restart restores). The state machine, snapshots and restart walk
//! these, so a new kind is a variant in each enum, its tag and its key, here, plus its place in
//! [`QueueState`](super::QueueState).

use serde::Serialize;

use super::cap::QueueCap;
use super::dedup::HeldKey;
use super::event::Event;
use super::flow::{Flow, FlowId};
use super::limit::{Limit, LimitScope};
use super::schedule::Schedule;
use super::state::{QueueTotals, TotalsRecord};
use super::task::{Task, TaskId, TaskPayload};
use super::worker::WorkerInfo;

/// Storage key tags; every key qraft writes starts with one, and all are below 0xFF.
pub const TASK: u8 = b't';
pub const WORKER: u8 = b'w';
pub const EVENT: u8 = b'e';
pub const LIMIT: u8 = b'l';
pub const SCHEDULE: u8 = b's';
pub const FLOW: u8 = b'f';
pub const KEY: u8 = b'k';
pub const CAP: u8 = b'c';
pub const TOTALS: u8 = b'q';
pub const PAYLOAD: u8 = b'a';

/// Every tag, in the order a restart reads them (tasks after keys: a task restored from before
/// key records existed looks for its key among those already read; payloads after tasks: each
/// joins the task it belongs to).
pub const TAGS: [u8; 10] = [
    WORKER, EVENT, LIMIT, CAP, TOTALS, SCHEDULE, FLOW, KEY, TASK, PAYLOAD,
];

/// The tags a node reads when it starts: every kind but payloads, which stay on disk until a
/// task is read (a task's record counts its payload's bytes).
pub fn read_at_start() -> impl Iterator<Item = u8> {
    TAGS.into_iter().filter(|tag| *tag != PAYLOAD)
}

/// A record that changed: its record must be written, or deleted if the state no longer has it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordId {
    Task(TaskId),
    /// A task's args and headers, written once.
    Payload(TaskId),
    Worker(String),
    Event(u64),
    Limit(LimitScope),
    /// A queue's caps, by the queue's name.
    Cap(String),
    /// A queue's totals, by the queue's name.
    Totals(String),
    Schedule(String),
    Flow(FlowId),
    Key(String),
}

impl RecordId {
    /// The storage key: the kind's tag, then the record's own key.
    pub fn key(&self) -> Vec<u8> {
        let (tag, own): (u8, Vec<u8>) = match self {
            RecordId::Task(id) => (TASK, id.to_bytes().to_vec()),
            RecordId::Payload(id) => (PAYLOAD, id.to_bytes().to_vec()),
            RecordId::Worker(id) => (WORKER, id.as_bytes().to_vec()),
            // Big-endian, so events come back oldest first.
            RecordId::Event(seq) => (EVENT, seq.to_be_bytes().to_vec()),
            RecordId::Limit(scope) => (LIMIT, scope.key().into_bytes()),
            RecordId::Cap(queue) => (CAP, queue.as_bytes().to_vec()),
            RecordId::Totals(queue) => (TOTALS, queue.as_bytes().to_vec()),
            RecordId::Schedule(name) => (SCHEDULE, name.as_bytes().to_vec()),
            RecordId::Flow(id) => (FLOW, id.to_bytes().to_vec()),
            RecordId::Key(key) => (KEY, key.as_bytes().to_vec()),
        };
        let mut key = Vec::with_capacity(1 + own.len());
        key.push(tag);
        key.extend_from_slice(&own);
        key
    }
}

/// A record as the state holds it; it is stored as its inner value.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RecordRef<'a> {
    Task(&'a Task),
    /// Stored as a [`TaskPayload`].
    Payload {
        id: &'a TaskId,
        #[serde(with = "serde_bytes")]
        args: &'a [u8],
        headers: &'a std::collections::BTreeMap<String, String>,
    },
    Worker(&'a WorkerInfo),
    Event(&'a Event),
    Limit(&'a Limit),
    Cap(&'a QueueCap),
    /// Stored as a [`TotalsRecord`].
    Totals {
        queue: &'a str,
        totals: &'a QueueTotals,
    },
    Schedule(&'a Schedule),
    Flow(&'a Flow),
    Key(&'a HeldKey),
}

impl RecordRef<'_> {
    /// Whether the record is stored with its fields by position rather than by name: the
    /// records kept per task, millions of them, whose field names were most of their bytes.
    pub fn by_position(&self) -> bool {
        matches!(self, RecordRef::Task(_) | RecordRef::Payload { .. })
    }
}

/// A record read back from storage.
#[derive(Clone, Debug)]
pub enum Stored {
    Task(Task),
    Payload(TaskPayload),
    Worker(WorkerInfo),
    Event(Event),
    Limit(Limit),
    Cap(QueueCap),
    Totals(TotalsRecord),
    Schedule(Schedule),
    Flow(Flow),
    Key(HeldKey),
}

/// Decodes a stored value whose kind its key's tag says; the decoding itself (the storage's
/// versioned encoding) is the caller's.
pub trait Decode {
    type Error;
    fn decode<T: serde::de::DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Self::Error>;
    /// The error for a record that is not one of the kinds above.
    fn unknown(&self, message: String) -> Self::Error;
}

/// The record stored under `key` with `value`.
pub fn decode<D: Decode>(decoder: &D, key: &[u8], value: &[u8]) -> Result<Stored, D::Error> {
    match key.first().copied() {
        Some(TASK) => decoder.decode(value).map(Stored::Task),
        Some(PAYLOAD) => decoder.decode(value).map(Stored::Payload),
        Some(WORKER) => decoder.decode(value).map(Stored::Worker),
        Some(EVENT) => decoder.decode(value).map(Stored::Event),
        Some(LIMIT) => decoder.decode(value).map(Stored::Limit),
        Some(CAP) => decoder.decode(value).map(Stored::Cap),
        Some(TOTALS) => decoder.decode(value).map(Stored::Totals),
        Some(SCHEDULE) => decoder.decode(value).map(Stored::Schedule),
        Some(FLOW) => decoder.decode(value).map(Stored::Flow),
        Some(KEY) => decoder.decode(value).map(Stored::Key),
        other => Err(decoder.unknown(format!("a stored record with unknown tag {other:?}"))),
    }
}
