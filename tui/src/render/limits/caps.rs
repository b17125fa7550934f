//! Queue caps (how many unfinished tasks, and how many bytes of them, each queue may hold) and
//! the line with what the whole cluster stores against its caps. Anything at 90% or more of
//! its cap is drawn as a warning: past the cap, submits are refused.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row};

use crate::app::App;
use crate::format;
use crate::model::{QueueCapView, StoreUsageView, near_full};
use crate::render::table::ListTable;
use crate::render::{DIM, WARN};

const HEADER: &[&str] = &["QUEUE", "LENGTH", "BYTES"];
const WIDTHS: &[Constraint] = &[
    Constraint::Fill(1),
    // `1,000,000/1,000,000 (100%)` and `1023.9 MiB/1023.9 MiB (100%)`.
    Constraint::Length(26),
    Constraint::Length(28),
];

/// Rows of caps, header and borders; never below what shows the empty line.
pub fn table_height(app: &App) -> u16 {
    let rows = app.snapshot.limits.queue_caps.len();
    u16::try_from(rows.max(1) + 3).unwrap_or(u16::MAX)
}

pub fn render_table(frame: &mut Frame, area: Rect, app: &App) {
    let caps = &app.snapshot.limits.queue_caps;
    let rows = caps.iter().map(cap_row).collect();
    // A short pane may cut rows off: the title still says how many are close to their cap.
    let near = caps.iter().filter(|cap| cap_near_full(cap)).count();
    let mut title = vec![Span::raw(format!(" Queue caps ({}", caps.len()))];
    if near > 0 {
        title.push(Span::raw(", "));
        title.push(Span::styled(format!("{near} near full"), WARN));
    }
    title.push(Span::raw(") "));
    let empty = if app.snapshot_at.is_some() {
        "no queue caps: `qraft limit set queue:NAME max-length N` adds one"
    } else {
        "waiting for the first refresh…"
    };
    ListTable {
        title: Line::from(title),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: None,
        empty,
    }
    .render(frame, area);
}

/// The cluster's stored tasks and bytes against its caps, or why they are unknown.
pub fn render_store(frame: &mut Frame, area: Rect, app: &App) {
    let line = match &app.snapshot.limits.store {
        Some(store) => {
            let mut line = store_line(store);
            // Where to raise the caps (they are the answering node's settings), when it fits.
            let hint = Span::styled("  (--max-tasks, --max-stored-bytes)", DIM);
            if line.width() + hint.width() <= usize::from(area.width) {
                line.push_span(hint);
            }
            line
        }
        None if app.snapshot_at.is_some() => Line::styled(
            " cluster totals not reported (the node that answered predates store caps)",
            DIM,
        ),
        None => Line::default(),
    };
    frame.render_widget(Paragraph::new(line), area);
}

fn store_line(store: &StoreUsageView) -> Line<'static> {
    let tasks = format!(
        "{}/{} tasks",
        format::grouped(store.tasks),
        format::grouped(store.max_tasks)
    );
    let bytes = format!(
        "{}/{}",
        format::bytes(store.bytes),
        format::bytes(store.max_bytes)
    );
    Line::from(vec![
        Span::styled(" cluster holds ", DIM),
        warn_if(tasks, near_full(store.tasks, store.max_tasks)),
        Span::styled(" · ", DIM),
        warn_if(bytes, near_full(store.bytes, store.max_bytes)),
    ])
}

fn cap_row(cap: &QueueCapView) -> Row<'static> {
    Row::new(vec![
        Line::raw(cap.queue.clone()),
        against_cap(cap.length, cap.max_length, format::grouped),
        against_cap(cap.bytes, cap.max_bytes, format::bytes),
    ])
}

fn cap_near_full(cap: &QueueCapView) -> bool {
    let near = |held: u64, max: Option<u64>| max.is_some_and(|max| near_full(held, max));
    near(cap.length, cap.max_length) || near(cap.bytes, cap.max_bytes)
}

/// `950/1,000 (95%)`, a warning from 90%; `12 · no cap` when there is none.
fn against_cap(held: u64, max: Option<u64>, show: fn(u64) -> String) -> Line<'static> {
    match max {
        None => Line::from(vec![Span::raw(show(held)), Span::styled(" · no cap", DIM)]),
        Some(max) => {
            // Rounded down, so 89.9% does not read as the 90% that warns.
            let percent = (u128::from(held) * 100)
                .checked_div(u128::from(max))
                .unwrap_or(100);
            let text = format!("{}/{} ({percent}%)", show(held), show(max));
            Line::from(warn_if(text, near_full(held, max)))
        }
    }
}

fn warn_if(text: String, warn: bool) -> Span<'static> {
    if warn {
        Span::styled(text, WARN)
    } else {
        Span::raw(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(line: &Line) -> String {
        line.spans.iter().map(|span| span.content.as_ref()).collect()
    }

    #[test]
    fn a_cap_shows_held_against_max_and_warns_from_ninety_percent() {
        let below = against_cap(899, Some(1_000), format::grouped);
        assert_eq!(cell(&below), "899/1,000 (89%)");
        assert_eq!(below.spans[0].style, ratatui::style::Style::new());
        let near = against_cap(900, Some(1_000), format::grouped);
        assert_eq!(cell(&near), "900/1,000 (90%)");
        assert_eq!(near.spans[0].style, WARN);
        let bytes = against_cap(3 << 20, Some(64 << 20), format::bytes);
        assert_eq!(cell(&bytes), "3.0 MiB/64.0 MiB (4%)");
        assert_eq!(cell(&against_cap(12, None, format::grouped)), "12 · no cap");
    }
}
