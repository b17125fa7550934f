//! qraft's live console: cluster, queues, workers, tasks, events, schedules, limits and
//! workflows in a terminal.
//!
//! Split the way gitui and ratatui's component template split a TUI: state and its update
//! logic, rendering from that state alone, and network work on its own tasks.
//!
//! - [`model`]: what the console knows, as plain Rust (snapshots, events, cluster summary with
//!   the membership and voter-only quorum; schedules and limits in `model/control.rs`, flows in
//!   `model/flow.rs`).
//! - [`app`]: state plus [`app::App::update`], the pure transitions from messages; which row
//!   each view has selected in `app/selection.rs`.
//! - [`keys`]: the key table that drives dispatch, footer hints and the `?` help.
//! - [`action`]: the cluster-changing actions an operator can ask for.
//! - [`filter`]: the Tasks view's filter syntax.
//! - [`render`]: draws an [`app::App`]; one file per view (the Schedules view draws the limits
//!   beneath it from `render/limits.rs`) plus status bar, help and dialog.
//! - [`format`]: pure text formatting (ages, durations, rates, counts, byte sizes, payloads,
//!   progress bars, schedule triggers, events).
//! - `fetch`: the network worker (polling, event stream, actions); the only code that
//!   touches protobuf, in `fetch/convert.rs` and its submodules (`control.rs`, `event.rs`,
//!   `flows.rs`). `fetch/nodes.rs` decides which nodes to poll: those given, plus members the
//!   cluster added since, minus those it removed.
//! - `terminal`: the run loop and the keyboard reader.

pub mod action;
pub mod app;
mod fetch;
pub mod filter;
#[cfg(test)]
mod fixtures;
pub mod format;
pub mod keys;
pub mod model;
pub mod render;
mod terminal;

pub use terminal::{Options, run};
