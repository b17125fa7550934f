//! The event stream: `WatchEvents` on one node; when that fails, the next reachable node after
//! a backoff, resuming after the last sequence number seen. Sequence numbers are replicated, so
//! a resume on another node neither skips nor repeats events.

use std::time::Duration;

use futures::StreamExt as _;
use qraft_proto::Client;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{CALL_TIMEOUT, convert, describe};
use crate::app::{Msg, StreamState};
use crate::model::EventView;

const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A stream that lasted this long was healthy: the next failure starts the backoff afresh.
const HEALTHY: Duration = Duration::from_secs(10);

pub(super) async fn run(
    client: Client,
    mut reachable: watch::Receiver<Option<Vec<String>>>,
    out: mpsc::UnboundedSender<Msg>,
) {
    let client = client.with_timeout(CALL_TIMEOUT);
    let mut last_seq = 0;
    let mut backoff = BACKOFF_MIN;
    let mut current: Option<String> = None;
    loop {
        let addr = next_addr(
            reachable.borrow_and_update().as_deref(),
            &client.addrs(),
            current.as_deref(),
        );
        current = Some(addr.clone());
        let started = Instant::now();
        let mut delivered = false;
        let error = match client.watch_events(&addr, last_seq).await {
            Err(error) => describe(&error),
            Ok(mut stream) => {
                if out
                    .send(Msg::Stream(StreamState::Connected(addr.clone())))
                    .is_err()
                {
                    return;
                }
                loop {
                    tokio::select! {
                        item = stream.next() => match item {
                            Some(Ok(batch)) => {
                                delivered = true;
                                let batch = batch.events.into_iter().map(convert::event);
                                let events = newer(batch, &mut last_seq);
                                if !events.is_empty() && out.send(Msg::Events(events)).is_err() {
                                    return;
                                }
                            }
                            Some(Err(status)) => {
                                break format!("{:?}: {}", status.code(), status.message());
                            }
                            None => break "the node ended the stream".to_owned(),
                        },
                        // A node the poller cannot reach may leave a stream hanging: leave it.
                        changed = reachable.changed() => {
                            if changed.is_err() {
                                return;
                            }
                            // Marks the value seen, or `changed` would fire again at once.
                            let live = reachable.borrow_and_update();
                            if live.as_ref().is_some_and(|live| !live.contains(&addr)) {
                                break "the node stopped answering".to_owned();
                            }
                        }
                    }
                }
            }
        };
        tracing::info!(%addr, %error, last_seq, "event stream lost");
        if out.send(Msg::Stream(StreamState::Lost { addr, error })).is_err() {
            return;
        }
        if delivered || started.elapsed() >= HEALTHY {
            backoff = BACKOFF_MIN;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// The events after `last_seq`, in order; advances `last_seq` past them.
fn newer(events: impl Iterator<Item = EventView>, last_seq: &mut u64) -> Vec<EventView> {
    let mut fresh = Vec::new();
    for event in events {
        if event.seq > *last_seq {
            *last_seq = event.seq;
            fresh.push(event);
        }
    }
    fresh
}

/// The node to watch next: after `current` among the reachable ones, or among every known
/// address when none answered (or before the first round).
fn next_addr(reachable: Option<&[String]>, known: &[String], current: Option<&str>) -> String {
    let candidates = match reachable {
        Some(live) if !live.is_empty() => live,
        _ => known,
    };
    let position = current.and_then(|current| candidates.iter().position(|addr| addr == current));
    let index = position.map_or(0, |position| position + 1);
    candidates
        .get(index % candidates.len().max(1))
        .or_else(|| known.first())
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventKind;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn moves_to_the_next_reachable_node() {
        let known = strings(&["a:1", "b:2", "c:3"]);
        let live = strings(&["a:1", "c:3"]);
        assert_eq!(next_addr(None, &known, None), "a:1");
        assert_eq!(next_addr(None, &known, Some("a:1")), "b:2");
        assert_eq!(next_addr(Some(&live), &known, Some("a:1")), "c:3");
        assert_eq!(next_addr(Some(&live), &known, Some("c:3")), "a:1");
        assert_eq!(
            next_addr(Some(&live), &known, Some("b:2")),
            "a:1",
            "current no longer live"
        );
        assert_eq!(
            next_addr(Some(&[]), &known, Some("c:3")),
            "a:1",
            "nobody live: try everyone"
        );
    }

    #[test]
    fn resumes_after_the_last_seq_without_duplicates() {
        let event = |seq| EventView {
            seq,
            at_ms: 0,
            kind: EventKind::Unknown,
        };
        let mut last = 0;
        let first = newer([1, 2, 3].into_iter().map(event), &mut last);
        assert_eq!(first.len(), 3);
        assert_eq!(last, 3);
        let again = newer([2, 3, 4].into_iter().map(event), &mut last);
        assert_eq!(again.iter().map(|e| e.seq).collect::<Vec<_>>(), [4]);
        assert_eq!(last, 4);
    }
}
