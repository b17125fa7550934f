//! The Schedules view's lower pane, read-only so not selectable: cluster-wide rate limits with
//! how full their current window is and the concurrency keys with tasks running now, then the
//! queue caps and what the whole cluster stores against its caps (`limits/caps.rs`).

mod caps;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
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

/// Below this the pane cannot show a line of each table.
const MIN_HEIGHT: u16 = 4 + 4 + 1;

/// Both tables with all their rows and the store line, within `room` unless that is too small
/// to show anything of them.
pub fn height(app: &App, room: u16) -> u16 {
    let wanted = rates_height(app)
        .saturating_add(caps::table_height(app))
        .saturating_add(1);
    wanted.min(room.max(MIN_HEIGHT))
}

/// Rows of limits and keys, header and borders; never below what shows the empty line.
fn rates_height(app: &App) -> u16 {
    let limits = &app.snapshot.limits;
    let rows = limits.rate_limits.len() + limits.concurrency_keys.len();
    u16::try_from(rows.max(1) + 3).unwrap_or(u16::MAX)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let tables = area.height.saturating_sub(1);
    let rates_wanted = rates_height(app);
    // The caps take what the limits leave, and at least half when both want more.
    let caps_height = caps::table_height(app).min((tables / 2).max(tables.saturating_sub(rates_wanted)));
    let [rates_area, caps_area, store_area] = Layout::vertical([
        Constraint::Length(tables - caps_height),
        Constraint::Length(caps_height),
        Constraint::Length(1),
    ])
    .areas(area);
    render_rates(frame, rates_area, app);
    caps::render_table(frame, caps_area, app);
    caps::render_store(frame, store_area, app);
}

fn render_rates(frame: &mut Frame, area: Rect, app: &App) {
    let now_ms = app.snapshot.cluster_now_ms;
    let limits = &app.snapshot.limits.rate_limits;
    let keys = &app.snapshot.limits.concurrency_keys;
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
