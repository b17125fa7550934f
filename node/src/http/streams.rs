//! Server-Sent Events: `/v1/streams/finished`, every task as it finishes. Each event's id is the
//! task's replicated finish number, so a client that reconnects (to any node) with
//! `Last-Event-ID` gets every finish after the last it saw: no gap, no repeat.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use super::extract::Params;
use super::json::TaskView;
use super::problem::{Details, Problem};
use crate::ops::streams;

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
    headers: HeaderMap,
    Params(params): Params<FinishedParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
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
            Ok(Event::default().id(seq.to_string()).event("finished").data(data))
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
