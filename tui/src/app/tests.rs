//! Transitions of [`App::update`], driven from fixture states with an injected clock.

use std::time::{Duration, Instant};

use super::*;
use crate::action::DeadLetters;
use crate::fixtures;
use crate::model::{EventKind, Role, TaskView};

mod schedules_and_flows;

fn press(app: &mut App, key: Key) -> Option<Command> {
    let now = app.now;
    app.update(now, Msg::Key(key))
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert_eq!(press(app, Key::Char(c)), None);
    }
}

fn healthy() -> App {
    fixtures::app(fixtures::healthy_nodes(1), false)
}

fn status_text(app: &App) -> String {
    app.current_status()
        .map(|status| status.text.clone())
        .unwrap_or_default()
}

#[test]
fn digits_and_tab_switch_views() {
    let mut app = healthy();
    press(&mut app, Key::Char('3'));
    assert_eq!(app.view, View::Workers);
    press(&mut app, Key::Tab);
    assert_eq!(app.view, View::Tasks);
    press(&mut app, Key::Char('6'));
    assert_eq!(app.view, View::Schedules);
    press(&mut app, Key::Char('7'));
    assert_eq!(app.view, View::Flows);
    press(&mut app, Key::Tab);
    assert_eq!(app.view, View::Cluster, "Tab wraps around");
    press(&mut app, Key::BackTab);
    assert_eq!(app.view, View::Flows);
    press(&mut app, Key::BackTab);
    assert_eq!(app.view, View::Schedules);
    for ignored in ['0', '8', '9'] {
        press(&mut app, Key::Char(ignored));
        assert_eq!(app.view, View::Schedules);
    }
}

#[test]
fn selection_moves_within_bounds_per_view() {
    let mut app = healthy();
    press(&mut app, Key::Char('k'));
    assert_eq!(app.selected(View::Cluster), 0);
    for _ in 0..5 {
        press(&mut app, Key::Down);
    }
    assert_eq!(app.selected(View::Cluster), 2, "three nodes");
    press(&mut app, Key::Char('2'));
    assert_eq!(app.selected(View::Queues), 0, "each view keeps its own selection");
    press(&mut app, Key::Char('G'));
    assert_eq!(app.selected(View::Queues), 3, "four queues");
    press(&mut app, Key::Up);
    assert_eq!(app.selected(View::Queues), 2);
    press(&mut app, Key::Char('g'));
    assert_eq!(app.selected(View::Queues), 0);
    press(&mut app, Key::Char('1'));
    assert_eq!(app.selected(View::Cluster), 2);
}

#[test]
fn empty_lists_do_not_panic() {
    let mut app = App::new(false, Instant::now());
    for view in ['1', '2', '3', '4', '5', '6', '7'] {
        press(&mut app, Key::Char(view));
        for key in [Key::Down, Key::Up, Key::Char('G'), Key::Char('g')] {
            press(&mut app, key);
            assert_eq!(app.selected(app.view), 0);
        }
        for action in ['p', 'r', 'P', 'x', 'R', 'D', 't'] {
            assert_eq!(press(&mut app, Key::Char(action)), None);
            assert_eq!(app.mode, Mode::Normal);
        }
    }
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = healthy();
    assert_eq!(press(&mut app, Key::Char('q')), Some(Command::Quit));
    press(&mut app, Key::Char('4'));
    press(&mut app, Key::Char('/'));
    assert_eq!(press(&mut app, Key::Char('q')), None, "q is text while editing");
    assert_eq!(press(&mut app, Key::Ctrl('c')), Some(Command::Quit));
}

#[test]
fn filter_editing_applies_on_enter_and_cancels_on_esc() {
    let mut app = healthy();
    assert_eq!(press(&mut app, Key::Char('/')), None);
    assert_eq!(app.mode, Mode::Normal, "no filter outside the Tasks view");

    press(&mut app, Key::Char('4'));
    press(&mut app, Key::Char('/'));
    type_text(&mut app, "state=dead reportx");
    press(&mut app, Key::Backspace);
    let command = press(&mut app, Key::Enter);
    let want = TaskFilter::parse("state=failure report").expect("valid filter");
    assert_eq!(command, Some(Command::SetTaskFilter(want.clone())));
    assert_eq!(app.task_filter, want);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.visible_tasks().len(), 1, "bare words narrow the list locally");

    press(&mut app, Key::Char('/'));
    assert_eq!(
        app.mode,
        Mode::EditFilter {
            input: "state=failure report".into()
        },
        "editing starts from the filter in force"
    );
    press(&mut app, Key::Ctrl('u'));
    type_text(&mut app, "queue=other");
    assert_eq!(press(&mut app, Key::Esc), None);
    assert_eq!(app.task_filter, want, "Esc keeps the old filter");
}

#[test]
fn a_bad_filter_keeps_the_prompt_open_with_the_reason() {
    let mut app = healthy();
    press(&mut app, Key::Char('4'));
    press(&mut app, Key::Char('/'));
    type_text(&mut app, "state=done");
    assert_eq!(press(&mut app, Key::Enter), None);
    assert!(matches!(app.mode, Mode::EditFilter { .. }));
    assert!(status_text(&app).contains("unknown state"));
    assert!(app.current_status().is_some_and(|status| status.is_error));
}

#[test]
fn destructive_actions_ask_and_default_to_cancel() {
    let mut app = healthy();
    press(&mut app, Key::Char('2'));
    press(&mut app, Key::Char('j'));
    assert_eq!(press(&mut app, Key::Char('P')), None);
    let purge = Action::PurgeQueue("emails".into());
    assert_eq!(
        app.mode,
        Mode::Confirm(Confirm {
            action: purge.clone(),
            choice: Choice::Cancel
        })
    );
    assert_eq!(
        press(&mut app, Key::Enter),
        None,
        "Enter on the default is Cancel"
    );
    assert_eq!(app.mode, Mode::Normal);
    assert!(status_text(&app).starts_with("cancelled"));

    press(&mut app, Key::Char('P'));
    assert_eq!(press(&mut app, Key::Char('j')), None, "other keys are ignored");
    press(&mut app, Key::Tab);
    assert_eq!(press(&mut app, Key::Enter), Some(Command::Run(purge.clone())));

    press(&mut app, Key::Char('P'));
    press(&mut app, Key::Char('l'));
    press(&mut app, Key::Char('h'));
    assert_eq!(press(&mut app, Key::Enter), None, "moved back to Cancel");

    press(&mut app, Key::Char('P'));
    assert_eq!(press(&mut app, Key::Char('y')), Some(Command::Run(purge)));
    for cancel in [Key::Char('n'), Key::Esc] {
        press(&mut app, Key::Char('P'));
        assert_eq!(press(&mut app, cancel), None);
        assert_eq!(app.mode, Mode::Normal);
    }
}

#[test]
fn plain_actions_run_at_once() {
    let mut app = healthy();
    press(&mut app, Key::Char('2'));
    assert_eq!(
        press(&mut app, Key::Char('p')),
        Some(Command::Run(Action::PauseQueue("default".into())))
    );
    assert_eq!(status_text(&app), "Pause queue default…");
    press(&mut app, Key::Char('j'));
    assert_eq!(
        press(&mut app, Key::Char('R')),
        Some(Command::Run(Action::RetryDead(DeadLetters::Queue(
            "emails".into()
        ))))
    );
}

#[test]
fn read_only_refuses_admin_actions() {
    let mut app = fixtures::app(fixtures::healthy_nodes(1), true);
    press(&mut app, Key::Char('2'));
    for key in ['p', 'r', 'P', 'R', 'D'] {
        assert_eq!(press(&mut app, Key::Char(key)), None);
        assert_eq!(app.mode, Mode::Normal);
        assert!(status_text(&app).starts_with("read-only console"), "{key}");
    }
    press(&mut app, Key::Char('1'));
    press(&mut app, Key::Char('j'));
    assert_eq!(press(&mut app, Key::Char('t')), None);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn actions_check_their_target() {
    let mut app = healthy();
    press(&mut app, Key::Char('2'));
    assert_eq!(press(&mut app, Key::Char('D')), None);
    assert_eq!(status_text(&app), "queue default has no dead letters");

    press(&mut app, Key::Char('4'));
    // The first task is STARTED: revocable, not a dead letter.
    assert_eq!(press(&mut app, Key::Char('R')), None);
    assert!(status_text(&app).contains("is not a dead letter (STARTED)"));
    press(&mut app, Key::Char('x'));
    assert!(
        matches!(&app.mode, Mode::Confirm(c) if c.action == Action::Revoke("01JGZ8Y4E6S2Q9V3M5K7T1B0CD".into()))
    );
    press(&mut app, Key::Esc);

    press(&mut app, Key::Char('j'));
    assert_eq!(press(&mut app, Key::Char('x')), None);
    assert!(status_text(&app).contains("already finished (FAILURE)"));
    press(&mut app, Key::Char('D'));
    let purge = Action::PurgeDead(DeadLetters::Task("01JGZ8XZQ0A1B2C3D4E5F6G7H8".into()));
    assert_eq!(press(&mut app, Key::Char('y')), Some(Command::Run(purge)));
}

#[test]
fn transfer_leadership_targets_a_reachable_follower() {
    let mut app = fixtures::app(fixtures::one_down_nodes(), false);
    assert_eq!(press(&mut app, Key::Char('t')), None);
    assert_eq!(status_text(&app), "n1 already leads");
    press(&mut app, Key::Char('G'));
    press(&mut app, Key::Char('t'));
    assert_eq!(status_text(&app), "n3 is unreachable from here");
    press(&mut app, Key::Char('k'));
    press(&mut app, Key::Char('t'));
    let transfer = Action::TransferLeader {
        id: 2,
        addr: "127.0.0.1:7072".into(),
    };
    assert_eq!(press(&mut app, Key::Char('y')), Some(Command::Run(transfer)));
}

#[test]
fn a_learner_cannot_be_made_leader() {
    let mut nodes = fixtures::grown_nodes();
    // n6 has not applied the change yet and still says follower; the leader knows better.
    if let Some(Ok(learner)) = nodes.last_mut().map(|entry| &mut entry.status) {
        learner.role = Role::Follower;
    }
    let mut app = fixtures::app(nodes, false);
    press(&mut app, Key::Char('G'));
    assert_eq!(press(&mut app, Key::Char('t')), None);
    assert_eq!(status_text(&app), "n6 is a learner and cannot lead");
}

#[test]
fn a_leader_change_flashes_for_two_seconds() {
    let start = Instant::now();
    let mut app = App::new(false, start);
    app.update(
        start,
        Msg::Snapshot(Box::new(fixtures::snapshot(fixtures::healthy_nodes(1), 0))),
    );
    assert!(!app.flashing(), "the first leader seen is not a change");
    app.update(
        start + Duration::from_secs(1),
        Msg::Snapshot(Box::new(fixtures::snapshot(fixtures::no_quorum_nodes(), 1))),
    );
    assert!(!app.flashing(), "losing the leader does not flash");
    assert!(app.summary.no_quorum());
    let elected = start + Duration::from_secs(2);
    app.update(
        elected,
        Msg::Snapshot(Box::new(fixtures::snapshot(fixtures::healthy_nodes(3), 2))),
    );
    assert!(app.flashing());
    assert_eq!(app.leader().map(|leader| leader.id), Some(3));
    app.update(elected + Duration::from_millis(1900), Msg::Tick);
    assert!(app.flashing());
    app.update(elected + FLASH, Msg::Tick);
    assert!(!app.flashing());
    let later = elected + FLASH;
    let again = [
        fixtures::healthy_nodes(3),
        fixtures::no_quorum_nodes(),
        fixtures::healthy_nodes(3),
    ];
    for (step, nodes) in (3..).zip(again) {
        app.update(later, Msg::Snapshot(Box::new(fixtures::snapshot(nodes, step))));
        assert!(
            !app.flashing(),
            "the same leader again, even after a gap, is no change"
        );
    }
}

#[test]
fn task_selection_follows_the_task_as_new_ones_arrive() {
    let mut app = healthy();
    press(&mut app, Key::Char('4'));
    press(&mut app, Key::Char('j'));
    let selected = app.selected_task().map(|task| task.id.clone());
    let mut snapshot = fixtures::snapshot(fixtures::healthy_nodes(1), 0);
    snapshot.tasks.insert(
        0,
        TaskView {
            id: "01JGZ9NEWER".into(),
            ..TaskView::default()
        },
    );
    let now = app.now;
    app.update(now, Msg::Snapshot(Box::new(snapshot)));
    assert_eq!(app.selected_task().map(|task| task.id.clone()), selected);
    assert_eq!(app.selected(View::Tasks), 2);
}

#[test]
fn events_are_deduplicated_and_followed() {
    let mut app = healthy();
    let now = app.now;
    assert_eq!(app.events.len(), 8);
    assert_eq!(app.selected(View::Events), 7);
    let event = |seq| EventView {
        seq,
        at_ms: 0,
        kind: EventKind::Unknown,
    };
    app.update(now, Msg::Events(vec![event(7), event(8), event(9)]));
    assert_eq!(
        app.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8, 9]
    );
    assert_eq!(app.selected(View::Events), 8, "following the newest");

    press(&mut app, Key::Char('5'));
    press(&mut app, Key::Char('k'));
    assert!(!app.events_follow);
    app.update(now, Msg::Events(vec![event(10)]));
    assert_eq!(app.selected(View::Events), 7, "scrolled up: the selection stays");
    press(&mut app, Key::Char('G'));
    assert!(app.events_follow);
    assert_eq!(app.selected(View::Events), 9);
}

#[test]
fn task_failures_can_be_hidden_from_the_timeline() {
    let mut app = healthy();
    let failures = app
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::TaskFailed { .. }))
        .count();
    assert!(failures > 0, "the fixture has task failures");
    press(&mut app, Key::Char('5'));
    press(&mut app, Key::Char('f'));
    assert_eq!(app.rows(View::Events), app.events.len() - failures);
    assert!(
        app.visible_events()
            .all(|e| !matches!(e.kind, EventKind::TaskFailed { .. }))
    );
    assert_eq!(
        app.selected(View::Events),
        app.rows(View::Events) - 1,
        "follows the newest"
    );
    press(&mut app, Key::Char('f'));
    assert_eq!(app.rows(View::Events), app.events.len());
}

#[test]
fn depth_history_is_bounded_and_dropped_with_the_queue() {
    let mut app = healthy();
    assert_eq!(app.depth_history.get("emails").map(VecDeque::len), Some(20));
    let now = app.now;
    for step in 0..100 {
        app.update(
            now,
            Msg::Snapshot(Box::new(fixtures::snapshot(fixtures::healthy_nodes(1), step))),
        );
    }
    assert_eq!(app.depth_history.get("emails").map(VecDeque::len), Some(HISTORY));
    assert_eq!(
        app.depth_history
            .get("emails")
            .and_then(|samples| samples.back().copied()),
        Some(1_250 + 99 * 40)
    );
    let mut snapshot = fixtures::snapshot(fixtures::healthy_nodes(1), 0);
    snapshot.queues.retain(|queue| queue.name != "emails");
    app.update(now, Msg::Snapshot(Box::new(snapshot)));
    assert!(!app.depth_history.contains_key("emails"));
}

#[test]
fn action_results_show_then_give_way() {
    let mut app = healthy();
    let now = app.now;
    let action = Action::PurgeQueue("emails".into());
    app.update(
        now,
        Msg::ActionDone {
            action: action.clone(),
            result: Err("Unavailable: refused".into()),
        },
    );
    let status = app.current_status().cloned();
    assert_eq!(
        status.map(|s| (s.text, s.is_error)),
        Some((
            "could not purge queue emails (delete its pending, scheduled and retrying tasks): Unavailable: refused".into(),
            true
        ))
    );
    app.update(now + STATUS_SHOWN, Msg::Tick);
    assert_eq!(app.current_status(), None);
    app.update(
        now,
        Msg::ActionDone {
            action,
            result: Ok("purged 120 tasks from queue emails".into()),
        },
    );
    assert_eq!(status_text(&app), "purged 120 tasks from queue emails");
}

#[test]
fn stream_state_sets_the_connected_node() {
    let mut app = healthy();
    let now = app.now;
    assert_eq!(app.connected.as_deref(), Some("127.0.0.1:7071"));
    app.update(
        now,
        Msg::Stream(StreamState::Lost {
            addr: "127.0.0.1:7071".into(),
            error: "the node ended the stream".into(),
        }),
    );
    assert_eq!(app.connected, None);
    assert!(
        app.stream_error
            .as_deref()
            .is_some_and(|e| e.contains("ended the stream"))
    );
    app.update(now, Msg::Stream(StreamState::Connected("127.0.0.1:7072".into())));
    assert_eq!(app.connected.as_deref(), Some("127.0.0.1:7072"));
    assert_eq!(app.stream_error, None);
}

#[test]
fn help_opens_and_closes() {
    let mut app = healthy();
    press(&mut app, Key::Char('?'));
    assert_eq!(app.mode, Mode::Help);
    press(&mut app, Key::Char('j'));
    assert_eq!(app.mode, Mode::Help, "keys do not leak through the overlay");
    assert_eq!(app.selected(View::Cluster), 0);
    press(&mut app, Key::Esc);
    assert_eq!(app.mode, Mode::Normal);
    press(&mut app, Key::Char('?'));
    assert_eq!(press(&mut app, Key::Char('q')), Some(Command::Quit));
}
