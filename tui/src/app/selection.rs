//! What each view lists and which row it has selected, and keeping a selection on the same
//! item (task, queue, schedule, flow) when a refresh moves it to another row.

use super::{App, View};
use crate::model::{EventKind, EventView, FlowView, ScheduleView, TaskView};

/// The identity of the selected item of each view that keeps it across refreshes.
pub(super) struct SelectedKeys(Vec<(View, String)>);

/// Lists whose order changes under the operator: new tasks and flows arrive at the top, and
/// queues and schedules come and go.
const KEPT: [View; 4] = [View::Queues, View::Tasks, View::Schedules, View::Flows];

impl App {
    /// The tasks the Tasks view lists: the server's answer narrowed by the bare words.
    pub fn visible_tasks(&self) -> Vec<&TaskView> {
        self.snapshot
            .tasks
            .iter()
            .filter(|task| self.task_filter.matches(task))
            .collect()
    }

    pub fn rows(&self, view: View) -> usize {
        match view {
            View::Cluster => self.snapshot.nodes.len(),
            View::Queues => self.snapshot.queues.len(),
            View::Workers => self.snapshot.workers.len(),
            View::Tasks => self.visible_tasks().len(),
            View::Events => self.visible_events().count(),
            View::Schedules => self.snapshot.schedules.len(),
            View::Flows => self.snapshot.flows.len(),
        }
    }

    /// The selected row of `view`, within its rows (0 when empty).
    pub fn selected(&self, view: View) -> usize {
        let rows = self.rows(view);
        if view == View::Events && self.events_follow {
            return rows.saturating_sub(1);
        }
        self.selected[view.index()].min(rows.saturating_sub(1))
    }

    /// The events the Events view lists, oldest first.
    pub fn visible_events(&self) -> impl Iterator<Item = &EventView> {
        self.events.iter().filter(|event| self.shows(event))
    }

    pub(super) fn shows(&self, event: &EventView) -> bool {
        !(self.hide_task_events && matches!(event.kind, EventKind::TaskFailed { .. }))
    }

    pub fn selected_task(&self) -> Option<&TaskView> {
        self.visible_tasks().get(self.selected(View::Tasks)).copied()
    }

    pub fn selected_schedule(&self) -> Option<&ScheduleView> {
        self.snapshot.schedules.get(self.selected(View::Schedules))
    }

    pub fn selected_flow(&self) -> Option<&FlowView> {
        self.snapshot.flows.get(self.selected(View::Flows))
    }

    pub(super) fn select(&mut self, view: View, row: usize) {
        self.selected[view.index()] = row.min(self.rows(view).saturating_sub(1));
        if view == View::Events {
            self.events_follow = self.selected[view.index()] + 1 >= self.rows(view);
        }
    }

    /// Call before a refresh replaces the lists, and hand the answer to [`App::reselect`].
    pub(super) fn selected_keys(&self) -> SelectedKeys {
        let keys = KEPT
            .into_iter()
            .filter_map(|view| {
                let key = self.keys(view).into_iter().nth(self.selected(view))?;
                Some((view, key.to_owned()))
            })
            .collect();
        SelectedKeys(keys)
    }

    /// Moves each selection back onto its item if the refresh still lists it.
    pub(super) fn reselect(&mut self, kept: SelectedKeys) {
        for (view, key) in kept.0 {
            if let Some(row) = self.keys(view).iter().position(|listed| *listed == key) {
                self.select(view, row);
            }
        }
    }

    /// What identifies each listed row of `view`, in row order; empty for views whose rows
    /// keep their places.
    fn keys(&self, view: View) -> Vec<&str> {
        let snapshot = &self.snapshot;
        match view {
            View::Queues => snapshot.queues.iter().map(|queue| queue.name.as_str()).collect(),
            View::Tasks => self.visible_tasks().iter().map(|task| task.id.as_str()).collect(),
            View::Schedules => snapshot.schedules.iter().map(|s| s.name.as_str()).collect(),
            View::Flows => snapshot.flows.iter().map(|flow| flow.id.as_str()).collect(),
            View::Cluster | View::Workers | View::Events => Vec::new(),
        }
    }
}
