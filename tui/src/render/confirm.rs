//! The confirmation dialog of a destructive action; the focus starts on Cancel.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};

use super::footer::hint_line;
use super::{BOLD, SELECTED, centered};
use crate::app::{Choice, Confirm};
use crate::format::capitalize;
use crate::keys::CONFIRM_KEYS;

pub fn render(frame: &mut Frame, area: Rect, confirm: &Confirm) {
    let button = |label: &str, choice: Choice| {
        if confirm.choice == choice {
            Span::styled(format!("> {label} <"), SELECTED.patch(BOLD))
        } else {
            Span::raw(format!("  {label}  "))
        }
    };
    let question = format!("{}?", capitalize(&confirm.action.describe()));
    let lines = vec![
        Line::from(question),
        Line::default(),
        Line::from(vec![
            button("Cancel", Choice::Cancel),
            Span::raw("    "),
            button("Confirm", Choice::Confirm),
        ])
        .alignment(Alignment::Center),
        Line::default(),
        hint_line(CONFIRM_KEYS).alignment(Alignment::Center),
    ];
    let popup = centered(area, 64, 9);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(" Confirm ")
        .padding(Padding::horizontal(1))
        .border_style(Style::new().fg(Color::Red));
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        popup,
    );
}
