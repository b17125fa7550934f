//! View 1: every node, its Raft progress as it reports it, and its lag and last contact as the
//! leader sees them; unreachable nodes stay listed with their error.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Wrap};

use super::table::ListTable;
use super::{DIM, ERROR, OK, WARN};
use crate::app::{App, View};
use crate::format;
use crate::model::{NodeEntry, NodeView};

const HEADER: &[&str] = &[
    "ID",
    "ADDRESS",
    "ROLE",
    "TERM",
    "LAST LOG",
    "COMMITTED",
    "APPLIED",
    "LAG",
    "LAST ACK",
    "HEALTH",
];
const WIDTHS: &[Constraint] = &[
    Constraint::Length(4),
    Constraint::Length(18),
    Constraint::Length(9),
    Constraint::Length(5),
    Constraint::Length(8),
    Constraint::Length(9),
    Constraint::Length(8),
    Constraint::Length(5),
    Constraint::Length(10),
    Constraint::Fill(1),
];

/// How a node is doing, from the console's and the leader's points of view.
enum Health<'a> {
    Ok,
    Unreachable(&'a str),
    LeaderCannotReach,
}

fn health<'a>(entry: &'a NodeEntry, unreachable: &[u64]) -> Health<'a> {
    match (&entry.status, entry.id()) {
        (Err(error), _) => Health::Unreachable(error),
        (Ok(_), Some(id)) if unreachable.contains(&id) => Health::LeaderCannotReach,
        (Ok(_), _) => Health::Ok,
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let nodes = &app.snapshot.nodes;
    // The detail pane only takes room when there is a node to detail.
    let detail_height = if nodes.is_empty() { 0 } else { 5 };
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(detail_height)]).areas(area);
    // The leader and unreachable list the status bar names, from the same answers.
    let leader = app
        .summary
        .leader_entry
        .and_then(|index| nodes.get(index)?.view());
    let unreachable = app.summary.unreachable.as_slice();
    let leader_id = app.leader().map(|leader| leader.id);

    let rows = nodes
        .iter()
        .map(|entry| {
            let id = entry.id().map_or("?".to_owned(), |id| format!("n{id}"));
            let (lag, ack) = progress(entry, leader);
            let (health_text, health_style) = match health(entry, unreachable) {
                Health::Ok => ("ok".to_owned(), OK),
                Health::Unreachable(error) => (format!("unreachable: {}", format::short_error(error)), ERROR),
                Health::LeaderCannotReach => ("leader cannot reach".to_owned(), WARN),
            };
            let mut cells = vec![Span::raw(id), Span::raw(entry.addr.clone())];
            cells.extend(match entry.view() {
                Some(view) => [
                    view.role.name().to_owned(),
                    view.term.to_string(),
                    view.last_log.map_or("-".to_owned(), |index| index.to_string()),
                    view.committed.to_string(),
                    view.applied.to_string(),
                ]
                .map(Span::raw),
                None => ["-", "-", "-", "-", "-"].map(Span::raw),
            });
            cells.extend([
                Span::raw(lag),
                Span::raw(ack),
                Span::styled(health_text, health_style),
            ]);
            let row = Row::new(cells);
            if entry.id().is_some() && entry.id() == leader_id && entry.view().is_some() {
                row.style(OK.add_modifier(Modifier::BOLD))
            } else {
                row
            }
        })
        .collect();
    ListTable {
        title: format!(" Nodes ({}) ", nodes.len()),
        header: HEADER,
        widths: WIDTHS,
        rows,
        selected: Some(app.selected(View::Cluster)),
        empty: "waiting for the first refresh…",
    }
    .render(frame, table_area);

    if let Some(entry) = nodes.get(app.selected(View::Cluster)) {
        let paragraph = Paragraph::new(details(entry))
            .block(Block::bordered().title(format!(" {} ", entry.addr)))
            .wrap(Wrap { trim: true });
        frame.render_widget(paragraph, detail_area);
    }
}

/// Lag and last contact of `entry` as the leader reports them; the leader itself has neither.
fn progress(entry: &NodeEntry, leader: Option<&NodeView>) -> (String, String) {
    let Some(leader) = leader else {
        return ("?".into(), "?".into());
    };
    let Some(id) = entry.id() else {
        return ("?".into(), "?".into());
    };
    if id == leader.id {
        return ("-".into(), "-".into());
    }
    match leader.peers.iter().find(|peer| peer.id == id) {
        Some(peer) => (
            peer.lag.to_string(),
            peer.last_ack_ms_ago.map_or("never".to_owned(), |ms| {
                format!("{} ago", format::duration_ms(ms))
            }),
        ),
        None => ("?".into(), "?".into()),
    }
}

fn details(entry: &NodeEntry) -> Vec<Line<'static>> {
    let view = match &entry.status {
        Ok(view) => view,
        Err(error) => return vec![Line::styled(format!("unreachable: {error}"), ERROR)],
    };
    let members: Vec<String> = view
        .members
        .iter()
        .map(|member| {
            let learner = if member.voter { "" } else { " (learner)" };
            format!("n{} {}{learner}", member.id, member.addr)
        })
        .collect();
    let leader = view.leader.as_ref().map_or("none known".to_owned(), |leader| {
        format!("n{} {}", leader.id, leader.addr)
    });
    vec![
        Line::from(format!(
            "leader {leader} · snapshot at {} · {} tasks held",
            view.snapshot,
            format::count(view.task_count)
        )),
        Line::from(vec![
            Span::styled("members ", DIM),
            Span::raw(if members.is_empty() {
                "unknown".to_owned()
            } else {
                members.join(", ")
            }),
        ]),
    ]
}
