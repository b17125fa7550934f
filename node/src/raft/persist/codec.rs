//! The one encoding of everything qraft writes to disk or sends between peers: a version byte,
//! then MessagePack with named fields, so records written today are read by the next release
//! (new fields carry `#[serde(default)]`; a new encoding gets a new version byte). Records kept
//! per task, millions of them, are written by position instead ([`encode_positional`]): their
//! field names were most of their bytes and most of the time a restart spent decoding them.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

const VERSION_MSGPACK_NAMED: u8 = 1;
const VERSION_MSGPACK_POSITIONAL: u8 = 2;

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, io::Error> {
    versioned(VERSION_MSGPACK_NAMED, value, rmp_serde::encode::write_named)
}

/// `value` with its fields by position, not by name: only for types whose new fields are added
/// last and `#[serde(default)]` (a record written before them ends early and gets the default),
/// and whose fields never serialized come after all others. For stored records only, never the
/// log: snapshots copy them, and like the snapshot format they are read by this release and newer.
pub fn encode_positional<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, io::Error> {
    versioned(VERSION_MSGPACK_POSITIONAL, value, rmp_serde::encode::write)
}

/// `version`, then `value` as `write` encodes it.
fn versioned<T: Serialize + ?Sized>(
    version: u8,
    value: &T,
    write: fn(&mut Vec<u8>, &T) -> Result<(), rmp_serde::encode::Error>,
) -> Result<Vec<u8>, io::Error> {
    let mut out = Vec::with_capacity(128);
    out.push(version);
    write(&mut out, value).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("encode: {e}")))?;
    Ok(out)
}

/// The length of `value` encoded, counted without keeping the bytes: what a log entry carrying
/// it grows by.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    struct Counter(usize);
    impl io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(1);
    // Encoding into a counter fails only for values that could not be encoded at all, which
    // fail again, with their error, where they are really written.
    let _ = rmp_serde::encode::write_named(&mut counter, value);
    counter.0
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, io::Error> {
    match bytes.split_first() {
        // The decoder takes a struct from a map of names or an array of positions alike.
        Some((&(VERSION_MSGPACK_NAMED | VERSION_MSGPACK_POSITIONAL), body)) => rmp_serde::from_slice(body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("decode: {e}"))),
        Some((version, _)) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unknown encoding version {version}: written by a newer qraft?"),
        )),
        None => Err(io::Error::new(io::ErrorKind::InvalidData, "empty record")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoded_length_is_the_length_of_the_encoding() {
        let value = (7u64, "x".repeat(300), vec![1u8; 70_000]);
        assert_eq!(encoded_len(&value), encode(&value).expect("encode").len());
    }

    #[test]
    fn round_trip_and_version_checks() {
        let value = (7u64, "x".to_string(), vec![1u8, 2, 3]);
        let bytes = encode(&value).expect("encode");
        assert_eq!(bytes[0], VERSION_MSGPACK_NAMED);
        let back: (u64, String, Vec<u8>) = decode(&bytes).expect("decode");
        assert_eq!(back, value);

        let mut future = bytes.clone();
        future[0] = 99;
        assert!(decode::<(u64, String, Vec<u8>)>(&future).is_err());
        assert!(decode::<u64>(&[]).is_err());
        assert!(decode::<u64>(&[VERSION_MSGPACK_NAMED, 0xc1]).is_err());
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Before {
        seq: u64,
        name: String,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct After {
        seq: u64,
        name: String,
        #[serde(default)]
        added: Option<u64>,
        #[serde(default, skip_serializing)]
        never_written: Vec<u8>,
    }

    #[test]
    fn a_positional_record_reads_back_and_a_field_added_since_takes_its_default() {
        let before = Before {
            seq: 7,
            name: "mail".into(),
        };
        let by_position = encode_positional(&before).expect("encode");
        assert_eq!(by_position[0], VERSION_MSGPACK_POSITIONAL);
        assert!(by_position.len() < encode(&before).expect("encode").len());
        let after: After = decode(&by_position).expect("decode");
        assert_eq!(
            after,
            After {
                seq: 7,
                name: "mail".into(),
                added: None,
                never_written: Vec::new(),
            }
        );
        let again = After {
            added: Some(3),
            never_written: vec![1],
            ..after
        };
        let back: After = decode(&encode_positional(&again).expect("encode")).expect("decode");
        assert_eq!(back.added, Some(3));
        assert!(back.never_written.is_empty());
    }

    #[test]
    fn a_task_reads_back_from_its_positional_record_at_a_fraction_of_the_named_size() {
        use crate::queue::task::{ConcurrencyLimit, Lease, RetryPolicy, TaskOptions, TaskState};
        let task = crate::queue::Task {
            id: crate::queue::TaskId::generate(),
            name: "mail.send".into(),
            queue: "default".into(),
            payload_bytes: Some(100),
            priority: 3,
            state: TaskState::Started,
            seq: 41,
            created_at_ms: 1_700_000_000_000,
            options: TaskOptions {
                retry: RetryPolicy::default(),
                timeout_ms: Some(1_000),
                result_ttl_ms: 60_000,
                delivery_limit: 20,
                dead_letter_ttl_ms: 60_000,
                concurrency: Some(ConcurrencyLimit {
                    key: "customer-7".into(),
                    max: 2,
                }),
            },
            attempts: 1,
            deliveries: 1,
            retries: 0,
            worker: Some("n1-w3".into()),
            lease: Some(Lease {
                worker: "n1-w3".into(),
                delivery: 1,
                deadline_ms: 1_700_000_030_000,
            }),
            result: None,
            error: None,
            eta_ms: None,
            expires_at_ms: Some(1_700_000_090_000),
            retry_at_ms: None,
            started_at_ms: Some(1_700_000_000_005),
            finished_at_ms: None,
            idempotency_key: Some("order-9".into()),
            dedup_until_ms: Some(1_700_000_060_000),
            flow: None,
            finish_seq: None,
            args: Vec::new(),
            headers: Default::default(),
        };
        let by_position = encode_positional(&task).expect("encode");
        let by_name = encode(&task).expect("encode");
        let back: crate::queue::Task = decode(&by_position).expect("decode");
        assert_eq!(back, task);
        assert!(
            by_position.len() * 2 < by_name.len(),
            "{} against {}",
            by_position.len(),
            by_name.len()
        );
    }

    mod fuzz {
        //! Whatever bytes reach a decoder (a damaged record, a hostile peer), the answer is a
        //! value or an error, never a panic. Longer runs: `PROPTEST_CASES=100000 cargo test -p
        //! qraft-node --lib fuzz_`.

        use proptest::prelude::*;

        use super::super::*;
        use crate::queue::{Command, RetryPolicy, SubmitTask, TaskId, TaskOptions};
        use crate::raft::types::{Entry, Proposal, Vote};

        fn proposal() -> Vec<u8> {
            let submit = SubmitTask {
                id: TaskId::generate(),
                name: "mail.send".into(),
                queue: "default".into(),
                args: b"{\"to\":\"ada\"}".to_vec(),
                headers: [("k".to_owned(), "v".to_owned())].into_iter().collect(),
                priority: 3,
                options: TaskOptions {
                    retry: RetryPolicy::default(),
                    timeout_ms: Some(1_000),
                    result_ttl_ms: 60_000,
                    dead_letter_ttl_ms: 60_000,
                    delivery_limit: 20,
                    concurrency: None,
                },
                eta_ms: Some(5),
                countdown_ms: None,
                expires_in_ms: None,
                idempotency_key: Some("key".into()),
                dedup_window_ms: 10,
                flow: None,
            };
            let commands = vec![
                Command::Submit(submit),
                Command::Revoke {
                    id: TaskId::generate(),
                },
            ];
            encode(&Proposal {
                stamped_at_ms: 1,
                commands,
            })
            .expect("encode")
        }

        fn decode_all(bytes: &[u8]) {
            let _ = decode::<Proposal>(bytes);
            let _ = decode::<Entry>(bytes);
            let _ = decode::<Vote>(bytes);
            let _ = decode::<Command>(bytes);
            let _ = decode::<crate::queue::Task>(bytes);
        }

        proptest! {
            #[test]
            fn fuzz_random_bytes_never_panic_a_decoder(body in proptest::collection::vec(any::<u8>(), 0..512)) {
                for version in [VERSION_MSGPACK_NAMED, VERSION_MSGPACK_POSITIONAL] {
                    let mut bytes = vec![version];
                    bytes.extend(&body);
                    decode_all(&bytes);
                }
            }

            #[test]
            fn fuzz_a_damaged_proposal_never_panics_a_decoder(
                flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                cut in any::<prop::sample::Index>(),
            ) {
                let mut bytes = proposal();
                for (at, value) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                decode_all(&bytes);
                let keep = cut.index(bytes.len());
                decode_all(&bytes[..keep]);
            }
        }
    }
}
