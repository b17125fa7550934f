//! View 4: the newest tasks matching the filter, and the selected task in full.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Wrap};

use super::table::ListTable;
use super::{BOLD, DIM, ERROR, OK, WARN};
use crate::app::{App, Mode, View};
use crate::format;
use crate::model::{TaskState, TaskView};

const HEADER: &[&str] = &["ID", "NAME", "QUEUE", "STATE", "ATT", "AGE"];
const WIDTHS: &[Constraint] = &[
    Constraint::Length(26),
    Constraint::Fill(1),
    Constraint::Length(10),
    Constraint::Length(9),
    Constraint::Length(3),
    Constraint::Length(7),
];
/// Longest payload preview in the detail pane; it wraps over a few lines.
const PREVIEW: usize = 240;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let [filter_area, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    render_filter(frame, filter_area, app);
    let [list_area, detail_area] =
        Layout::horizontal([Constraint::Percentage(64), Constraint::Percentage(36)]).areas(main);

    let now_ms = app.snapshot.cluster_now_ms;
    let tasks = app.visible_tasks();
    let rows = tasks
        .iter()
        .map(|task| {
            Row::new(vec![
                Span::raw(task.id.clone()),
                Span::raw(task.name.clone()),
                Span::raw(task.queue.clone()),
                Span::styled(task.state.name(), state_style(task.state)),
                Span::raw(task.attempts.to_string()),
                Span::raw(format::ago(now_ms, task.created_at_ms)),
            ])
        })
        .collect();
    let empty = if app.snapshot_at.is_some() {
        "no tasks match"
    } else {
        "waiting for the first refresh…"
    };
    ListTable {
        title: format!(" Tasks ({}) ", tasks.len()).into(),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: Some(app.selected(View::Tasks)),
        empty,
    }
    .render(frame, list_area);

    let block = Block::bordered().title(" Task ");
    let detail = match app.selected_task() {
        Some(task) => Paragraph::new(details(task, now_ms)),
        None => Paragraph::new(Line::styled("no task selected", DIM)),
    };
    frame.render_widget(detail.block(block).wrap(Wrap { trim: false }), detail_area);
}

fn render_filter(frame: &mut Frame, area: Rect, app: &App) {
    let line = match &app.mode {
        Mode::EditFilter { input } => Line::from(vec![
            Span::styled(" filter> ", BOLD),
            Span::raw(input.clone()),
            Span::styled("█", BOLD),
        ]),
        _ if app.task_filter.is_empty() => Line::styled(
            " no filter · / to filter: queue=NAME state=STATE name=NAME, or words in id/name",
            DIM,
        ),
        _ => Line::from(vec![
            Span::styled(" filter: ", BOLD),
            Span::raw(app.task_filter.to_string()),
        ]),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// How a task state is coloured wherever it is shown (here and in a flow's parts).
pub(super) fn state_style(state: TaskState) -> Style {
    match state {
        TaskState::Success => OK,
        TaskState::Failure | TaskState::Expired => ERROR,
        TaskState::Retry | TaskState::Revoked => WARN,
        _ => Style::new(),
    }
}

fn details(task: &TaskView, now_ms: u64) -> Vec<Line<'static>> {
    let field = |name: &str, value: String| {
        Line::from(vec![Span::styled(format!("{name:<9}"), DIM), Span::raw(value)])
    };
    let mut lines = vec![
        field("id", task.id.clone()),
        field("name", task.name.clone()),
        field("queue", format!("{} · priority {}", task.queue, task.priority)),
        Line::from(vec![
            Span::styled(format!("{:<9}", "state"), DIM),
            Span::styled(task.state.name(), state_style(task.state)),
        ]),
        field(
            "attempts",
            format!(
                "{} · retries {}/{}",
                task.attempts, task.retries, task.max_retries
            ),
        ),
        field(
            "worker",
            if task.worker.is_empty() {
                "-".into()
            } else {
                task.worker.clone()
            },
        ),
        field("created", format::relative(now_ms, task.created_at_ms)),
    ];
    let optional = [
        ("eta", task.eta_ms),
        ("started", task.started_at_ms),
        ("finished", task.finished_at_ms),
        ("retry at", task.retry_at_ms),
        ("expires", task.expires_at_ms),
    ];
    for (name, at_ms) in optional {
        if at_ms != 0 {
            lines.push(field(name, format::relative(now_ms, at_ms)));
        }
    }
    if task.state == TaskState::Started {
        lines.push(field(
            "lease",
            format!(
                "delivery {} · deadline {}",
                task.delivery,
                format::relative(now_ms, task.lease_deadline_ms)
            ),
        ));
    }
    if task.timeout_ms != 0 {
        lines.push(field("timeout", format::duration_ms(task.timeout_ms)));
    }
    lines.push(field("args", format::preview(&task.args, PREVIEW)));
    if !task.result.is_empty() {
        lines.push(field("result", format::preview(&task.result, PREVIEW)));
    }
    if !task.error.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<9}", "error"), DIM),
            Span::styled(format::truncate(&task.error, PREVIEW), ERROR),
        ]));
    }
    lines
}
