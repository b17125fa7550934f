//! How much one list reply (tasks, dead letters, flows) holds: a count the caller asks for, and a
//! size the client will decode.

use prost::Message;
use qraft_proto::limits::MAX_MESSAGE;

use crate::ops::{DEFAULT_LIST, MAX_LIST};

/// Room in [`MAX_MESSAGE`] for the reply's other fields.
const REPLY_OVERHEAD: usize = 64;

/// The number of entries a request asks for: 0 means the default, and there is a ceiling.
pub fn list_limit(limit: u32) -> usize {
    match limit {
        0 => DEFAULT_LIST,
        n => usize::try_from(n).unwrap_or(MAX_LIST).min(MAX_LIST),
    }
}

/// The leading `entries` that fit in one reply a client will decode, and whether any were left
/// out.
pub fn fit_in_reply<T: Message>(entries: impl IntoIterator<Item = T>) -> (Vec<T>, bool) {
    fit_in(entries, MAX_MESSAGE - REPLY_OVERHEAD)
}

fn fit_in<T: Message>(entries: impl IntoIterator<Item = T>, budget: usize) -> (Vec<T>, bool) {
    let mut kept = Vec::new();
    let mut used = 0;
    for entry in entries {
        let len = entry.encoded_len();
        // As a repeated field: a one-byte tag, the length, the entry.
        let cost = 1 + prost::length_delimiter_len(len) + len;
        if used + cost > budget {
            return (kept, true);
        }
        used += cost;
        kept.push(entry);
    }
    (kept, false)
}

#[cfg(test)]
mod tests {
    use qraft_proto::pb;

    use super::*;

    fn task(arg_bytes: usize) -> pb::Task {
        pb::Task {
            id: "01M8VFJ5E3Y01ZPT8MMW2X5GH7".into(),
            args: vec![7; arg_bytes],
            ..pb::Task::default()
        }
    }

    #[test]
    fn a_list_stops_before_the_entry_that_would_overflow_the_reply() {
        let one = pb::ListTasksResponse {
            tasks: vec![task(1000)],
            truncated: false,
        }
        .encoded_len();
        let (kept, truncated) = fit_in((0..10).map(|_| task(1000)), 3 * one + one / 2);
        assert_eq!((kept.len(), truncated), (3, true));
        let reply = pb::ListTasksResponse {
            tasks: kept,
            truncated,
        };
        assert!(reply.encoded_len() <= 3 * one + one / 2 + REPLY_OVERHEAD);
    }

    #[test]
    fn a_list_that_fits_is_whole() {
        let (kept, truncated) = fit_in((0..10).map(|_| task(10)), 1 << 20);
        assert_eq!((kept.len(), truncated), (10, false));
        let (kept, truncated) = fit_in(Vec::<pb::Task>::new(), 0);
        assert_eq!((kept.len(), truncated), (0, false));
    }

    #[test]
    fn the_limit_has_a_default_and_a_ceiling() {
        assert_eq!(list_limit(0), DEFAULT_LIST);
        assert_eq!(list_limit(7), 7);
        assert_eq!(list_limit(u32::MAX), MAX_LIST);
    }
}
