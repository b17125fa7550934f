//! Workflows as the console knows them: chains, groups and chords, their parts and progress.

use super::TaskState;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowView {
    pub id: String,
    pub kind: FlowKind,
    pub state: FlowState,
    /// A chain's steps, or a group's or chord's members, in order.
    pub parts: Vec<FlowPartView>,
    /// Chords only.
    pub callback: Option<FlowPartView>,
    /// Parts ended, of all parts (a chord's callback included), as the cluster counts them.
    pub done: u32,
    pub total: u32,
    pub result: Vec<u8>,
    pub error: String,
    /// Cluster times, Unix ms; `finished_at_ms` is 0 while it runs.
    pub created_at_ms: u64,
    pub finished_at_ms: u64,
    /// The key it was submitted with; empty when none.
    pub idempotency_key: String,
}

/// One step, member or callback of a flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowPartView {
    pub name: String,
    /// Empty until the part's task is enqueued (later chain steps, a chord's callback).
    pub task_id: String,
    /// The outcome once it ended, the task's state while it runs; `None` before it is enqueued.
    pub state: Option<TaskState>,
    pub error: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FlowKind {
    Chain,
    Group,
    Chord,
    #[default]
    Unknown,
}

impl FlowKind {
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Chain => "chain",
            FlowKind::Group => "group",
            FlowKind::Chord => "chord",
            FlowKind::Unknown => "?",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FlowState {
    Running,
    Succeeded,
    Failed,
    #[default]
    Unknown,
}

impl FlowState {
    pub fn name(self) -> &'static str {
        match self {
            FlowState::Running => "RUNNING",
            FlowState::Succeeded => "SUCCEEDED",
            FlowState::Failed => "FAILED",
            FlowState::Unknown => "?",
        }
    }
}
