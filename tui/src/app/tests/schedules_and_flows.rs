//! Keys and selection in the Schedules and Flows views.

use super::*;
use crate::model::FlowView;

#[test]
fn schedules_and_flows_are_selected_with_the_movement_keys() {
    let mut app = healthy();
    press(&mut app, Key::Char('6'));
    assert_eq!(
        app.selected_schedule().map(|s| s.name.as_str()),
        Some("nightly-report")
    );
    press(&mut app, Key::Char('G'));
    let paused = app.selected_schedule();
    assert_eq!(paused.map(|s| s.name.as_str()), Some("weekly-digest"));
    assert!(paused.is_some_and(|s| s.paused));

    press(&mut app, Key::Char('7'));
    let id = |app: &App| app.selected_flow().map(|flow| flow.id.clone());
    assert_eq!(
        id(&app).as_deref(),
        Some("01JGZ9A1C2D3E4F5G6H7J8K9M0"),
        "the newest flow first"
    );
    press(&mut app, Key::Down);
    assert_eq!(id(&app).as_deref(), Some("01JGZ8ZK4V5W6X7Y8Z9A0B1C2D"));
    press(&mut app, Key::Char('j'));
    press(&mut app, Key::Char('j'));
    assert_eq!(app.selected(View::Flows), 2, "three flows");
    press(&mut app, Key::Char('g'));
    assert_eq!(app.selected(View::Flows), 0);
    assert_eq!(
        app.selected(View::Schedules),
        2,
        "each view keeps its own selection"
    );
}

#[test]
fn the_new_views_offer_no_cluster_actions() {
    let mut app = healthy();
    for view in ['6', '7'] {
        press(&mut app, Key::Char(view));
        for key in ['p', 'r', 'P', 'x', 'R', 'D', 't', '/', 'f'] {
            assert_eq!(press(&mut app, Key::Char(key)), None, "{key} in {view}");
            assert_eq!(app.mode, Mode::Normal, "{key} in {view}");
        }
    }
}

#[test]
fn flow_and_schedule_selection_follow_their_item_as_the_lists_change() {
    let mut app = healthy();
    press(&mut app, Key::Char('7'));
    press(&mut app, Key::Char('j'));
    let selected = app.selected_flow().map(|flow| flow.id.clone());
    press(&mut app, Key::Char('6'));
    press(&mut app, Key::Char('j'));

    let mut snapshot = fixtures::snapshot(fixtures::healthy_nodes(1), 0);
    snapshot.flows.insert(
        0,
        FlowView {
            id: "01JGZ9NEWERFLOW".into(),
            ..FlowView::default()
        },
    );
    snapshot.schedules.remove(0);
    let now = app.now;
    app.update(now, Msg::Snapshot(Box::new(snapshot)));
    assert_eq!(app.selected_flow().map(|flow| flow.id.clone()), selected);
    assert_eq!(app.selected(View::Flows), 2);
    assert_eq!(
        app.selected_schedule().map(|s| s.name.as_str()),
        Some("heartbeat")
    );
    assert_eq!(app.selected(View::Schedules), 0);
}
