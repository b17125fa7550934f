//! The bordered table every list view uses, selectable or not, with a line in place of rows
//! when there are none.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table, TableState};

use super::{BOLD, DIM, SELECTED};

pub struct ListTable<'a> {
    /// A line, so a view can style part of it (the Cluster view's membership change).
    pub title: Line<'a>,
    pub header: &'a [&'a str],
    pub widths: &'a [Constraint],
    pub rows: Vec<Row<'a>>,
    /// The highlighted row; `None` for a table the keys do not move through.
    pub selected: Option<usize>,
    /// What to say when there are no rows.
    pub empty: &'a str,
}

impl ListTable<'_> {
    pub fn render(self, frame: &mut Frame, area: Rect) {
        let block = Block::bordered().title(self.title);
        let header = Row::new(self.header.iter().copied()).style(BOLD);
        if self.rows.is_empty() {
            let inner = block.inner(area);
            frame.render_widget(block, area);
            frame.render_widget(Table::new(Vec::<Row>::new(), self.widths).header(header), inner);
            if inner.height > 1 {
                let line = Rect {
                    y: inner.y + 1,
                    height: 1,
                    ..inner
                };
                frame.render_widget(Paragraph::new(self.empty).style(DIM), line);
            }
            return;
        }
        let table = Table::new(self.rows, self.widths)
            .header(header)
            .block(block)
            .row_highlight_style(SELECTED)
            .highlight_symbol("▶ ");
        let mut state = TableState::default().with_selected(self.selected);
        frame.render_stateful_widget(table, area, &mut state);
    }
}
