//! Queues served by one worker take turns. A `Lease` command hands out tasks across all its
//! queues by priority, so a priority-0 task alone in its queue would wait behind every
//! priority-5 task of another. A worker's lease is therefore proposed as one `Lease` per queue
//! with work, its free slots shared out between them, starting from a queue that changes with
//! every lease: priority orders tasks within a queue, and no queue waits behind another.
//!
//! This is decided where the lease is proposed, from the proposing node's replica; the
//! commands are plain `Lease` commands, applied as they always were.

use super::QueueState;
use crate::queue::lease::{LeaseRequest, MAX_LEASE_REPLY_BYTES};

/// Most queues one lease takes from: each reply is bounded by [`MAX_LEASE_REPLY_BYTES`], and
/// together they stay well inside a client's message limit. The others get their turn next.
pub const MAX_QUEUES_PER_LEASE: usize = 4;

const _: () = assert!(MAX_QUEUES_PER_LEASE as u64 * MAX_LEASE_REPLY_BYTES <= 32 * 1024 * 1024);

impl QueueState {
    /// `request` as one lease per queue that has work for it on this replica, each named once:
    /// from the one at `turn` (modulo their number) on, in the request's order, with `max`
    /// shared out between them (the first in turn get what does not divide evenly). With no
    /// queue that has work, or only one queue, the request as it is.
    pub fn lease_in_turns(&self, request: &LeaseRequest, turn: usize) -> Vec<LeaseRequest> {
        if !request.takes_turns() {
            return vec![request.clone()];
        }
        let mut with_work: Vec<&String> = Vec::new();
        for queue in &request.queues {
            if !with_work.contains(&queue) && self.runnable(queue, &request.names).next().is_some() {
                with_work.push(queue);
            }
        }
        if with_work.is_empty() {
            return vec![request.clone()];
        }
        // Turns go round the queues with work, so an idle queue between two busy ones does
        // not hand its turn to the next.
        let start = turn % with_work.len();
        with_work.rotate_left(start);
        with_work.truncate(MAX_QUEUES_PER_LEASE.min(request.max as usize));
        let count = with_work.len() as u32;
        let (share, rest) = (request.max / count, request.max % count);
        with_work
            .into_iter()
            .enumerate()
            .map(|(i, queue)| LeaseRequest {
                queues: vec![queue.clone()],
                max: share + u32::from((i as u32) < rest),
                ..request.clone()
            })
            .collect()
    }
}
