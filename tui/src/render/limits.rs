//! The Schedules view's lower table: cluster-wide rate limits with how full their current
//! window is, then the concurrency keys with tasks running now. Read-only, so not selectable.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::Row;

use super::table::ListTable;
use super::{DIM, WARN};
use crate::app::App;
use crate::format;
use crate::model::RateLimitView;

const HEADER: &[&str] = &["SCOPE", "LIMIT", "IN USE", "WINDOW"];
const WIDTHS: &[Constraint] = &[
    Constraint::Fill(1),
    Constraint::Length(15),
    Constraint::Length(20),
    Constraint::Fill(1),
];
/// Cells of the usage bar; the count follows it.
const BAR: usize = 10;

/// Rows of limits and keys, header and borders; at most half of `available`, so the schedules
/// above keep room. Never below what shows the empty line.
pub fn height(app: &App, available: u16) -> u16 {
    let rows = app.snapshot.rate_limits.len() + app.snapshot.concurrency_keys.len();
    let wanted = u16::try_from(rows.max(1) + 3).unwrap_or(u16::MAX);
    wanted.min(available / 2).max(4)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let now_ms = app.snapshot.cluster_now_ms;
    let limits = &app.snapshot.rate_limits;
    let keys = &app.snapshot.concurrency_keys;
    let mut rows: Vec<Row> = limits.iter().map(|limit| rate_row(limit, now_ms)).collect();
    rows.extend(keys.iter().map(|usage| {
        Row::new(vec![
            Span::raw(usage.key.clone()),
            // Each task carries its own limit for the key; the cluster reports only the count.
            Span::styled("concurrency key", DIM),
            Span::raw(format!("{} running", usage.running)),
            Span::raw(""),
        ])
    }));
    let empty = if app.snapshot_at.is_some() {
        "no limits: `qraft limit set task:NAME 100/s` adds one"
    } else {
        "waiting for the first refresh…"
    };
    ListTable {
        title: format!(
            " Limits ({} rate, {} concurrency keys in use) ",
            limits.len(),
            keys.len()
        )
        .into(),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: None,
        empty,
    }
    .render(frame, area);
}

fn rate_row(limit: &RateLimitView, now_ms: u64) -> Row<'static> {
    let usage = format::progress(u64::from(limit.used), u64::from(limit.count), BAR);
    let full = limit.used >= limit.count;
    let window = if !full {
        Span::raw("room")
    } else if limit.frees_at_ms > now_ms {
        let wait = format::duration_ms(limit.frees_at_ms - now_ms);
        Span::styled(format!("full · room in {wait}"), WARN)
    } else {
        Span::styled("full", WARN)
    };
    Row::new(vec![
        Span::raw(limit.scope.clone()),
        Span::raw(format::window_rate(limit.count, limit.per_ms)),
        if full {
            Span::styled(usage, WARN)
        } else {
            Span::raw(usage)
        },
        window,
    ])
}
