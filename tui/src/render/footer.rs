//! The bottom two lines: the message line (action results, then whatever failed to load) and
//! the key hints, taken from the key table for the current view and mode.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{BOLD, DIM, ERROR, OK, WARN};
use crate::app::{App, Mode};
use crate::keys::{self, CONFIRM_KEYS, FILTER_KEYS};

pub fn render_message(frame: &mut Frame, area: Rect, app: &App) {
    let line = if let Some(status) = app.current_status() {
        let style = if status.is_error { ERROR } else { OK };
        Line::styled(format!(" {}", status.text), style)
    } else if let Some(error) = &app.stream_error {
        Line::styled(format!(" {error}"), WARN)
    } else if !app.snapshot.problems.is_empty() {
        Line::styled(
            format!(" could not read {}", app.snapshot.problems.join("; ")),
            WARN,
        )
    } else {
        Line::default()
    };
    frame.render_widget(Paragraph::new(line), area);
}

pub fn render_hints(frame: &mut Frame, area: Rect, app: &App) {
    let pairs: Vec<(&str, &str)> = match &app.mode {
        Mode::Normal => keys::footer_hints(app.view, app.read_only)
            .map(|binding| (binding.label, binding.hint))
            .collect(),
        Mode::Help => vec![("Esc/?", "close help"), ("q", "quit")],
        Mode::EditFilter { .. } => FILTER_KEYS.to_vec(),
        Mode::Confirm(_) => CONFIRM_KEYS.to_vec(),
    };
    frame.render_widget(Paragraph::new(hint_line(&pairs)), area);
}

/// `key hint` pairs, keys in bold, as one line.
pub fn hint_line(pairs: &[(&str, &str)]) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (index, (key, hint)) in pairs.iter().enumerate() {
        if index > 0 {
            spans.push(Span::styled(" · ", DIM));
        }
        spans.push(Span::styled((*key).to_owned(), BOLD));
        spans.push(Span::raw(format!(" {hint}")));
    }
    Line::from(spans)
}
