//! Snapshot tests: fixture states drawn on a `TestBackend`. A changed snapshot fails the test;
//! review the new `.snap` before accepting it (`INSTA_UPDATE=always cargo test -p qraft-tui`).

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::draw;
use crate::app::{App, Msg, View};
use crate::fixtures;
use crate::keys::Key;

fn terminal(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test backend");
    terminal
        .draw(|frame| draw(frame, app))
        .expect("drawing on a test backend");
    terminal
}

fn screen(app: &App) -> Terminal<TestBackend> {
    terminal(app, 120, 30)
}

fn press(app: &mut App, keys: &[Key]) {
    let now = app.now;
    for key in keys {
        app.update(now, Msg::Key(*key));
    }
}

fn in_view(mut app: App, view: View) -> App {
    let digit = char::from(b'1' + u8::try_from(view.index()).expect("at most nine views"));
    press(&mut app, &[Key::Char(digit)]);
    app
}

#[test]
fn cluster_healthy() {
    let app = fixtures::app(fixtures::healthy_nodes(1), false);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn cluster_one_node_unreachable() {
    let mut app = fixtures::app(fixtures::one_down_nodes(), false);
    press(&mut app, &[Key::Char('j'), Key::Char('j')]);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn cluster_leader_cannot_reach_a_node() {
    let app = fixtures::app(fixtures::partitioned_nodes(), false);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn cluster_without_quorum() {
    let app = fixtures::app(fixtures::no_quorum_nodes(), false);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn cluster_grown_to_five_with_a_learner_catching_up() {
    let mut app = fixtures::app_with_events(fixtures::grown_nodes(), fixtures::grown_events(), false);
    // The learner, so the pane beneath shows its own view.
    press(&mut app, &[Key::Char('G')]);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn cluster_of_five_on_an_80_column_terminal() {
    let app = fixtures::app_with_events(fixtures::grown_nodes(), fixtures::grown_events(), false);
    insta::assert_snapshot!(terminal(&app, 80, 24).backend());
}

#[test]
fn events_of_a_growing_cluster() {
    let app = in_view(
        fixtures::app_with_events(fixtures::grown_nodes(), fixtures::grown_events(), false),
        View::Events,
    );
    insta::assert_snapshot!(screen(&app).backend());
}

/// The colour of the first cell of `needle` on screen; snapshots hold text only.
fn colour_of(terminal: &Terminal<TestBackend>, needle: &str) -> Option<Color> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height).find_map(|y| {
        // Every cell drawn here holds one character, so a character offset is a column.
        let line: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
        let at = line.find(needle)?;
        let x = u16::try_from(line[..at].chars().count()).ok()?;
        Some(buffer[(x, y)].fg)
    })
}

#[test]
fn membership_changes_stand_out() {
    let app = fixtures::app_with_events(fixtures::grown_nodes(), fixtures::grown_events(), false);
    let cluster = screen(&app);
    assert_eq!(colour_of(&cluster, "catching up: 12,340"), Some(Color::Cyan));
    assert_eq!(colour_of(&cluster, "membership change"), Some(Color::Cyan));
    assert_eq!(colour_of(&cluster, "learner   8"), Some(Color::Cyan), "role");
    let events = screen(&in_view(app, View::Events));
    assert_eq!(colour_of(&events, "node 3 removed"), Some(Color::Cyan));
    assert_eq!(colour_of(&events, "node 4 caught up"), Some(Color::Cyan));
}

#[test]
fn queues() {
    let mut app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Queues);
    press(&mut app, &[Key::Char('j')]);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn queues_read_only_footer() {
    let app = in_view(fixtures::app(fixtures::healthy_nodes(1), true), View::Queues);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn workers() {
    let app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Workers);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn tasks_with_selected_task_detail() {
    let mut app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Tasks);
    insta::assert_snapshot!("tasks_started_task", screen(&app).backend());
    press(&mut app, &[Key::Char('j')]);
    insta::assert_snapshot!("tasks_dead_task", screen(&app).backend());
}

#[test]
fn tasks_filter_prompt() {
    let mut app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Tasks);
    press(&mut app, &[Key::Char('/')]);
    for c in "state=dead mail".chars() {
        press(&mut app, &[Key::Char(c)]);
    }
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn events() {
    let app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Events);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn schedules_with_limits_beneath() {
    let mut app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Schedules);
    // The paused one, so the line beneath the table describes it.
    press(&mut app, &[Key::Char('G')]);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn queue_caps_and_cluster_totals_beneath_the_limits() {
    let app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Schedules);
    let drawn = screen(&app);
    let text = drawn.backend().to_string();
    assert!(text.contains("Queue caps (3, 2 near full)"), "{text}");
    assert!(text.contains("9,500/10,000 (95%)"), "{text}");
    assert!(text.contains("60.0 MiB/64.0 MiB (93%)"), "{text}");
    assert!(text.contains("3.0 MiB · no cap"), "{text}");
    assert!(text.contains("40/100,000 (0%)"), "{text}");
    assert!(
        text.contains("cluster holds 1,234/1,000,000 tasks · 12.3 MiB/1.0 GiB"),
        "{text}"
    );
    assert_eq!(colour_of(&drawn, "9,500/10,000"), Some(Color::Yellow));
    assert_eq!(colour_of(&drawn, "60.0 MiB/64.0 MiB"), Some(Color::Yellow));
    assert_eq!(colour_of(&drawn, "12/500"), Some(Color::Reset), "length has room");
    assert_eq!(colour_of(&drawn, "1,234/1,000,000"), Some(Color::Reset));
}

#[test]
fn a_full_store_warns_and_no_caps_says_how_to_add_one() {
    let mut app = fixtures::app(fixtures::healthy_nodes(1), false);
    let mut snapshot = app.snapshot.clone();
    snapshot.limits.queue_caps.clear();
    if let Some(store) = snapshot.limits.store.as_mut() {
        store.tasks = 950_000;
    }
    let now = app.now;
    app.update(now, Msg::Snapshot(Box::new(snapshot.clone())));
    let app_full = in_view(app, View::Schedules);
    let drawn = screen(&app_full);
    let text = drawn.backend().to_string();
    assert!(text.contains("Queue caps (0)"), "{text}");
    assert!(
        text.contains("no queue caps: `qraft limit set queue:NAME max-length N` adds one"),
        "{text}"
    );
    assert_eq!(colour_of(&drawn, "950,000/1,000,000 tasks"), Some(Color::Yellow));
    assert_eq!(colour_of(&drawn, "12.3 MiB/1.0 GiB"), Some(Color::Reset));

    let mut app = app_full;
    snapshot.limits.store = None;
    app.update(now, Msg::Snapshot(Box::new(snapshot)));
    let text = screen(&app).backend().to_string();
    assert!(text.contains("cluster totals not reported"), "{text}");
    assert!(!text.contains("cluster holds"), "{text}");
}

#[test]
fn schedules_on_an_80_column_terminal() {
    let app = in_view(fixtures::app(fixtures::healthy_nodes(1), true), View::Schedules);
    insta::assert_snapshot!(terminal(&app, 80, 24).backend());
}

#[test]
fn flows_running_chord_and_failed_chain() {
    let mut app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Flows);
    insta::assert_snapshot!("flows_running_chord", screen(&app).backend());
    press(&mut app, &[Key::Char('j')]);
    insta::assert_snapshot!("flows_failed_chain", screen(&app).backend());
}

#[test]
fn flows_on_an_80_column_terminal() {
    let app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Flows);
    insta::assert_snapshot!(terminal(&app, 80, 24).backend());
}

#[test]
fn a_flow_with_more_parts_than_room_keeps_its_callback_in_sight() {
    let mut app = fixtures::app(fixtures::healthy_nodes(1), false);
    let mut snapshot = app.snapshot.clone();
    if let Some(chord) = snapshot.flows.first_mut() {
        let member = chord.parts[0].clone();
        chord.parts = vec![member; 400];
        chord.total = 401;
    }
    let now = app.now;
    app.update(now, Msg::Snapshot(Box::new(snapshot)));
    let app = in_view(app, View::Flows);
    let text = screen(&app).backend().to_string();
    assert!(
        text.contains("callback") && text.contains("album.publish"),
        "{text}"
    );
    assert!(text.contains(" more"), "{text}");
    assert!(
        text.contains("▶ 01JGZ9A1C2D3E4F5G6H7J8K9M0"),
        "the list keeps its rows: {text}"
    );
}

#[test]
fn help_overlay() {
    let mut app = fixtures::app(fixtures::healthy_nodes(1), false);
    press(&mut app, &[Key::Char('?')]);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn help_overlay_read_only() {
    let mut app = fixtures::app(fixtures::healthy_nodes(1), true);
    press(&mut app, &[Key::Char('?')]);
    let text = screen(&app).backend().to_string();
    assert!(text.contains("quit") && text.contains("filter"));
    for admin in [
        "pause",
        "resume",
        "purge queue",
        "revoke",
        "retry dead",
        "make leader",
    ] {
        assert!(!text.contains(admin), "{admin:?} shown in read-only help");
    }
}

#[test]
fn confirm_purge_queue() {
    let mut app = in_view(fixtures::app(fixtures::healthy_nodes(1), false), View::Queues);
    press(&mut app, &[Key::Char('j'), Key::Char('P')]);
    insta::assert_snapshot!(screen(&app).backend());
}

#[test]
fn before_the_first_refresh() {
    let app = App::new(false, Instant::now());
    insta::assert_snapshot!(terminal(&app, 100, 12).backend());
}

#[test]
fn new_leader_flashes_in_the_status_bar() {
    let mut app = fixtures::app(fixtures::healthy_nodes(1), false);
    let at = app.now;
    app.update(
        at,
        Msg::Snapshot(Box::new(fixtures::snapshot(fixtures::healthy_nodes(3), 20))),
    );
    let first_line = |app: &App| {
        let text = screen(app).backend().to_string();
        text.lines().next().unwrap_or_default().to_owned()
    };
    assert!(first_line(&app).contains("leader n3 127.0.0.1:7073 (new)"));
    app.update(at + Duration::from_secs(3), Msg::Tick);
    let line = first_line(&app);
    assert!(
        line.contains("leader n3 127.0.0.1:7073") && !line.contains("(new)"),
        "{line}"
    );
}

#[test]
fn tiny_terminals_do_not_panic() {
    let apps = [
        App::new(false, Instant::now()),
        fixtures::app(fixtures::healthy_nodes(1), false),
        fixtures::app(fixtures::no_quorum_nodes(), true),
    ];
    for app in apps {
        for view in View::ALL {
            let mut app = in_view(fixtures::app(app.snapshot.nodes.clone(), app.read_only), view);
            for keys in [&[][..], &[Key::Char('?')], &[Key::Char('/')], &[Key::Char('P')]] {
                press(&mut app, keys);
                for (width, height) in [(20, 5), (1, 1), (0, 0), (120, 3), (5, 40)] {
                    terminal(&app, width, height);
                }
                press(&mut app, &[Key::Esc]);
            }
        }
    }
}
