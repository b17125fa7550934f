//! View 2: every queue's tasks by state, its rates, and a sparkline of its depth (ready +
//! scheduled + started + retry) over the last refreshes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Row};

use super::table::ListTable;
use super::{ERROR, OK, WARN};
use crate::app::{App, View};
use crate::format;

const HEADER: &[&str] = &[
    "QUEUE", "READY", "SCHED", "STARTED", "RETRY", "DEAD", "STATE", "ENQ/S", "DONE/S", "FAIL/S", "DEPTH",
];
const SPARK_WIDTH: u16 = 24;
const WIDTHS: &[Constraint] = &[
    Constraint::Fill(1),
    Constraint::Length(6),
    Constraint::Length(6),
    Constraint::Length(7),
    Constraint::Length(6),
    Constraint::Length(6),
    Constraint::Length(9),
    Constraint::Length(7),
    Constraint::Length(7),
    Constraint::Length(7),
    Constraint::Length(SPARK_WIDTH),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let [table_area, totals_area] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let queues = &app.snapshot.queues;
    let rows = queues
        .iter()
        .map(|queue| {
            let samples: Vec<u64> = app
                .depth_history
                .get(&queue.name)
                .map(|samples| samples.iter().copied().collect())
                .unwrap_or_default();
            // A queue whose tasks nobody can run says so instead of looking merely slow.
            let state = if queue.paused {
                Span::styled("paused", WARN)
            } else if queue.unserved() > 0 && queue.consumers == 0 {
                Span::styled("no worker", ERROR)
            } else if queue.unserved() > 0 {
                Span::styled("unhandled", WARN)
            } else {
                Span::styled("active", OK)
            };
            let dead = if queue.dead > 0 {
                Span::styled(format::count(queue.dead), ERROR)
            } else {
                Span::raw("0")
            };
            Row::new(vec![
                Span::raw(queue.name.clone()),
                Span::raw(format::count(queue.ready)),
                Span::raw(format::count(queue.scheduled)),
                Span::raw(format::count(queue.started)),
                Span::raw(format::count(queue.retry)),
                dead,
                state,
                Span::raw(format::rate(queue.enqueued_per_s)),
                Span::raw(format::rate(queue.completed_per_s)),
                Span::raw(format::rate(queue.failed_per_s)),
                Span::styled(format::sparkline(&samples, usize::from(SPARK_WIDTH)), OK),
            ])
        })
        .collect();
    let empty = if app.snapshot_at.is_some() {
        "no queues: none has tasks or is paused"
    } else {
        "waiting for the first refresh…"
    };
    ListTable {
        title: format!(" Queues ({}) ", queues.len()).into(),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: Some(app.selected(View::Queues)),
        empty,
    }
    .render(frame, table_area);

    if let Some(queue) = queues.get(app.selected(View::Queues)) {
        let totals = format!(
            " {}: enqueued {} · completed {} · failed attempts {} · succeeded {} · revoked {} · expired {}",
            queue.name,
            format::count(queue.enqueued_total),
            format::count(queue.completed_total),
            format::count(queue.failed_total),
            format::count(queue.succeeded),
            format::count(queue.revoked),
            format::count(queue.expired),
        );
        frame.render_widget(Paragraph::new(totals), totals_area);
    }
}
