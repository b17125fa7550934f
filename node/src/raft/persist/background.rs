//! Work a node does for itself rather than for a client, such as building a snapshot, runs at a
//! lower priority: on a busy machine it takes longer instead of slowing answers down, or a peer
//! on the same machine that restarts and reads its state back.

/// How much nicer than the node's other threads. Linux weighs nice 10 at about a tenth of nice
/// 0, so contended background work gets a tenth of a core, and all of an idle one.
const NICER_BY: i32 = 10;

/// Lowers the calling thread's priority; on Linux a nice value is a thread's own. A failure
/// costs only speed, so it is logged and the work goes on.
pub fn lower_this_thread() {
    if let Err(e) = rustix::process::nice(NICER_BY) {
        tracing::debug!(error = %e, "cannot lower this thread's priority");
    }
}
