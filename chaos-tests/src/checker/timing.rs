//! Time as the tasks saw it, judged by the harness's own clock: no countdown ran out early, no
//! task expired early, and the rate-limited queue never stood still while it had work. A
//! stepped wall clock that leaked into cluster time would break one of the three.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Capped;
use crate::history::{Entry, Millis, Timing};

/// How far ahead of real time cluster time may run. A leader whose clock jumped ahead pulls
/// cluster time toward it by at most a tenth of the time it keeps leading, and it gives up
/// leading at its next clock check (every 5 s, plus the time to hand over): well under a
/// second. A step of minutes leaking through shows as seconds early.
pub const EARLY_TOLERANCE_MS: Millis = 1_000;
/// The longest the limited queue may stand still while a task of it waits. A failover, a
/// restart or a lease lost with its node stalls it for a few seconds; a cluster clock that
/// stopped (a leader whose clock went back) stalls it for as long as that leader leads, which
/// the clock nemesis makes longer than this.
pub const MAX_STALL_MS: Millis = 15_000;

/// A task that ran, or expired, before its time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Early {
    pub task_id: String,
    pub key: String,
    /// When the harness first sent it.
    pub sent_at: Millis,
    /// When it ran, or was first seen expired.
    pub at: Millis,
    /// Its countdown, or its expiry.
    pub after_ms: Millis,
}

impl Early {
    fn describe(&self, what: &str) -> String {
        format!(
            "early: task {} (key {}) {what} {} ms after it was sent, {} ms before its {} ms ran out",
            self.task_id,
            self.key,
            self.at.saturating_sub(self.sent_at),
            (self.sent_at + self.after_ms).saturating_sub(self.at),
            self.after_ms
        )
    }
}

/// A time the limited queue stood still while a task of it waited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stall {
    /// The waiting task that saw the stall.
    pub task_id: String,
    pub from: Millis,
    pub to: Millis,
}

/// The timing side of the verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TimingFindings {
    pub countdowns_run: usize,
    pub expiries_seen: usize,
    pub limited_run: usize,
    /// The longest the limited queue stood still while a task of it waited.
    pub longest_stall_ms: Millis,
    pub early_runs: Capped<Early>,
    pub early_expiries: Capped<Early>,
    pub stalls: Capped<Stall>,
}

impl TimingFindings {
    pub(super) fn describe_into(&self, out: &mut Vec<String>) {
        self.early_runs
            .describe_into("early", out, |early| early.describe("ran"));
        self.early_expiries
            .describe_into("early", out, |early| early.describe("expired"));
        self.stalls.describe_into("stall", out, |stall| {
            format!(
                "stall: the limited queue ran nothing from {} to {} ms while task {} waited",
                stall.from, stall.to, stall.task_id
            )
        });
    }
}

/// A task the timed producer sent: its key, timing and first send.
struct Sent<'a> {
    key: &'a str,
    timing: Timing,
    first_sent: Millis,
    acked: Option<Millis>,
}

pub(super) fn check(entries: &[Entry]) -> TimingFindings {
    let mut by_key: BTreeMap<&str, Sent> = BTreeMap::new();
    for entry in entries {
        if let Entry::Invoke { t, key, timing, .. } = entry
            && !timing.is_now()
        {
            let sent = by_key.entry(key).or_insert(Sent {
                key,
                timing: *timing,
                first_sent: *t,
                acked: None,
            });
            sent.first_sent = sent.first_sent.min(*t);
        }
    }
    let mut task_of: BTreeMap<&str, &str> = BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::Ok { t, key, task_id, .. } => {
                if let Some(sent) = by_key.get_mut(key.as_str()) {
                    sent.acked = Some(sent.acked.map_or(*t, |acked| acked.min(*t)));
                    task_of.insert(task_id, key);
                }
            }
            Entry::Final { task_id, key, .. } if by_key.contains_key(key.as_str()) => {
                task_of.insert(task_id, key);
            }
            _ => {}
        }
    }
    let sent_of = |task_id: &str| task_of.get(task_id).and_then(|key| by_key.get(key));

    let mut found = TimingFindings::default();
    let mut early_runs = Vec::new();
    let mut early_expiries = Vec::new();
    let mut limited_runs: Vec<Millis> = Vec::new();
    let mut first_run: BTreeMap<&str, Millis> = BTreeMap::new();
    for entry in entries {
        match entry {
            Entry::Executed { t, task_id, .. } => {
                let Some(sent) = sent_of(task_id) else {
                    continue;
                };
                match sent.timing {
                    Timing::Countdown { countdown_ms } => {
                        found.countdowns_run += 1;
                        if *t + EARLY_TOLERANCE_MS < sent.first_sent + countdown_ms {
                            early_runs.push(early(task_id, sent, *t, countdown_ms));
                        }
                    }
                    Timing::Limited => {
                        found.limited_run += 1;
                        limited_runs.push(*t);
                        let first = first_run.entry(task_id).or_insert(*t);
                        *first = (*first).min(*t);
                    }
                    Timing::Now | Timing::Expiring { .. } => {}
                }
            }
            Entry::SeenExpired { t, task_id } => {
                let Some(sent) = sent_of(task_id) else {
                    continue;
                };
                if let Timing::Expiring { expires_in_ms } = sent.timing {
                    found.expiries_seen += 1;
                    if *t + EARLY_TOLERANCE_MS < sent.first_sent + expires_in_ms {
                        early_expiries.push(early(task_id, sent, *t, expires_in_ms));
                    }
                }
            }
            _ => {}
        }
    }
    push_sorted(&mut found.early_runs, early_runs);
    push_sorted(&mut found.early_expiries, early_expiries);
    limited_runs.sort_unstable();
    for (task_id, ran) in first_run {
        let Some(waiting_since) = sent_of(task_id).and_then(|sent| sent.acked) else {
            continue;
        };
        let (from, to) = longest_gap(waiting_since, ran, &limited_runs);
        found.longest_stall_ms = found.longest_stall_ms.max(to - from);
        if to - from > MAX_STALL_MS {
            found.stalls.push(Stall {
                task_id: task_id.to_owned(),
                from,
                to,
            });
        }
    }
    found
}

/// Findings in time order, whatever the order of the history.
fn push_sorted(into: &mut Capped<Early>, mut findings: Vec<Early>) {
    findings.sort_by(|a, b| (a.at, &a.task_id).cmp(&(b.at, &b.task_id)));
    for finding in findings {
        into.push(finding);
    }
}

fn early(task_id: &str, sent: &Sent, at: Millis, after_ms: Millis) -> Early {
    Early {
        task_id: task_id.to_owned(),
        key: sent.key.to_owned(),
        sent_at: sent.first_sent,
        at,
        after_ms,
    }
}

/// The longest stretch in `[from, to]` with no time of `runs` (sorted) inside it.
fn longest_gap(from: Millis, to: Millis, runs: &[Millis]) -> (Millis, Millis) {
    let start = runs.partition_point(|&t| t <= from);
    let mut longest = (from, from);
    let mut last = from;
    for &t in runs[start..].iter().take_while(|&&t| t <= to) {
        if t - last > longest.1 - longest.0 {
            longest = (last, t);
        }
        last = t;
    }
    if to > last && to - last > longest.1 - longest.0 {
        longest = (last, to);
    }
    longest
}
