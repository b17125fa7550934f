//! The always-visible top line (connected node, leader, term, quorum, refresh age) and the
//! NO QUORUM banner.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{BOLD, DIM, ERROR};
use crate::app::App;
use crate::format;

const FLASH: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Yellow)
    .add_modifier(Modifier::BOLD);

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let separator = || Span::styled(" │ ", DIM);
    let mut spans = vec![Span::styled(" qraft", BOLD), separator()];
    spans.push(Span::raw(match &app.connected {
        Some(addr) => format!("connected {addr}"),
        None => "connecting…".to_owned(),
    }));
    spans.push(separator());
    let leader = match app.leader() {
        Some(leader) if app.flashing() => {
            Span::styled(format!("leader n{} {} (new)", leader.id, leader.addr), FLASH)
        }
        Some(leader) => Span::raw(format!("leader n{} {}", leader.id, leader.addr)),
        None if app.snapshot_at.is_some() => Span::styled("no leader", ERROR),
        None => Span::raw("leader ?"),
    };
    spans.push(leader);
    spans.push(separator());
    spans.push(Span::raw(format!("term {}", app.summary.term)));
    spans.push(separator());
    let summary = &app.summary;
    let quorum = if summary.voters == 0 {
        "quorum ?".to_owned()
    } else {
        format!("quorum {}/{}", summary.voters_answered, summary.voters)
    };
    let quorum_style = if app.snapshot_at.is_some() && summary.no_quorum() {
        ERROR
    } else {
        Style::new()
    };
    spans.push(Span::styled(quorum, quorum_style));
    spans.push(separator());
    spans.push(Span::raw(match app.snapshot_at {
        Some(at) => {
            let age = app.now.saturating_duration_since(at);
            let ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
            format!("refreshed {} ago", format::short_age(ms))
        }
        None => "waiting for the first refresh".to_owned(),
    }));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The red banner, when the cluster cannot commit; `None` otherwise or before the first
/// refresh (when nothing is known yet).
pub fn no_quorum(app: &App) -> Option<Paragraph<'static>> {
    let summary = &app.summary;
    if app.snapshot_at.is_none() || !summary.no_quorum() {
        return None;
    }
    let why = if summary.voters == 0 {
        "no node answered".to_owned()
    } else if summary.leader.is_none() {
        format!(
            "no leader known; {} of {} voters answered",
            summary.voters_answered, summary.voters
        )
    } else {
        format!(
            "only {} of {} voters answered",
            summary.voters_answered, summary.voters
        )
    };
    let style = Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD);
    let text = format!(" NO QUORUM — the cluster cannot accept writes ({why})");
    Some(Paragraph::new(text).style(style))
}
