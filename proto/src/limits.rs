//! Numbers that nodes and their clients must agree on.

/// A learner this close to the leader's last log entry counts as caught up: a node promotes it
/// to voter (the rest arrives with the next appends, well inside one election timeout), and the
/// console shows it as caught up.
pub const CAUGHT_UP_LAG: u64 = 64;
