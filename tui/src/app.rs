//! The console's state and its pure update logic: [`App::update`] takes a [`Msg`] (a key, a
//! snapshot, events, an action's result) and the current time, changes the state and may hand
//! back a [`Command`] for the run loop. No I/O and no clock reading here, so every transition is
//! a unit test.

mod input;
mod selection;
mod targets;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::action::Action;
use crate::filter::TaskFilter;
use crate::keys::Key;
use crate::model::{ClusterSummary, EventView, LeaderRef, Snapshot};

/// How long the status bar highlights a new leader.
pub const FLASH: Duration = Duration::from_secs(2);
/// Depth samples kept per queue for its sparkline: a minute at the default refresh.
pub const HISTORY: usize = 60;
/// How long an action's result stays on the message line.
pub const STATUS_SHOWN: Duration = Duration::from_secs(10);
/// Events kept for the timeline; a node keeps 1000 too.
const EVENTS_KEPT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    Cluster,
    Queues,
    Workers,
    Tasks,
    Events,
    Schedules,
    Flows,
}

impl View {
    pub const ALL: [View; 7] = [
        View::Cluster,
        View::Queues,
        View::Workers,
        View::Tasks,
        View::Events,
        View::Schedules,
        View::Flows,
    ];

    pub fn title(self) -> &'static str {
        match self {
            View::Cluster => "Cluster",
            View::Queues => "Queues",
            View::Workers => "Workers",
            View::Tasks => "Tasks",
            View::Events => "Events",
            View::Schedules => "Schedules",
            View::Flows => "Flows",
        }
    }

    pub fn index(self) -> usize {
        match self {
            View::Cluster => 0,
            View::Queues => 1,
            View::Workers => 2,
            View::Tasks => 3,
            View::Events => 4,
            View::Schedules => 5,
            View::Flows => 6,
        }
    }

    fn from_digit(digit: char) -> Option<View> {
        let index = digit.to_digit(10)?.checked_sub(1)?;
        View::ALL.get(usize::try_from(index).ok()?).copied()
    }

    fn next(self) -> View {
        View::ALL[(self.index() + 1) % View::ALL.len()]
    }

    fn prev(self) -> View {
        View::ALL[(self.index() + View::ALL.len() - 1) % View::ALL.len()]
    }
}

/// Everything that can change the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(Key),
    /// Boxed: a snapshot is many times the size of the other messages.
    Snapshot(Box<Snapshot>),
    /// New events from the stream, oldest first.
    Events(Vec<EventView>),
    Stream(StreamState),
    ActionDone {
        action: Action,
        /// What happened, worded for the status line, or why it failed.
        result: Result<String, String>,
    },
    /// Time passed: ages and the leader flash move on.
    Tick,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamState {
    Connected(String),
    Lost { addr: String, error: String },
}

/// What the run loop must do on the state's behalf.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Quit,
    Run(Action),
    /// The fetcher should list tasks with this filter from now on.
    SetTaskFilter(TaskFilter),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Help,
    EditFilter { input: String },
    Confirm(Confirm),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub action: Action,
    pub choice: Choice,
}

/// The focused button of a confirmation; Cancel unless the operator moves it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Choice {
    #[default]
    Cancel,
    Confirm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub is_error: bool,
    /// When it was said; it gives way to background problems after [`STATUS_SHOWN`].
    pub at: Instant,
}

#[derive(Debug)]
pub struct App {
    pub view: View,
    /// Selected row per view, indexed by [`View::index`].
    selected: [usize; View::ALL.len()],
    /// The Events view sticks to the newest event until the operator scrolls up.
    pub events_follow: bool,
    /// Events view without task failures: elections, nodes, workers and queue operations only.
    pub hide_task_events: bool,
    pub mode: Mode,
    pub task_filter: TaskFilter,
    pub status: Option<StatusLine>,
    /// Refuses (and hides) every admin action.
    pub read_only: bool,
    pub snapshot: Snapshot,
    /// Derived from `snapshot` once, so every view agrees on leader and quorum.
    pub summary: ClusterSummary,
    /// When the last snapshot arrived; `None` before the first.
    pub snapshot_at: Option<Instant>,
    pub events: VecDeque<EventView>,
    /// The node the event stream is on: the one the console talks to.
    pub connected: Option<String>,
    /// Why the event stream is down, while it is.
    pub stream_error: Option<String>,
    /// Recent depth samples per queue, oldest first.
    pub depth_history: BTreeMap<String, VecDeque<u64>>,
    pub leader_changed_at: Option<Instant>,
    /// The time of the latest message: what ages and the flash are measured against.
    pub now: Instant,
    /// The last leader any snapshot named. A leader lost and found again is no change; the
    /// first one ever seen is not a change either.
    known_leader: Option<u64>,
}

impl App {
    pub fn new(read_only: bool, now: Instant) -> App {
        App {
            view: View::Cluster,
            selected: [0; View::ALL.len()],
            events_follow: true,
            hide_task_events: false,
            mode: Mode::Normal,
            task_filter: TaskFilter::default(),
            status: None,
            read_only,
            snapshot: Snapshot::default(),
            summary: ClusterSummary::default(),
            snapshot_at: None,
            events: VecDeque::new(),
            connected: None,
            stream_error: None,
            depth_history: BTreeMap::new(),
            leader_changed_at: None,
            now,
            known_leader: None,
        }
    }

    pub fn update(&mut self, now: Instant, msg: Msg) -> Option<Command> {
        self.now = now;
        match msg {
            Msg::Key(key) => return self.on_key(key),
            Msg::Snapshot(snapshot) => self.on_snapshot(*snapshot),
            Msg::Events(events) => self.on_events(events),
            Msg::Stream(StreamState::Connected(addr)) => {
                self.connected = Some(addr);
                self.stream_error = None;
            }
            Msg::Stream(StreamState::Lost { addr, error }) => {
                self.connected = None;
                self.stream_error = Some(format!("event stream from {addr} lost: {error}"));
            }
            Msg::ActionDone { action, result } => match result {
                Ok(text) => self.say(text, false),
                Err(error) => self.say(format!("could not {}: {error}", action.describe()), true),
            },
            Msg::Tick => {}
        }
        None
    }

    /// True while the status bar should highlight a new leader.
    pub fn flashing(&self) -> bool {
        self.leader_changed_at
            .is_some_and(|at| self.now.saturating_duration_since(at) < FLASH)
    }

    /// The action result or error to show, while it is fresh.
    pub fn current_status(&self) -> Option<&StatusLine> {
        self.status
            .as_ref()
            .filter(|status| self.now.saturating_duration_since(status.at) < STATUS_SHOWN)
    }

    pub fn leader(&self) -> Option<&LeaderRef> {
        self.summary.leader.as_ref()
    }

    fn on_snapshot(&mut self, snapshot: Snapshot) {
        let kept = self.selected_keys();
        self.summary = ClusterSummary::of(&snapshot.nodes);
        self.snapshot = snapshot;
        self.snapshot_at = Some(self.now);

        if let Some(leader) = self.summary.leader.as_ref().map(|leader| leader.id) {
            if self.known_leader.is_some_and(|known| known != leader) {
                self.leader_changed_at = Some(self.now);
            }
            self.known_leader = Some(leader);
        }

        for queue in &self.snapshot.queues {
            let samples = self.depth_history.entry(queue.name.clone()).or_default();
            samples.push_back(queue.depth());
            while samples.len() > HISTORY {
                samples.pop_front();
            }
        }
        let live: Vec<&str> = self.snapshot.queues.iter().map(|q| q.name.as_str()).collect();
        self.depth_history.retain(|name, _| live.contains(&name.as_str()));

        self.reselect(kept);
    }

    fn on_events(&mut self, events: Vec<EventView>) {
        for event in events {
            // Sequence numbers are replicated: anything not newer was already seen, whichever
            // node sent it.
            if self.events.back().is_some_and(|last| event.seq <= last.seq) {
                continue;
            }
            self.events.push_back(event);
        }
        while self.events.len() > EVENTS_KEPT {
            let dropped = self.events.pop_front();
            // The selection counts listed rows: only a listed event moves it.
            if dropped.is_some_and(|event| self.shows(&event)) {
                let row = &mut self.selected[View::Events.index()];
                *row = row.saturating_sub(1);
            }
        }
    }

    fn say(&mut self, text: impl Into<String>, is_error: bool) {
        self.status = Some(StatusLine {
            text: text.into(),
            is_error,
            at: self.now,
        });
    }
}
