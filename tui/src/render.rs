//! Draws an [`App`]: the frame's layout plus one file per part. Everything is drawn from `&App`
//! alone, so a test can draw any state on a `TestBackend`.
//!
//! ```text
//! status bar      connected node, leader, term, quorum, refresh age
//! banner          NO QUORUM, when it applies
//! tabs            1-7 views, READ-ONLY marker
//! view            cluster | queues | workers | tasks | events | schedules | flows
//! message line    action result, or what failed to load
//! footer          key hints from the key table
//! ```
//! The help and confirmation dialogs are drawn over the rest.

mod cluster;
mod confirm;
mod events;
mod flows;
mod footer;
mod help;
mod limits;
mod queues;
mod schedules;
mod status_bar;
mod table;
mod tasks;
mod workers;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, Mode, View};

const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
const DIM: Style = Style::new().fg(Color::DarkGray);
const ERROR: Style = Style::new().fg(Color::Red);
const WARN: Style = Style::new().fg(Color::Yellow);
const OK: Style = Style::new().fg(Color::Green);
/// Membership changes and learners catching up: deliberate and not a fault, but worth noticing.
const CHANGE: Style = Style::new().fg(Color::Cyan);
const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);

pub fn draw(frame: &mut Frame, app: &App) {
    let banner = status_bar::no_quorum(app);
    let [
        status_area,
        banner_area,
        tabs_area,
        body,
        message_area,
        footer_area,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner.is_some())),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    status_bar::render(frame, status_area, app);
    if let Some(banner) = banner {
        frame.render_widget(banner, banner_area);
    }
    render_tabs(frame, tabs_area, app);
    match app.view {
        View::Cluster => cluster::render(frame, body, app),
        View::Queues => queues::render(frame, body, app),
        View::Workers => workers::render(frame, body, app),
        View::Tasks => tasks::render(frame, body, app),
        View::Events => events::render(frame, body, app),
        View::Schedules => schedules::render(frame, body, app),
        View::Flows => flows::render(frame, body, app),
    }
    footer::render_message(frame, message_area, app);
    footer::render_hints(frame, footer_area, app);

    match &app.mode {
        Mode::Help => help::render(frame, frame.area(), app),
        Mode::Confirm(confirm) => confirm::render(frame, frame.area(), confirm),
        Mode::Normal | Mode::EditFilter { .. } => {}
    }
}

fn render_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = Vec::new();
    for (number, view) in (1..).zip(View::ALL) {
        let label = format!("{number} {}", view.title());
        if view == app.view {
            spans.push(Span::styled(format!("[{label}]"), SELECTED.patch(BOLD)));
        } else {
            spans.push(Span::raw(format!(" {label} ")));
        }
        spans.push(Span::raw(" "));
    }
    if app.read_only {
        spans.push(Span::styled(" READ-ONLY ", WARN.add_modifier(Modifier::BOLD)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A `width` x `height` rectangle centred in `area`, shrunk to fit it.
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

#[cfg(test)]
mod tests;
