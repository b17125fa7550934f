//! Server-Sent Events: `/v1/streams/finished`, every task as it finishes. Each event's id is the
//! task's replicated finish number, so a client that reconnects (to any node) with
//! `Last-Event-ID` gets every finish after the last it saw: no gap, no repeat.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use super::extract::Params;
use super::json::TaskView;
use super::problem::{Details, Problem};
use crate::raft::Replica;

/// Finishes read from the index per look: a client far behind catches up in steps.
const CATCH_UP_STEP: usize = 256;
/// Events waiting for a slow client before the stream waits for it.
const BUFFER: usize = 64;

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
    // Subscribed before the starting point is read: nothing finishes unseen in between.
    let notices = app.replica.shared().finished();
    let start = resume
        .or(params.after)
        .unwrap_or_else(|| app.replica.shared().queue().last_finish_seq());
    let (events, stream) = mpsc::channel(BUFFER);
    tokio::spawn(forward(app.replica.clone(), params.queue, start, notices, events));
    Ok(Sse::new(ReceiverStream::new(stream)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Sends every finish after `last` from the index, then waits for the next notice and looks
/// again; a notice missed (lagged) only means looking again. Ends when the client is gone or
/// the node stops.
async fn forward(
    replica: Replica,
    queue: Option<String>,
    mut last: u64,
    mut notices: tokio::sync::broadcast::Receiver<crate::queue::TaskId>,
    events: mpsc::Sender<Result<Event, Infallible>>,
) {
    loop {
        let (batch, scanned) = {
            let shared = replica.shared();
            let state = shared.queue();
            let found = state.finished_after(last, CATCH_UP_STEP);
            let scanned = found.len();
            let mut batch = Vec::with_capacity(scanned);
            for task in found {
                let seq = task.finish_seq.unwrap_or(last);
                last = last.max(seq);
                if queue.as_ref().is_none_or(|q| *q == task.queue) {
                    let data = serde_json::to_string(&TaskView::from(task)).unwrap_or_default();
                    batch.push(Event::default().id(seq.to_string()).event("finished").data(data));
                }
            }
            (batch, scanned)
        };
        for event in batch {
            if events.send(Ok(event)).await.is_err() {
                return;
            }
        }
        if scanned == CATCH_UP_STEP {
            continue;
        }
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            () = events.closed() => return,
        }
    }
}
