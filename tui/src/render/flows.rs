//! View 7: the newest flows (chains, groups, chords) with their progress, and the selected flow
//! below it: its outcome and every part with its task and state, a chord's callback last.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};

use super::table::ListTable;
use super::{BOLD, DIM, ERROR, OK, tasks};
use crate::app::{App, View};
use crate::format;
use crate::model::{FlowKind, FlowPartView, FlowState, FlowView};

const HEADER: &[&str] = &["ID", "KIND", "STATE", "PROGRESS", "TASKS", "CREATED", "FINISHED"];
const BAR: usize = 10;
const WIDTHS: &[Constraint] = &[
    Constraint::Length(26),
    Constraint::Length(5),
    Constraint::Length(9),
    // The bar, a space and up to "1000/1001".
    Constraint::Length(20),
    Constraint::Fill(1),
    Constraint::Length(8),
    Constraint::Length(8),
];

const PART_HEADER: &[&str] = &["PART", "NAME", "TASK", "STATE", "ERROR"];
const PART_WIDTHS: &[Constraint] = &[
    Constraint::Length(8),
    Constraint::Fill(1),
    Constraint::Length(26),
    Constraint::Length(9),
    Constraint::Fill(1),
];
/// Longest result preview in the detail; one line.
const PREVIEW: usize = 120;
/// Rows the list keeps however many parts the selected flow has.
const LIST_MIN: u16 = 6;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let selected = app.selected_flow();
    let detail_height = selected.map_or(0, detail_height);
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Min(LIST_MIN), Constraint::Length(detail_height)]).areas(area);

    let now_ms = app.snapshot.cluster_now_ms;
    let flows = &app.snapshot.flows;
    let rows = flows
        .iter()
        .map(|flow| {
            let style = state_style(flow.state);
            Row::new(vec![
                Span::raw(flow.id.clone()),
                Span::raw(flow.kind.name()),
                Span::styled(flow.state.name(), style),
                Span::styled(
                    format::progress(u64::from(flow.done), u64::from(flow.total), BAR),
                    style,
                ),
                Span::raw(shape(flow)),
                Span::raw(format::ago(now_ms, flow.created_at_ms)),
                Span::raw(format::ago(now_ms, flow.finished_at_ms)),
            ])
        })
        .collect();
    let empty = if app.snapshot_at.is_some() {
        "no flows: `qraft flow submit FILE` starts one"
    } else {
        "waiting for the first refresh…"
    };
    ListTable {
        title: format!(" Flows ({}, newest first) ", flows.len()).into(),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: Some(app.selected(View::Flows)),
        empty,
    }
    .render(frame, list_area);

    if let Some(flow) = selected {
        render_detail(frame, detail_area, flow, now_ms);
    }
}

/// What a flow runs, in a few words: `a → b → c` for a chain, `a ×5, b` for a group, and a
/// chord's members then `→ callback`.
fn shape(flow: &FlowView) -> String {
    // Runs of the same task name collapse to `name ×n`: a group is often one task many times.
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for part in &flow.parts {
        match runs.last_mut() {
            Some((name, count)) if *name == part.name => *count += 1,
            _ => runs.push((&part.name, 1)),
        }
    }
    let named: Vec<String> = runs
        .into_iter()
        .map(|(name, count)| {
            if count == 1 {
                name.to_owned()
            } else {
                format!("{name} ×{count}")
            }
        })
        .collect();
    let members = match flow.kind {
        FlowKind::Chain => named.join(" → "),
        FlowKind::Group | FlowKind::Chord | FlowKind::Unknown => named.join(", "),
    };
    match &flow.callback {
        Some(callback) => format!("{members} → {}", callback.name),
        None => members,
    }
}

/// Borders, the summary lines, the parts' header and one row per part.
fn detail_height(flow: &FlowView) -> u16 {
    let parts = flow.parts.len() + usize::from(flow.callback.is_some());
    u16::try_from(2 + summary_lines(flow) + 1 + parts).unwrap_or(u16::MAX)
}

fn summary_lines(flow: &FlowView) -> usize {
    1 + usize::from(!flow.error.is_empty()) + usize::from(!flow.result.is_empty())
}

fn render_detail(frame: &mut Frame, area: Rect, flow: &FlowView, now_ms: u64) {
    let block = Block::bordered().title(format!(" Flow {} ", flow.id));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let summary_height = u16::try_from(summary_lines(flow)).unwrap_or(u16::MAX);
    let [summary_area, parts_area] =
        Layout::vertical([Constraint::Length(summary_height), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(summary(flow, now_ms)), summary_area);

    // The header takes a row; what is left shows parts.
    let capacity = usize::from(parts_area.height.saturating_sub(1));
    let table = Table::new(part_rows(flow, capacity), PART_WIDTHS)
        .header(Row::new(PART_HEADER.iter().copied()).style(BOLD));
    frame.render_widget(table, parts_area);
}

fn summary(flow: &FlowView, now_ms: u64) -> Vec<Line<'static>> {
    let mut first = vec![
        Span::raw(format!("{} · ", flow.kind.name())),
        Span::styled(flow.state.name(), state_style(flow.state)),
        Span::raw(format!(
            " · {} of {} parts done · created {}",
            flow.done,
            flow.total,
            format::ago(now_ms, flow.created_at_ms)
        )),
    ];
    if flow.finished_at_ms != 0 {
        first.push(Span::raw(format!(
            " · finished {}",
            format::ago(now_ms, flow.finished_at_ms)
        )));
    }
    if !flow.idempotency_key.is_empty() {
        first.push(Span::styled(" · key ", DIM));
        first.push(Span::raw(flow.idempotency_key.clone()));
    }
    let mut lines = vec![Line::from(first)];
    if !flow.error.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("error  ", DIM),
            Span::styled(flow.error.clone(), ERROR),
        ]));
    }
    if !flow.result.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("result ", DIM),
            Span::raw(format::preview(&flow.result, PREVIEW)),
        ]));
    }
    lines
}

/// The parts that fit in `capacity` rows. When they do not all fit, the first members, a row
/// saying how many are left out, and a chord's callback, which says where the flow is going.
fn part_rows(flow: &FlowView, capacity: usize) -> Vec<Row<'static>> {
    let callback = flow.callback.as_ref();
    let total = flow.parts.len() + usize::from(callback.is_some());
    let members_shown = if total <= capacity {
        flow.parts.len()
    } else {
        capacity.saturating_sub(1 + usize::from(callback.is_some()))
    };
    // Indexed from 0, as the flow's own error messages count ("step 1 ... ended FAILURE").
    let mut rows: Vec<Row> = flow
        .parts
        .iter()
        .take(members_shown)
        .enumerate()
        .map(|(index, part)| part_row(index.to_string(), part, flow.state))
        .collect();
    let hidden = flow.parts.len() - members_shown;
    if hidden > 0 && capacity > 0 {
        rows.push(Row::new(vec![
            Span::raw(""),
            Span::styled(format!("… {hidden} more"), DIM),
        ]));
    }
    if let Some(callback) = callback
        && rows.len() < capacity
    {
        rows.push(part_row("callback".to_owned(), callback, flow.state));
    }
    rows
}

fn part_row(label: String, part: &FlowPartView, flow: FlowState) -> Row<'static> {
    let task = if part.task_id.is_empty() {
        Span::styled("-", DIM)
    } else {
        Span::raw(part.task_id.clone())
    };
    let state = match part.state {
        Some(state) => Span::styled(state.name(), tasks::state_style(state)),
        // Never enqueued: still to come while the flow runs; skipped once it has ended.
        None if flow == FlowState::Running => Span::styled("waiting", DIM),
        None => Span::styled("not run", DIM),
    };
    Row::new(vec![
        Span::styled(label, DIM),
        Span::raw(part.name.clone()),
        task,
        state,
        Span::styled(part.error.clone(), ERROR),
    ])
}

fn state_style(state: FlowState) -> Style {
    match state {
        FlowState::Succeeded => OK,
        FlowState::Failed => ERROR,
        FlowState::Running | FlowState::Unknown => Style::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn shapes_name_what_a_flow_runs() {
        let flows = fixtures::flows();
        let shapes: Vec<String> = flows.iter().map(shape).collect();
        assert_eq!(
            shapes,
            [
                "image.resize ×5 → album.publish",
                "page.fetch → page.parse → page.store",
                "mail.send ×2",
            ]
        );
    }

    #[test]
    fn parts_that_do_not_fit_leave_a_count_and_the_callback() {
        let chord = &fixtures::flows()[0];
        let labels = |capacity| part_rows(chord, capacity).len();
        assert_eq!(labels(10), 6, "all five members and the callback");
        assert_eq!(labels(6), 6);
        assert_eq!(labels(4), 4, "two members, '… 3 more', the callback");
        assert_eq!(labels(1), 1);
        assert_eq!(labels(0), 0);
    }
}
