//! View 5: the replicated event timeline, oldest at the top and newest at the bottom, like a
//! log; it follows the newest until the operator scrolls up.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, List, ListItem, ListState};

use super::{CHANGE, DIM, ERROR, OK, SELECTED, WARN};
use crate::app::{App, View};
use crate::format;
use crate::model::{EventKind, EventView};

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let source = match &app.connected {
        Some(addr) => format!("from {addr}"),
        None => "not connected".to_owned(),
    };
    let follow = if app.events_follow {
        "following"
    } else {
        "paused: G to follow"
    };
    let shown = if app.hide_task_events {
        " · task failures hidden (f)"
    } else {
        ""
    };
    let block = Block::bordered().title(format!(" Events (UTC) · {source} · {follow}{shown} "));
    if app.visible_events().next().is_none() {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(Line::styled("no events yet", DIM), inner);
        return;
    }
    let items: Vec<ListItem> = app
        .visible_events()
        .map(|event| ListItem::new(Line::styled(format::event_line(event), style(event))))
        .collect();
    let list = List::new(items)
        .block(block)
        .highlight_style(SELECTED)
        .highlight_symbol("▶ ");
    let mut state = ListState::default().with_selected(Some(app.selected(View::Events)));
    frame.render_stateful_widget(list, area, &mut state);
}

fn style(event: &EventView) -> Style {
    match &event.kind {
        EventKind::LeaderElected { .. } => OK,
        EventKind::Membership { .. } => CHANGE,
        EventKind::Reachability { reachable: false, .. } | EventKind::TaskFailed { dead: true, .. } => ERROR,
        EventKind::Reachability { reachable: true, .. } | EventKind::ClockSkew { in_step: true, .. } => OK,
        EventKind::ClockSkew { in_step: false, .. } | EventKind::LogReverted { .. } => WARN,
        EventKind::TaskFailed { dead: false, .. } => WARN,
        EventKind::Worker { .. } | EventKind::Queue { .. } | EventKind::Unknown => Style::new(),
    }
}
