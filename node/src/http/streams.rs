//! Server-Sent Events, each with a replicated number as its id, so a client that reconnects (to
//! any node) with `Last-Event-ID` gets everything after the last it saw: no gap, no repeat.
//!
//! - `/v1/streams/finished`: every task as it finishes, by finish number.
//! - `/v1/streams/events`: the cluster's event timeline (elections, nodes, workers, queues).

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use super::extract::Params;
use super::json::{TaskView, time};
use super::problem::{Details, Problem};
use super::server::Stopping;
use crate::ops::streams;
use crate::queue::Event;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FinishedParams {
    /// Only tasks of this queue.
    queue: Option<String>,
    /// Start after this finish number (an event id); `Last-Event-ID` wins over it. Without
    /// either, the stream starts with the next finish.
    after: Option<u64>,
}

/// `GET /v1/streams/finished`: `text/event-stream` of `finished` events, each the task as JSON
/// with the finish number as its id; a comment every 15 s keeps idle connections open.
#[utoipa::path(get, path = "/v1/streams/finished", tag = "tasks", params(FinishedParams,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this finish number")),
    responses((status = 200, description = "Server-Sent Events: `id: <finish number>`, `event: finished`, `data: <task JSON>`", content_type = "text/event-stream"),
        (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn finished(
    State(app): State<App>,
    stopping: Option<Extension<Stopping>>,
    headers: HeaderMap,
    Params(params): Params<FinishedParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Problem::invalid("Last-Event-ID must be a finish number (an event id we sent)")
                })?,
        ),
    };
    let queue = params.queue;
    let batches = ReceiverStream::new(streams::finished(&app.replica, queue, resume.or(params.after)));
    let events = batches
        .take_while(|batch| std::future::ready(batch.is_ok()))
        .flat_map(|batch| futures::stream::iter(batch.unwrap_or_default()))
        .map(|task| {
            let seq = task.finish_seq.unwrap_or_default();
            let data = serde_json::to_string(&TaskView::from(&task)).unwrap_or_default();
            Ok(SseEvent::default()
                .id(seq.to_string())
                .event("finished")
                .data(data))
        })
        .take_until(until_stopped(stopping));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Resolves when the server stops (never, outside a server: tests of the router alone).
async fn until_stopped(stopping: Option<Extension<Stopping>>) {
    match stopping {
        Some(Extension(stopping)) => stopping.stopped().await,
        None => std::future::pending().await,
    }
}

/// The `Last-Event-ID` a reconnecting client sends: a number we sent as an event id.
fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    headers
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
                .ok_or_else(|| Problem::invalid("Last-Event-ID must be a number: an event id this API sent"))
        })
        .transpose()
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Start after this event number; `Last-Event-ID` wins over it. Default: the oldest kept.
    after: Option<u64>,
}

/// One event as JSON: `seq`, `at` (cluster time), `kind` (`leader_elected`, `node_reachability`,
/// `worker_joined`, ...) and the kind's own fields.
fn event_json(event: &Event) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    out.insert("seq".into(), event.seq.into());
    out.insert("at".into(), time(event.at_ms).into());
    match serde_json::to_value(&event.kind) {
        Ok(serde_json::Value::Object(tagged)) => {
            for (kind, fields) in tagged {
                out.insert("kind".into(), snake_case(&kind).into());
                match fields {
                    serde_json::Value::Object(fields) => out.extend(fields),
                    other => {
                        out.insert("value".into(), other);
                    }
                }
            }
        }
        Ok(serde_json::Value::String(kind)) => {
            out.insert("kind".into(), snake_case(&kind).into());
        }
        _ => {}
    }
    serde_json::Value::Object(out)
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `GET /v1/streams/events`: `text/event-stream` of the cluster's timeline.
#[utoipa::path(get, path = "/v1/streams/events", tag = "cluster", params(EventParams,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event number")),
    responses((status = 200, description = "Server-Sent Events: `id: <event number>`, `event: <kind>`, `data: {seq, at, kind, ...}`", content_type = "text/event-stream"),
        (status = "4XX", body = Details, content_type = "application/problem+json")))]
pub async fn events(
    State(app): State<App>,
    stopping: Option<Extension<Stopping>>,
    headers: HeaderMap,
    Params(params): Params<EventParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    let after = last_event_id(&headers)?.or(params.after).unwrap_or(0);
    let batches = ReceiverStream::new(streams::events(&app.replica, after));
    let events = batches
        .take_while(|batch| std::future::ready(batch.is_ok()))
        .flat_map(|batch| futures::stream::iter(batch.unwrap_or_default()))
        .map(|event| {
            let json = event_json(&event);
            let kind = json["kind"].as_str().unwrap_or("event").to_owned();
            Ok(SseEvent::default()
                .id(event.seq.to_string())
                .event(kind)
                .data(json.to_string()))
        })
        .take_until(until_stopped(stopping));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::EventKind;

    #[test]
    fn an_event_is_flat_json_with_a_snake_case_kind() {
        let event = Event {
            seq: 7,
            at_ms: 0,
            kind: EventKind::LeaderElected {
                node: 2,
                term: 5,
                election_ms: 900,
                previous: Some(1),
            },
        };
        let json = event_json(&event);
        assert_eq!(json["kind"], "leader_elected");
        assert_eq!(json["seq"], 7);
        assert_eq!(json["node"], 2);
        assert_eq!(json["term"], 5);
        assert_eq!(json["at"], "1970-01-01T00:00:00.000Z");
    }
}
