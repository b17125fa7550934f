//! View 1: every node, its Raft progress as it reports it, and its lag and last contact as the
//! leader sees them; unreachable nodes stay listed with their error, learners show how far they
//! have to catch up, and the title says when a membership change is under way.

use qraft_proto::limits::CAUGHT_UP_LAG;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Wrap};

use super::table::ListTable;
use super::{BOLD, CHANGE, DIM, ERROR, OK, WARN};
use crate::app::{App, View};
use crate::format;
use crate::model::{ClusterSummary, NodeEntry, NodeView, Role};

/// Every column: its header, its width, and whether a narrow terminal keeps it. The Raft
/// indexes give way first (the pane beneath then shows them for the selected node), so that
/// addresses stay whole and health stays in sight on an 80-column terminal.
const COLUMNS: [(&str, Constraint, bool); 10] = [
    ("ID", Constraint::Length(4), true),
    ("ADDRESS", Constraint::Length(18), true),
    ("ROLE", Constraint::Length(9), true),
    ("TERM", Constraint::Length(5), false),
    ("LAST LOG", Constraint::Length(8), false),
    ("COMMITTED", Constraint::Length(9), false),
    ("APPLIED", Constraint::Length(8), false),
    ("LAG", Constraint::Length(5), true),
    ("LAST ACK", Constraint::Length(10), true),
    ("HEALTH", Constraint::Fill(1), true),
];
/// Narrower than this, every column cannot fit with room left for a health line such as
/// "catching up: 12,340 behind".
const FULL_WIDTH: u16 = 110;

/// How a node is doing, from the console's and the leader's points of view.
enum Health<'a> {
    Ok,
    Unreachable(&'a str),
    LeaderCannotReach,
    /// A learner, and how far behind the leader's log it is when the leader answered.
    Learner(Option<u64>),
}

fn health<'a>(entry: &'a NodeEntry, summary: &ClusterSummary, leader: Option<&NodeView>) -> Health<'a> {
    match (&entry.status, entry.id()) {
        (Err(error), _) => Health::Unreachable(error),
        (Ok(_), Some(id)) if summary.unreachable.contains(&id) => Health::LeaderCannotReach,
        (Ok(view), Some(id)) if is_learner(view, summary) => {
            let lag = leader.and_then(|leader| leader.peers.iter().find(|peer| peer.id == id));
            Health::Learner(lag.map(|peer| peer.lag))
        }
        (Ok(_), _) => Health::Ok,
    }
}

/// A learner by its own word or by the membership's: a node that has not applied the change
/// yet still calls itself a follower.
fn is_learner(view: &NodeView, summary: &ClusterSummary) -> bool {
    view.role == Role::Learner || (view.role == Role::Follower && summary.is_learner(view.id))
}

fn health_cell(health: Health<'_>) -> Span<'static> {
    match health {
        Health::Ok => Span::styled("ok", OK),
        Health::Unreachable(error) => {
            Span::styled(format!("unreachable: {}", format::short_error(error)), ERROR)
        }
        Health::LeaderCannotReach => Span::styled("leader cannot reach", WARN),
        Health::Learner(Some(lag)) if lag > CAUGHT_UP_LAG => {
            Span::styled(format!("catching up: {} behind", format::grouped(lag)), CHANGE)
        }
        Health::Learner(Some(_)) => Span::styled("learner, caught up", CHANGE),
        Health::Learner(None) => Span::styled("learner (lag unknown)", CHANGE),
    }
}

/// `Nodes (5) · 4 voters, 1 learner · membership change in progress`; the voter count only
/// when there are learners to tell apart.
fn title(count: usize, summary: &ClusterSummary) -> Line<'static> {
    let mut spans = vec![Span::raw(format!(" Nodes ({count}) "))];
    let learners = summary.learners();
    if learners > 0 {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        spans.push(Span::raw(format!(
            "· {}, {} ",
            plural(summary.voters, "voter"),
            plural(learners, "learner")
        )));
    }
    if summary.membership_changing {
        spans.push(Span::raw("· "));
        spans.push(Span::styled("membership change in progress", CHANGE.patch(BOLD)));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let nodes = &app.snapshot.nodes;
    let compact = area.width < FULL_WIDTH;
    // The detail pane only takes room when there is a node to detail; compact, it has a line
    // more for the indexes the table leaves out.
    let detail_height = match (nodes.is_empty(), compact) {
        (true, _) => 0,
        (false, false) => 5,
        (false, true) => 6,
    };
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(detail_height)]).areas(area);
    // The leader and unreachable list the status bar names, from the same answers.
    let leader = app
        .summary
        .leader_entry
        .and_then(|index| nodes.get(index)?.view());
    let leader_id = app.leader().map(|leader| leader.id);

    let shown = |column: usize| !compact || COLUMNS[column].2;
    let header: Vec<&str> = (0..COLUMNS.len())
        .filter(|&column| shown(column))
        .map(|column| COLUMNS[column].0)
        .collect();
    let mut widths: Vec<Constraint> = (0..COLUMNS.len())
        .filter(|&column| shown(column))
        .map(|column| COLUMNS[column].1)
        .collect();
    if compact {
        // As wide as the longest address, so the room saved goes to health.
        let longest = nodes.iter().map(|entry| entry.addr.chars().count()).max();
        let width = longest.map_or(18, |longest| longest.clamp("ADDRESS".len(), 24));
        if let Some(column) = header.iter().position(|name| *name == "ADDRESS") {
            widths[column] = Constraint::Length(u16::try_from(width).unwrap_or(24));
        }
    }

    let rows = nodes
        .iter()
        .map(|entry| {
            let id = entry.id().map_or("?".to_owned(), |id| format!("n{id}"));
            let (lag, ack) = progress(entry, leader);
            let mut cells = vec![Span::raw(id), Span::raw(entry.addr.clone())];
            cells.extend(match entry.view() {
                Some(view) => [
                    if is_learner(view, &app.summary) {
                        Span::styled(Role::Learner.name(), CHANGE)
                    } else {
                        Span::raw(view.role.name())
                    },
                    Span::raw(view.term.to_string()),
                    Span::raw(view.last_log.map_or("-".to_owned(), |index| index.to_string())),
                    Span::raw(view.committed.to_string()),
                    Span::raw(view.applied.to_string()),
                ],
                None => ["-", "-", "-", "-", "-"].map(Span::raw),
            });
            cells.extend([
                Span::raw(lag),
                Span::raw(ack),
                health_cell(health(entry, &app.summary, leader)),
            ]);
            let cells = cells
                .into_iter()
                .enumerate()
                .filter(|(column, _)| shown(*column))
                .map(|(_, cell)| cell);
            let row = Row::new(cells);
            if entry.id().is_some() && entry.id() == leader_id && entry.view().is_some() {
                row.style(OK.add_modifier(Modifier::BOLD))
            } else {
                row
            }
        })
        .collect();
    ListTable {
        title: title(nodes.len(), &app.summary),
        header: &header,
        widths: &widths,
        rows,
        selected: Some(app.selected(View::Cluster)),
        empty: "waiting for the first refresh…",
    }
    .render(frame, table_area);

    if let Some(entry) = nodes.get(app.selected(View::Cluster)) {
        let paragraph = Paragraph::new(details(entry, compact))
            .block(Block::bordered().title(format!(" {} ", entry.addr)))
            .wrap(Wrap { trim: true });
        frame.render_widget(paragraph, detail_area);
    }
}

/// Lag and last contact of `entry` as the leader reports them; the leader itself has neither.
/// The lag is shortened (`12.3k`) to fit its column; a learner's health spells it out.
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
            format::count(peer.lag),
            peer.last_ack_ms_ago.map_or("never".to_owned(), |ms| {
                format!("{} ago", format::duration_ms(ms))
            }),
        ),
        None => ("?".into(), "?".into()),
    }
}

/// The selected node's leader, snapshot, task count and membership; with `indexes`, also the
/// term and log indexes a compact table leaves out.
fn details(entry: &NodeEntry, indexes: bool) -> Vec<Line<'static>> {
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
    let mut lines = vec![Line::from(format!(
        "leader {leader} · snapshot at {} · {} tasks held",
        view.snapshot,
        format::count(view.task_count)
    ))];
    if indexes {
        let last_log = view.last_log.map_or("-".to_owned(), |index| index.to_string());
        lines.push(Line::from(format!(
            "term {} · last log {last_log} · committed {} · applied {}",
            view.term, view.committed, view.applied
        )));
    }
    lines.push(Line::from(vec![
        Span::styled("members ", DIM),
        Span::raw(if members.is_empty() {
            "unknown".to_owned()
        } else {
            members.join(", ")
        }),
    ]));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_is_catching_up_until_it_is_close_enough_to_vote() {
        let text = |lag| health_cell(Health::Learner(lag)).content.into_owned();
        assert_eq!(text(Some(12_340)), "catching up: 12,340 behind");
        assert_eq!(text(Some(CAUGHT_UP_LAG + 1)), "catching up: 65 behind");
        assert_eq!(text(Some(CAUGHT_UP_LAG)), "learner, caught up");
        assert_eq!(text(None), "learner (lag unknown)");
    }
}
