//! Workflows and a schedule under the faults: a producer of keyed chords and chains (resending
//! calls of unknown outcome with the same key, like the task producers), and one schedule that
//! fires every second for the whole run. The checker then asks that every acknowledged flow
//! finished with the result its parts imply, each part was enqueued once, and every due time
//! of the schedule fired exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qraft_proto::{Client, ClientError, pb};

use super::certainly_not_applied;
use crate::cluster::{FLOW_QUEUE, STEP};
use crate::history::{Entry, Recorder};

/// The harness's schedule and how often it fires.
pub const SCHEDULE: &str = "chaos-every-second";
pub const SCHEDULE_INTERVAL_MS: u64 = 1_000;
/// A chord's members, or a chain's steps.
pub const FLOW_PARTS: u32 = 3;
/// One flow every this often, chords and chains in turn.
const FLOW_EVERY: Duration = Duration::from_millis(500);
/// Tasks of the flows queue per second, at most: two flows of up to four parts, and a run.
pub const FLOW_TASKS_PER_SECOND: u64 = 2 * (FLOW_PARTS as u64 + 1) + 1;

/// The args of part `i` of the flow with key `key`. A chord's callback gets these back as its
/// members' results, and a chain's result is its first step's.
pub fn part_args(key: &str, i: u32) -> String {
    format!(r#"{{"key":"{key}","i":{i}}}"#)
}

fn step(args: Option<String>) -> pb::TaskSpec {
    pb::TaskSpec {
        name: STEP.into(),
        queue: FLOW_QUEUE.into(),
        args: args.map(String::into_bytes).unwrap_or_default(),
        // As the producers' tasks: a lease lost with its node runs out soon, and a part must
        // still finish however many deliveries the faults cost it.
        timeout_ms: 2_000,
        max_retries: 10,
        retry_delay_ms: Some(200),
        ..Default::default()
    }
}

/// The flow of key `key`: even numbers are chords, odd ones chains.
fn flow(key: &str, n: u64) -> (pb::FlowSpec, &'static str) {
    let (mut spec, kind) = if n.is_multiple_of(2) {
        let members = (0..FLOW_PARTS).map(|i| step(Some(part_args(key, i))));
        let spec = pb::FlowSpec::chord(members, step(None), pb::OnMemberFailure::FailChord);
        (spec, "chord")
    } else {
        let first = std::iter::once(step(Some(part_args(key, 0))));
        let rest = (1..FLOW_PARTS).map(|_| step(None));
        (pb::FlowSpec::chain(first.chain(rest)), "chain")
    };
    spec.idempotency_key = key.to_owned();
    (spec, kind)
}

/// Submits flows `f-1`, `f-2`, ... until stopped; a key whose outcome is unknown is sent again.
pub(super) async fn produce(client: Client, history: Recorder, stop: Arc<AtomicBool>) {
    let mut tick = tokio::time::interval(FLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = 0;
    let mut pending: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let key = pending.take().unwrap_or_else(|| {
            n += 1;
            format!("f-{n}")
        });
        let number = key.trim_start_matches("f-").parse().unwrap_or(n);
        let (spec, kind) = flow(&key, number);
        history.record(&Entry::FlowInvoke {
            t: history.now(),
            key: key.clone(),
            kind: kind.into(),
        });
        let answer = client.submit_flow(spec).await;
        let t = history.now();
        match answer {
            Ok(response) => history.record(&Entry::FlowOk {
                t,
                key,
                flow_id: response.id,
            }),
            Err(error) => {
                let unknown = !certainly_not_applied(&error);
                history.record(&Entry::FlowError {
                    t,
                    key: key.clone(),
                    error: error.to_string(),
                    unknown,
                });
                if unknown {
                    pending = Some(key);
                }
            }
        }
    }
}

/// Adds the harness's schedule (resent until it is answered: an add replaces a schedule of the
/// same name and keeps the due times of the same interval, so a resend changes nothing).
/// Missed due times are all made up for.
pub async fn add_schedule(client: &Client) -> Result<(), ClientError> {
    let spec = pb::ScheduleSpec {
        name: SCHEDULE.into(),
        task: Some(step(Some(r#"{"schedule":true}"#.into()))),
        every_ms: SCHEDULE_INTERVAL_MS,
        misfire: pb::Misfire::CatchUp.into(),
        catch_up_limit: 1_000,
        ..Default::default()
    };
    client.add_schedule(spec).await.map(|_| ())
}
