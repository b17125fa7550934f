//! Schedules and limits as the console knows them: the cluster's periodic tasks and its
//! cluster-wide rate limits, concurrency keys, queue caps and stored totals, as plain Rust.

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

/// Everything one ListLimits answer says, kept or replaced as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitsView {
    pub rate_limits: Vec<RateLimitView>,
    /// Concurrency keys with running tasks (keys with none are not reported).
    pub concurrency_keys: Vec<KeyUsageView>,
    pub queue_caps: Vec<QueueCapView>,
    /// `None` from a node too old to report it.
    pub store: Option<StoreUsageView>,
}

/// A queue's caps on the unfinished tasks (waiting or running) it holds; a submit past one is
/// refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueCapView {
    pub queue: String,
    /// `None`: no cap.
    pub max_length: Option<u64>,
    /// On the tasks' args and headers; `None`: no cap.
    pub max_bytes: Option<u64>,
    /// What the queue holds now.
    pub length: u64,
    pub bytes: u64,
}

/// What the whole cluster holds (finished tasks and dead letters included) against the
/// answering node's cluster-wide caps, which every replica must fit in memory and on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreUsageView {
    pub tasks: u64,
    pub max_tasks: u64,
    pub bytes: u64,
    pub max_bytes: u64,
}

/// Held at or above 90% of `cap`: the moment to act, before submits start being refused.
pub fn near_full(held: u64, cap: u64) -> bool {
    // In u128, so a cap near u64::MAX cannot overflow.
    u128::from(held) * 10 >= u128::from(cap) * 9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_full_starts_at_ninety_percent() {
        assert!(!near_full(89, 100));
        assert!(near_full(90, 100));
        assert!(near_full(120, 100), "past the cap is full too");
        assert!(near_full(0, 0), "a cap of nothing is full");
        assert!(!near_full(u64::MAX / 2, u64::MAX));
        assert!(near_full(u64::MAX, u64::MAX));
    }
}
