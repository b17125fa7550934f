//! View 3: every registered worker, embedded and remote, with its last heartbeat judged
//! against the cluster's clock.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::Row;

use super::table::ListTable;
use crate::app::{App, View};
use crate::format;

const HEADER: &[&str] = &[
    "WORKER",
    "NODE",
    "KIND",
    "QUEUES",
    "CONC",
    "ACTIVE",
    "PROCESSED",
    "FAILED",
    "LAST SEEN",
];
const WIDTHS: &[Constraint] = &[
    Constraint::Fill(1),
    // An embedded pool's node is its address: room for `255.255.255.255:65535`.
    Constraint::Length(21),
    Constraint::Length(9),
    Constraint::Fill(1),
    Constraint::Length(5),
    Constraint::Length(6),
    Constraint::Length(10),
    Constraint::Length(7),
    Constraint::Length(10),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let now_ms = app.snapshot.cluster_now_ms;
    let workers = &app.snapshot.workers;
    let rows = workers
        .iter()
        .map(|worker| {
            Row::new(vec![
                worker.id.clone(),
                worker.node.clone(),
                worker.kind.clone(),
                worker.queues.join(","),
                worker.concurrency.to_string(),
                worker.active.to_string(),
                format::count(worker.processed),
                format::count(worker.failed),
                format::ago(now_ms, worker.last_seen_ms),
            ])
        })
        .collect();
    let empty = if app.snapshot_at.is_some() {
        "no workers registered"
    } else {
        "waiting for the first refresh…"
    };
    ListTable {
        title: format!(" Workers ({}) ", workers.len()).into(),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: Some(app.selected(View::Workers)),
        empty,
    }
    .render(frame, area);
}
