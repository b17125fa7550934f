//! View 6: periodic schedules with their next and last runs judged against the cluster's clock,
//! a line about the selected one, and the cluster-wide limits beneath (`limits.rs`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row};

use super::table::ListTable;
use super::{DIM, WARN, limits};
use crate::app::{App, View};
use crate::format;
use crate::model::{Misfire, ScheduleView};

const HEADER: &[&str] = &[
    "NAME", "WHEN", "TASK", "QUEUE", "NEXT RUN", "LAST RUN", "RUNS", "MISSED",
];
const WIDTHS: &[Constraint] = &[
    Constraint::Fill(3),
    // A cron expression and its zone are the longest cell: give them the most room.
    Constraint::Fill(4),
    Constraint::Fill(3),
    Constraint::Fill(2),
    Constraint::Length(8),
    Constraint::Length(8),
    Constraint::Length(5),
    Constraint::Length(6),
];

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    // The schedules keep the rows they need, or half the view when both want more.
    let schedules_wanted = u16::try_from(app.snapshot.schedules.len().max(1) + 3).unwrap_or(u16::MAX);
    let room = area
        .height
        .saturating_sub(schedules_wanted.saturating_add(1))
        .max(area.height / 2);
    let limits_height = limits::height(app, room);
    let [table_area, selected_area, limits_area] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(1),
        Constraint::Length(limits_height),
    ])
    .areas(area);

    let now_ms = app.snapshot.cluster_now_ms;
    let schedules = &app.snapshot.schedules;
    let rows = schedules
        .iter()
        .map(|schedule| {
            // A paused schedule has no next run: the cell says why instead of a bare "-",
            // which saves a column on narrow terminals.
            let next_run = if schedule.paused {
                Span::styled("paused", WARN)
            } else {
                Span::raw(format::relative(now_ms, schedule.next_run_ms))
            };
            let missed = if schedule.missed > 0 {
                Span::styled(format::count(schedule.missed), WARN)
            } else {
                Span::raw("0")
            };
            Row::new(vec![
                Span::raw(schedule.name.clone()),
                Span::raw(format::trigger(&schedule.trigger)),
                Span::raw(schedule.task.clone()),
                Span::raw(schedule.queue.clone()),
                next_run,
                Span::raw(format::ago(now_ms, schedule.last_run_ms)),
                Span::raw(format::count(schedule.runs)),
                missed,
            ])
        })
        .collect();
    let empty = if app.snapshot_at.is_some() {
        "no schedules: `qraft schedule add NAME --every 30s --task T` adds one"
    } else {
        "waiting for the first refresh…"
    };
    ListTable {
        title: format!(" Schedules ({}) ", schedules.len()).into(),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: Some(app.selected(View::Schedules)),
        empty,
    }
    .render(frame, table_area);

    if let Some(schedule) = app.selected_schedule() {
        frame.render_widget(Paragraph::new(about(schedule, now_ms)), selected_area);
    }
    limits::render(frame, limits_area, app);
}

/// What the table has no room for: the last run's task (to look up in the Tasks view), the
/// misfire policy and the schedule's age.
fn about(schedule: &ScheduleView, now_ms: u64) -> Line<'static> {
    let last_task = if schedule.last_task_id.is_empty() {
        "none yet".to_owned()
    } else {
        schedule.last_task_id.clone()
    };
    let misfire = match schedule.misfire {
        Misfire::Skip => "skip missed runs".to_owned(),
        Misfire::CatchUp { limit } => format!("catch up (at most {limit})"),
    };
    Line::from(vec![
        Span::raw(format!(" {}: ", schedule.name)),
        Span::styled("last task ", DIM),
        Span::raw(last_task),
        Span::styled(" · misfire ", DIM),
        Span::raw(misfire),
        Span::styled(" · added ", DIM),
        Span::raw(format::ago(now_ms, schedule.created_at_ms)),
    ])
}
