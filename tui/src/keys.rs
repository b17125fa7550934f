//! Keys as data: one table of bindings feeds key dispatch, the footer hints and the `?` help,
//! so what the console says a key does is what it does.

use crate::app::View;

/// A key press, independent of the terminal library so the update logic can be tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Char(char),
    /// A letter with Control held.
    Ctrl(char),
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    Tab,
    BackTab,
    Enter,
    Esc,
    Backspace,
}

/// What a binding does; [`crate::app::App::update`] turns it into state changes or commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Quit,
    Help,
    /// `1`–`7`: the digit picks the view.
    JumpView,
    NextView,
    PrevView,
    Up,
    Down,
    Top,
    Bottom,
    EditFilter,
    /// Events view: show or hide task failures, which can drown out the cluster's own events.
    ToggleTaskEvents,
    PauseQueue,
    ResumeQueue,
    PurgeQueue,
    Revoke,
    RetryDead,
    PurgeDead,
    TransferLeader,
}

#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in hints and help.
    pub label: &'static str,
    pub action: KeyAction,
    pub hint: &'static str,
    pub views: &'static [View],
    /// Asks for confirmation (defaulting to Cancel) before anything is sent.
    pub destructive: bool,
    /// Changes the cluster: hidden and refused with `--read-only`.
    pub admin: bool,
    /// Shown in the footer; the rest (plain navigation) only in the help.
    pub footer: bool,
}

impl Binding {
    pub fn applies_to(&self, view: View) -> bool {
        self.views.contains(&view)
    }

    pub fn visible(&self, read_only: bool) -> bool {
        !(self.admin && read_only)
    }
}

const ALL: &[View] = &View::ALL;
const QUEUES: &[View] = &[View::Queues];
const TASKS: &[View] = &[View::Tasks];
const DEAD: &[View] = &[View::Queues, View::Tasks];
const CLUSTER: &[View] = &[View::Cluster];
const EVENTS: &[View] = &[View::Events];
const DIGITS: [Key; View::ALL.len()] = [
    Key::Char('1'),
    Key::Char('2'),
    Key::Char('3'),
    Key::Char('4'),
    Key::Char('5'),
    Key::Char('6'),
    Key::Char('7'),
];

const fn nav(
    keys: &'static [Key],
    label: &'static str,
    action: KeyAction,
    hint: &'static str,
    footer: bool,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        hint,
        views: ALL,
        destructive: false,
        admin: false,
        footer,
    }
}

const fn admin(
    keys: &'static [Key],
    label: &'static str,
    action: KeyAction,
    hint: &'static str,
    views: &'static [View],
    destructive: bool,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        hint,
        views,
        destructive,
        admin: true,
        footer: true,
    }
}

/// In the footer as well as in the help.
const FOOTER: bool = true;
/// Plain navigation: in the help only, to keep the footer short.
const HELP_ONLY: bool = false;
/// Destructive: a confirmation dialog comes first.
const ASKS: bool = true;
const AT_ONCE: bool = false;

#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    nav(&[Key::Char('q'), Key::Ctrl('c')], "q",     KeyAction::Quit,      "quit",          FOOTER),
    nav(&[Key::Char('?')],                 "?",     KeyAction::Help,      "help",          FOOTER),
    nav(&DIGITS,                           "1-7",   KeyAction::JumpView,  "views",         FOOTER),
    nav(&[Key::Tab],                       "Tab",   KeyAction::NextView,  "next view",     HELP_ONLY),
    nav(&[Key::BackTab],                   "S-Tab", KeyAction::PrevView,  "previous view", HELP_ONLY),
    nav(&[Key::Char('j'), Key::Down],      "j/↓",   KeyAction::Down,      "down",          HELP_ONLY),
    nav(&[Key::Char('k'), Key::Up],        "k/↑",   KeyAction::Up,        "up",            HELP_ONLY),
    nav(&[Key::Char('g'), Key::Home],      "g",     KeyAction::Top,       "first",         HELP_ONLY),
    nav(&[Key::Char('G'), Key::End],       "G",     KeyAction::Bottom,    "last",          HELP_ONLY),
    Binding { views: TASKS, ..nav(&[Key::Char('/')], "/", KeyAction::EditFilter, "filter", FOOTER) },
    Binding { views: EVENTS, ..nav(&[Key::Char('f')], "f", KeyAction::ToggleTaskEvents, "failures on/off", FOOTER) },
    admin(&[Key::Char('p')], "p", KeyAction::PauseQueue,     "pause",       QUEUES,  AT_ONCE),
    admin(&[Key::Char('r')], "r", KeyAction::ResumeQueue,    "resume",      QUEUES,  AT_ONCE),
    admin(&[Key::Char('P')], "P", KeyAction::PurgeQueue,     "purge queue", QUEUES,  ASKS),
    admin(&[Key::Char('x')], "x", KeyAction::Revoke,         "revoke",      TASKS,   ASKS),
    admin(&[Key::Char('R')], "R", KeyAction::RetryDead,      "retry dead",  DEAD,    AT_ONCE),
    admin(&[Key::Char('D')], "D", KeyAction::PurgeDead,      "purge dead",  DEAD,    ASKS),
    admin(&[Key::Char('t')], "t", KeyAction::TransferLeader, "make leader", CLUSTER, ASKS),
];

/// Keys while the filter is being edited, for the help and the filter prompt.
pub static FILTER_KEYS: &[(&str, &str)] = &[("Enter", "apply"), ("Esc", "cancel"), ("C-u", "clear")];

/// Keys in a confirmation dialog, for the help and the dialog itself.
pub static CONFIRM_KEYS: &[(&str, &str)] = &[
    ("y", "confirm"),
    ("n/Esc", "cancel"),
    ("Tab/←/→", "move"),
    ("Enter", "choose"),
];

/// The binding `key` triggers in `view`, if any.
pub fn lookup(key: Key, view: View) -> Option<&'static Binding> {
    BINDINGS
        .iter()
        .find(|binding| binding.applies_to(view) && binding.keys.contains(&key))
}

/// The footer's hints for `view`, in table order.
pub fn footer_hints(view: View, read_only: bool) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |b| b.footer && b.applies_to(view) && b.visible(read_only))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_view() {
        for view in View::ALL {
            let mut seen = std::collections::HashSet::new();
            for binding in BINDINGS.iter().filter(|b| b.applies_to(view)) {
                for key in binding.keys {
                    assert!(seen.insert(*key), "{key:?} bound twice in {view:?}");
                }
            }
        }
    }

    #[test]
    fn footer_hints_are_the_table_entries_for_the_view() {
        for view in View::ALL {
            for read_only in [false, true] {
                let hints: Vec<&Binding> = footer_hints(view, read_only).collect();
                assert!(hints.iter().any(|b| b.action == KeyAction::Quit));
                assert!(hints.iter().any(|b| b.action == KeyAction::Help));
                for hint in hints {
                    assert!(hint.applies_to(view) && hint.footer);
                    assert!(BINDINGS.iter().any(|b| std::ptr::eq(b, hint)));
                }
            }
        }
        let queues: Vec<&str> = footer_hints(View::Queues, false).map(|b| b.label).collect();
        assert_eq!(queues, ["q", "?", "1-7", "p", "r", "P", "R", "D"]);
        let flows: Vec<&str> = footer_hints(View::Flows, false).map(|b| b.label).collect();
        assert_eq!(flows, ["q", "?", "1-7"], "the Flows view only reads");
    }

    #[test]
    fn read_only_hides_every_admin_binding() {
        for view in View::ALL {
            assert!(footer_hints(view, true).all(|b| !b.admin));
        }
        assert!(footer_hints(View::Queues, false).any(|b| b.admin));
    }

    #[test]
    fn destructive_actions_are_admin_actions() {
        for binding in BINDINGS.iter().filter(|b| b.destructive) {
            assert!(
                binding.admin,
                "{} is destructive but allowed read-only",
                binding.label
            );
        }
        let destructive: Vec<KeyAction> = BINDINGS
            .iter()
            .filter(|b| b.destructive)
            .map(|b| b.action)
            .collect();
        assert_eq!(
            destructive,
            [
                KeyAction::PurgeQueue,
                KeyAction::Revoke,
                KeyAction::PurgeDead,
                KeyAction::TransferLeader
            ]
        );
    }

    #[test]
    fn every_view_has_its_digit() {
        for (digit, view) in ('1'..).zip(View::ALL) {
            assert_eq!(
                lookup(Key::Char(digit), view).map(|b| b.action),
                Some(KeyAction::JumpView),
                "{digit} in {view:?}"
            );
        }
        assert!(lookup(Key::Char('8'), View::Flows).is_none());
    }

    #[test]
    fn lookup_respects_views() {
        assert_eq!(
            lookup(Key::Char('p'), View::Queues).map(|b| b.action),
            Some(KeyAction::PauseQueue)
        );
        assert!(lookup(Key::Char('p'), View::Tasks).is_none());
        assert_eq!(
            lookup(Key::Down, View::Events).map(|b| b.action),
            Some(KeyAction::Down)
        );
        assert_eq!(
            lookup(Key::Ctrl('c'), View::Tasks).map(|b| b.action),
            Some(KeyAction::Quit)
        );
        assert!(lookup(Key::Char('/'), View::Cluster).is_none());
    }
}
