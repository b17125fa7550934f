//! qraft-chaos: runs real `qraft node` processes, injects faults, records a history of every
//! operation and checks it: no acknowledged task lost, nothing unexpected, duplicates only where
//! a lease expired, at most one leader per term; and measures failover.
//!
//! - [`run`]: the command line; runs scenarios, prints the table, writes the report.
//! - [`scenario`]: one scenario from a fresh cluster to its verdict.
//! - [`cluster`]: the `qraft node` processes, on loopback or in network namespaces (`net`).
//! - [`workload`]: producers, remote workers and the leader sampler.
//! - [`nemesis`]: the faults.
//! - [`lazyfs`]: a FUSE filesystem that loses unsynced writes on a power cut, fills up, fails.
//! - [`history`]: the JSONL history every part writes and the checker reads.
//! - [`checker`]: the verdict on a history.
//! - [`report`]: the per-scenario table and JSON.
//! - [`wait`]: waiting on a condition with a deadline.

pub mod checker;
pub mod cluster;
pub mod history;
pub mod lazyfs;
pub mod nemesis;
pub mod report;
pub mod run;
pub mod scenario;
pub mod wait;
pub mod workload;
