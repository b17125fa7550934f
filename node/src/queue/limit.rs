//! Cluster-wide rate limits: at most `count` tasks of one name, or of one queue, may start in any
//! window of `per_ms` cluster time. They are enforced where leases are decided (in apply), so
//! they hold however many workers ask and whichever node leads.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::validate::must_be_name;

/// Most starts one limit may allow per window: each allowed start is remembered until it leaves
/// the window, so this bounds the memory a limit takes.
pub const MAX_RATE_COUNT: u32 = 100_000;

/// What a limit counts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LimitScope {
    /// Tasks with this name, in any queue.
    Task(String),
    /// Tasks of this queue, whatever their name.
    Queue(String),
}

impl LimitScope {
    /// The key of the limit's record: the scope as written on the command line.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for LimitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitScope::Task(name) => write!(f, "task:{name}"),
            LimitScope::Queue(name) => write!(f, "queue:{name}"),
        }
    }
}

impl FromStr for LimitScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let scope = match s.split_once(':') {
            Some(("task", name)) => LimitScope::Task(name.to_string()),
            Some(("queue", name)) => LimitScope::Queue(name.to_string()),
            _ => return Err(format!("{s:?} is not a limit scope; use task:NAME or queue:NAME")),
        };
        match &scope {
            LimitScope::Task(name) => must_be_name("task name", name)?,
            LimitScope::Queue(name) => must_be_name("queue name", name)?,
        }
        Ok(scope)
    }
}

/// `count` starts per `per_ms`, written `100/s`, `10/m`, `1000/h` (or `5/250ms`, `3/10s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    pub count: u32,
    pub per_ms: u64,
}

impl Rate {
    pub fn must_be_valid(&self) -> Result<(), String> {
        if !(1..=MAX_RATE_COUNT).contains(&self.count) {
            return Err(format!(
                "a rate allows 1..={MAX_RATE_COUNT} starts per window, not {}",
                self.count
            ));
        }
        if !(1..=super::validate::MAX_DURATION_MS).contains(&self.per_ms) {
            return Err(format!("a rate's window of {} ms is out of range", self.per_ms));
        }
        Ok(())
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = match self.per_ms {
            1_000 => "s".to_string(),
            60_000 => "m".to_string(),
            3_600_000 => "h".to_string(),
            ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
            ms => format!("{ms}ms"),
        };
        write!(f, "{}/{per}", self.count)
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a rate; write COUNT/UNIT, e.g. 100/s, 10/m, 1000/h, 5/250ms");
        let (count, per) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per_ms = match per.trim() {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            other => humantime::parse_duration(other)
                .map_err(|_| bad())?
                .as_millis()
                .try_into()
                .map_err(|_| bad())?,
        };
        let rate = Rate { count, per_ms };
        rate.must_be_valid()?;
        Ok(rate)
    }
}

/// One limit and the starts it allowed that are still inside its window, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub scope: LimitScope,
    pub rate: Rate,
    pub starts: VecDeque<u64>,
}

impl Limit {
    /// Starts inside the window that ends at `now`.
    pub fn used(&self, now: u64) -> u32 {
        let window_start = now.saturating_sub(self.rate.per_ms);
        let outside = self.starts.partition_point(|&at| at <= window_start);
        (self.starts.len() - outside) as u32
    }

    /// Starts still allowed in the window that ends at `now`.
    pub fn room(&self, now: u64) -> u32 {
        self.rate.count.saturating_sub(self.used(now))
    }

    /// When the window next has room, if it is full now: the oldest start inside it leaves.
    pub fn frees_at(&self, now: u64) -> Option<u64> {
        if self.room(now) > 0 {
            return None;
        }
        let inside = self.starts.len() - self.used(now) as usize;
        self.starts
            .get(inside)
            .map(|at| at.saturating_add(self.rate.per_ms))
    }

    /// Remembers a start at `now` and forgets those that left the window.
    pub fn record_start(&mut self, now: u64) {
        let window_start = now.saturating_sub(self.rate.per_ms);
        while self.starts.front().is_some_and(|&at| at <= window_start) {
            self.starts.pop_front();
        }
        self.starts.push_back(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print_alike() {
        for (text, count, per_ms) in [
            ("100/s", 100, 1_000),
            ("10/m", 10, 60_000),
            ("1000/h", 1000, 3_600_000),
            ("5/250ms", 5, 250),
            ("3/10s", 3, 10_000),
        ] {
            let rate: Rate = text.parse().expect(text);
            assert_eq!(rate, Rate { count, per_ms });
            assert_eq!(rate.to_string(), text);
        }
        for bad in ["", "10", "x/s", "0/s", "10/fortnight", "10/0s", "100001/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn scopes_parse_and_print_alike() {
        assert_eq!("task:mail.send".parse(), Ok(LimitScope::Task("mail.send".into())));
        assert_eq!("queue:emails".parse(), Ok(LimitScope::Queue("emails".into())));
        assert_eq!(LimitScope::Queue("q".into()).to_string(), "queue:q");
        for bad in ["mail.send", "worker:w", "task:", "queue:a b"] {
            assert!(bad.parse::<LimitScope>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn the_window_slides() {
        let mut limit = Limit {
            scope: LimitScope::Task("t".into()),
            rate: Rate {
                count: 2,
                per_ms: 1_000,
            },
            starts: VecDeque::new(),
        };
        limit.record_start(100);
        limit.record_start(600);
        assert_eq!(limit.room(700), 0);
        assert_eq!(limit.frees_at(700), Some(1_100));
        assert_eq!(
            limit.room(1_100),
            1,
            "the start at 100 left the window (100, 1100]"
        );
        assert_eq!(limit.frees_at(1_100), None);
        limit.record_start(1_100);
        assert_eq!(limit.starts, VecDeque::from([600, 1_100]));
        assert_eq!(limit.frees_at(1_200), Some(1_600));
    }
}
