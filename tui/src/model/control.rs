//! Schedules and limits as the console knows them: the cluster's periodic tasks and its
//! cluster-wide rate limits and concurrency keys, as plain Rust.

/// One periodic schedule and its run history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleView {
    pub name: String,
    pub trigger: Trigger,
    /// The task name and queue each run submits.
    pub task: String,
    pub queue: String,
    pub paused: bool,
    /// Cluster times, Unix ms; 0 when none (a paused schedule has no next run).
    pub next_run_ms: u64,
    pub last_run_ms: u64,
    /// The task the last run submitted, so the operator can look it up in the Tasks view.
    pub last_task_id: String,
    pub runs: u64,
    /// Due times the misfire policy skipped.
    pub missed: u64,
    pub misfire: Misfire,
    pub created_at_ms: u64,
}

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Cron with seconds, in an IANA zone (empty means UTC).
    Cron { expr: String, zone: String },
    /// A fixed interval in ms.
    Every(u64),
}

impl Default for Trigger {
    fn default() -> Self {
        Trigger::Every(0)
    }
}

/// What a schedule does with due times the cluster could not fire in time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Misfire {
    #[default]
    Skip,
    /// Runs at most `limit` of the missed due times at once.
    CatchUp { limit: u32 },
}

/// A cluster-wide rate limit: at most `count` starts in any window of `per_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimitView {
    /// `task:NAME` or `queue:NAME`.
    pub scope: String,
    pub count: u32,
    pub per_ms: u64,
    /// Starts inside the current window.
    pub used: u32,
    /// When a full window next has room (cluster time, Unix ms); 0 when it is not full.
    pub frees_at_ms: u64,
}

/// A concurrency key with tasks running now. The protocol reports only the running count:
/// the limit belongs to each task (`concurrency_limit`), not to the key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUsageView {
    pub key: String,
    pub running: u32,
}
