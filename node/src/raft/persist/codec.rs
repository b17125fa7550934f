//! The one encoding of everything qraft writes to disk or sends between peers: a version byte,
//! then MessagePack with named fields, so records written today are read by the next release
//! (new fields carry `#[serde(default)]`; a new encoding gets a new version byte).

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

const VERSION_MSGPACK_NAMED: u8 = 1;

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, io::Error> {
    let mut out = Vec::with_capacity(128);
    out.push(VERSION_MSGPACK_NAMED);
    rmp_serde::encode::write_named(&mut out, value)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("encode: {e}")))?;
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
        Some((&VERSION_MSGPACK_NAMED, body)) => rmp_serde::from_slice(body)
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
                let mut bytes = vec![VERSION_MSGPACK_NAMED];
                bytes.extend(body);
                decode_all(&bytes);
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
