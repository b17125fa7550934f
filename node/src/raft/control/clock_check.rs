//! A leader checks its wall clock against its voters': stamps may follow that clock only once
//! a majority of voters (itself included) read within [`MAX_SKEW_MS`] of it, and a leader whose
//! clock a majority of voters, agreeing among themselves, reads far from theirs hands leadership
//! over (a node far off the cluster's time refuses to lead).

use std::time::Duration;

use crate::clock::{MAX_SKEW_MS, wall_ms};
use crate::raft::replica::Replica;

/// What the voters' clocks said of this node's.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A majority of voters agrees with this clock.
    Agree,
    /// A majority of voters reads this clock far from theirs: by about `skew_ms` (median).
    Disagree { skew_ms: i64 },
    /// Too few voters answered to tell.
    Unknown,
}

/// What the check found.
#[derive(Debug)]
pub struct Reading {
    pub verdict: Verdict,
    /// Each other voter that answered: its wall clock minus this node's (ms).
    pub voters: Vec<(u64, i64)>,
}

/// Asks every other voter for its wall clock, all at once (the middle of each call stands for
/// the moment it answered), and judges this node's.
pub async fn check(replica: &Replica) -> Reading {
    let status = replica.status();
    let voters: Vec<_> = status.members.iter().filter(|m| m.voter).collect();
    let others: Vec<(u64, String)> = voters
        .iter()
        .filter(|m| m.id != replica.id())
        .map(|m| (m.id, m.addr.clone()))
        .collect();
    let mut answers = Vec::new();
    if !others.is_empty() {
        let Ok(client) =
            qraft_proto::Client::with_credentials(others.iter().map(|(_, addr)| addr), &replica.as_peer())
        else {
            return Reading {
                verdict: Verdict::Unknown,
                voters: Vec::new(),
            };
        };
        let client = client.with_timeout(Duration::from_millis(500));
        let asks = others.iter().map(|(id, addr)| {
            let client = &client;
            async move {
                let before = wall_ms();
                let peer = client.node_status(addr).await.ok()?;
                let middle = before + wall_ms().saturating_sub(before) / 2;
                (peer.wall_ms > 0).then(|| {
                    let offset =
                        i64::try_from(i128::from(middle) - i128::from(peer.wall_ms)).unwrap_or(i64::MAX);
                    (*id, offset)
                })
            }
        });
        answers.extend(futures::future::join_all(asks).await.into_iter().flatten());
    }
    let offsets: Vec<i64> = std::iter::once(0)
        .chain(answers.iter().map(|(_, o)| *o))
        .collect();
    Reading {
        verdict: judge(&offsets, voters.len()),
        voters: answers
            .into_iter()
            .map(|(id, offset)| (id, offset.saturating_neg()))
            .collect(),
    }
}

/// `offsets`: this clock minus each answering voter's (0 for itself).
fn judge(offsets: &[i64], voters: usize) -> Verdict {
    let majority = voters / 2 + 1;
    let limit = MAX_SKEW_MS;
    let agree = offsets.iter().filter(|o| o.unsigned_abs() <= limit).count();
    if agree >= majority {
        return Verdict::Agree;
    }
    // This clock is the odd one out only if a majority of voters agree among themselves on a
    // time far from it. Voters that merely disagree with it, and with each other too (two
    // clocks stepped opposite ways), show nothing: were the one clock in the middle to give up
    // leading, every node would, and leadership would churn for as long as the clocks are off.
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let around = sorted.iter().filter(|o| o.abs_diff(median) <= limit).count();
    if around >= majority && median.unsigned_abs() > limit {
        return Verdict::Disagree { skew_ms: median };
    }
    Verdict::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_majority_decides() {
        assert_eq!(judge(&[0], 1), Verdict::Agree, "a single node agrees with itself");
        assert_eq!(judge(&[0, 40, -120], 3), Verdict::Agree);
        assert_eq!(
            judge(&[0, 600_000, 600_100], 3),
            Verdict::Disagree { skew_ms: 600_000 }
        );
        assert_eq!(
            judge(&[0, 600_000], 3),
            Verdict::Unknown,
            "one voter against one: cannot tell"
        );
        assert_eq!(
            judge(&[0, 30, 600_000, 600_000, 600_000], 5),
            Verdict::Disagree { skew_ms: 600_000 }
        );
        assert_eq!(judge(&[0], 3), Verdict::Unknown, "nobody else answered");
        assert_eq!(
            judge(&[0, 120_000, -600_000], 3),
            Verdict::Unknown,
            "the two others are far from this clock but also from each other: it may be the right one"
        );
        assert_eq!(
            judge(&[0, -120_000, -720_000], 3),
            Verdict::Unknown,
            "nor can a clock that is off tell it is, when the others disagree too"
        );
    }
}
