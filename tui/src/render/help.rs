//! The `?` overlay: every binding of the key table (admin ones left out when read-only), then
//! the keys of the filter prompt and of confirmations.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::{BOLD, DIM, WARN, centered};
use crate::app::{App, View};
use crate::keys::{BINDINGS, CONFIRM_KEYS, FILTER_KEYS};

const KEY_WIDTH: usize = 8;
const HINT_WIDTH: usize = 16;

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let mut lines = Vec::new();
    for binding in BINDINGS.iter().filter(|binding| binding.visible(app.read_only)) {
        let views = if binding.views.len() == View::ALL.len() {
            "everywhere".to_owned()
        } else {
            binding
                .views
                .iter()
                .map(|view| view.title())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut spans = vec![
            Span::styled(format!(" {:<KEY_WIDTH$}", binding.label), BOLD),
            Span::raw(format!("{:<HINT_WIDTH$}", binding.hint)),
            Span::styled(views, DIM),
        ];
        if binding.destructive {
            spans.push(Span::styled("  asks first", WARN));
        }
        lines.push(Line::from(spans));
    }
    for (title, keys) in [("Filter prompt", FILTER_KEYS), ("Confirmation", CONFIRM_KEYS)] {
        let pairs: Vec<String> = keys.iter().map(|(key, hint)| format!("{key} {hint}")).collect();
        lines.push(Line::from(vec![
            Span::styled(format!(" {title}: "), BOLD),
            Span::raw(pairs.join(" · ")),
        ]));
    }
    if app.read_only {
        lines.push(Line::styled(
            " read-only: actions that change the cluster are off",
            WARN,
        ));
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let popup = centered(area, 72, height);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Keys · Esc or ? to close ")),
        popup,
    );
}
