//! The worker side of a node: every node runs tasks as well as brokering them.
//!
//! - [`handler`]: the [`Handler`] trait and the [`Registry`] of task names a node can run.
//! - [`builtin`]: `builtin.noop`, `builtin.echo`, `builtin.sleep`, `builtin.fail`, `builtin.cpu`.
//! - [`exec`]: programs declared in the node config, run per task.
//! - [`answers`]: the pool's acks and fails, batched.
//! - [`leader_first`]: a follower's pool leaves new work to the leader's pool for a moment.
//! - [`pool`]: [`WorkerPool`], which leases through the leader like any remote worker, with
//!   credit equal to its free slots, extends leases while tasks run, and answers for them.

pub mod answers;
pub mod builtin;
pub mod exec;
pub mod handler;
pub mod leader_first;
pub mod pool;

pub use handler::{Handler, Registry, TaskContext, TaskError};
pub use pool::{PoolSettings, WorkerPool};
