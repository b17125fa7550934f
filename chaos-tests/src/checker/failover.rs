//! Failover time: for every fault that took the leader away, the time from the fault to the
//! first acknowledgement of a submit *sent after the fault*. That is what a client sees (the
//! cluster is back when it accepts new writes), not when some node first calls itself leader;
//! and an answer to a write the old leader committed just before the fault does not count.

use serde::Serialize;

use crate::history::{Entry, Millis};

/// One leader-losing fault and how long the cluster took to accept a write again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failover {
    pub fault_at: Millis,
    pub nemesis: String,
    pub detail: String,
    /// From the fault to the first acknowledged submit after it; `None` when none followed.
    pub took_ms: Option<u64>,
    /// The first heal after the fault, if any.
    pub healed_at: Option<Millis>,
}

impl Failover {
    /// A failover that never came is a violation only once the fault was healed: before that
    /// (the run ended with the fault in place) the cluster may rightly have had no majority.
    pub(super) fn stuck(&self) -> bool {
        self.took_ms.is_none() && self.healed_at.is_some()
    }

    pub(super) fn describe_stuck(&self) -> String {
        let healed = self
            .healed_at
            .map_or_else(String::new, |t| format!(", not even after the heal at {t} ms"));
        format!(
            "failover: leader lost at {} ms ({}: {}) and no submit was acknowledged afterwards{healed}",
            self.fault_at, self.nemesis, self.detail
        )
    }
}

/// Summary of the failovers that recovered, in milliseconds. Percentiles are nearest-rank: the
/// smallest sample with at least p% of the samples at or below it, so every figure is a time
/// that was measured. The median is therefore the lower middle of an even count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FailoverStats {
    pub count: usize,
    pub min_ms: u64,
    pub median_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
}

impl FailoverStats {
    /// `None` for no samples.
    pub fn of(samples: &[u64]) -> Option<FailoverStats> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(FailoverStats {
            count: sorted.len(),
            min_ms: *sorted.first()?,
            median_ms: nearest_rank(&sorted, 50)?,
            p99_ms: nearest_rank(&sorted, 99)?,
            max_ms: *sorted.last()?,
        })
    }
}

/// The nearest-rank `percent`th percentile of sorted samples: the value at rank
/// ceil(percent/100 × n), counting from 1.
fn nearest_rank(sorted: &[u64], percent: usize) -> Option<u64> {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The failover side of a verdict.
#[derive(Debug, Default)]
pub(super) struct FailoverFindings {
    pub failovers: Vec<Failover>,
    pub stats: Option<FailoverStats>,
}

pub(super) fn check(entries: &[Entry]) -> FailoverFindings {
    let mut heals: Vec<Millis> = Vec::new();
    let mut faults: Vec<(Millis, &str, &str)> = Vec::new();
    for entry in entries {
        match entry {
            Entry::Heal { t } => heals.push(*t),
            Entry::Fault {
                t,
                nemesis,
                detail,
                leader_loss: true,
            } => faults.push((*t, nemesis, detail)),
            _ => {}
        }
    }
    let acknowledged = acknowledged_submits(entries);
    heals.sort_unstable();
    faults.sort_by_key(|&(t, _, _)| t);

    let failovers: Vec<Failover> = faults
        .into_iter()
        .map(|(fault_at, nemesis, detail)| Failover {
            fault_at,
            nemesis: nemesis.to_owned(),
            detail: detail.to_owned(),
            took_ms: first_sent_after(&acknowledged, fault_at).map(|ok_at| ok_at - fault_at),
            healed_at: first_after(&heals, fault_at),
        })
        .collect();
    let samples: Vec<u64> = failovers.iter().filter_map(|failover| failover.took_ms).collect();
    FailoverFindings {
        stats: FailoverStats::of(&samples),
        failovers,
    }
}

/// Every acknowledged submit as (sent, acknowledged): each `Ok` paired with the latest `Invoke`
/// of the same key by the same producer (a key is sent again only after an unknown outcome).
/// Pairing by key, not by order, keeps an answer and the next key's invoke in the same
/// millisecond apart.
fn acknowledged_submits(entries: &[Entry]) -> Vec<(Millis, Millis)> {
    let mut sent: std::collections::BTreeMap<(u64, &str), Vec<Millis>> = Default::default();
    for entry in entries {
        if let Entry::Invoke { t, process, key, .. } = entry {
            sent.entry((*process, key.as_str())).or_default().push(*t);
        }
    }
    entries
        .iter()
        .filter_map(|entry| match entry {
            Entry::Ok { t, process, key, .. } => {
                let invokes = sent.get(&(*process, key.as_str()))?;
                let latest = invokes.iter().filter(|sent_at| **sent_at <= *t).max()?;
                Some((*latest, *t))
            }
            _ => None,
        })
        .collect()
}

/// The earliest acknowledgement of a submit sent at or after `fault_at`.
fn first_sent_after(acknowledged: &[(Millis, Millis)], fault_at: Millis) -> Option<Millis> {
    acknowledged
        .iter()
        .filter(|(sent, _)| *sent >= fault_at)
        .map(|(_, ok_at)| *ok_at)
        .min()
}

/// The first time in `sorted` strictly after `t`.
fn first_after(sorted: &[Millis], t: Millis) -> Option<Millis> {
    sorted.get(sorted.partition_point(|&other| other <= t)).copied()
}
