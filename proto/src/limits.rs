//! Numbers that nodes and their clients must agree on.

/// A learner this close to the leader's last log entry counts as caught up: a node promotes it
/// to voter (the rest arrives with the next appends, well inside one election timeout), and the
/// console shows it as caught up.
pub const CAUGHT_UP_LAG: u64 = 64;

/// The largest gRPC message a node or a client decodes (gRPC's default is 4 MiB). It holds the
/// largest task, 16 MiB of args and 16 MiB of result at the highest payload limit, with room to
/// spare; a node stops a list reply short of it and says the list was truncated.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
