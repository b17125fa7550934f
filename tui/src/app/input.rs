//! Key handling: the modal keys (help, filter editing, confirmation) first, then the key table.

use super::{App, Choice, Command, Confirm, Mode, View};
use crate::filter::TaskFilter;
use crate::format::capitalize;
use crate::keys::{self, Key, KeyAction};

impl App {
    pub(super) fn on_key(&mut self, key: Key) -> Option<Command> {
        // Ctrl-C quits from anywhere, even mid-edit or mid-confirmation.
        if key == Key::Ctrl('c') {
            return Some(Command::Quit);
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.on_normal_key(key),
            Mode::Help => {
                match key {
                    Key::Char('q') => return Some(Command::Quit),
                    Key::Char('?') | Key::Esc | Key::Enter => {}
                    _ => self.mode = Mode::Help,
                }
                None
            }
            Mode::EditFilter { input } => self.on_filter_key(key, input),
            Mode::Confirm(confirm) => self.on_confirm_key(key, confirm),
        }
    }

    fn on_filter_key(&mut self, key: Key, mut input: String) -> Option<Command> {
        match key {
            Key::Esc => return None,
            Key::Enter => match TaskFilter::parse(&input) {
                Ok(filter) => {
                    self.status = None;
                    self.task_filter = filter.clone();
                    self.select(View::Tasks, 0);
                    return Some(Command::SetTaskFilter(filter));
                }
                Err(error) => self.say(error, true),
            },
            Key::Backspace => {
                input.pop();
            }
            Key::Ctrl('u') => input.clear(),
            Key::Char(c) => input.push(c),
            _ => {}
        }
        self.mode = Mode::EditFilter { input };
        None
    }

    fn on_confirm_key(&mut self, key: Key, mut confirm: Confirm) -> Option<Command> {
        let chosen = match key {
            Key::Char('y' | 'Y') => Choice::Confirm,
            Key::Char('n' | 'N') | Key::Esc => Choice::Cancel,
            Key::Enter => confirm.choice,
            Key::Tab | Key::BackTab | Key::Left | Key::Right | Key::Char('h' | 'l') => {
                confirm.choice = match confirm.choice {
                    Choice::Cancel => Choice::Confirm,
                    Choice::Confirm => Choice::Cancel,
                };
                self.mode = Mode::Confirm(confirm);
                return None;
            }
            _ => {
                self.mode = Mode::Confirm(confirm);
                return None;
            }
        };
        match chosen {
            Choice::Confirm => {
                self.say(format!("{}…", capitalize(&confirm.action.describe())), false);
                Some(Command::Run(confirm.action))
            }
            Choice::Cancel => {
                self.say(format!("cancelled: {}", confirm.action.describe()), false);
                None
            }
        }
    }

    fn on_normal_key(&mut self, key: Key) -> Option<Command> {
        let binding = keys::lookup(key, self.view)?;
        if binding.admin && self.read_only {
            self.say(
                format!(
                    "read-only console: {} ({}) is disabled",
                    binding.label, binding.hint
                ),
                true,
            );
            return None;
        }
        let view = self.view;
        let row = self.selected(view);
        match binding.action {
            KeyAction::Quit => return Some(Command::Quit),
            KeyAction::Help => self.mode = Mode::Help,
            KeyAction::JumpView => {
                if let Key::Char(digit) = key
                    && let Some(target) = View::from_digit(digit)
                {
                    self.view = target;
                }
            }
            KeyAction::NextView => self.view = view.next(),
            KeyAction::PrevView => self.view = view.prev(),
            KeyAction::Down => self.select(view, row + 1),
            KeyAction::Up => self.select(view, row.saturating_sub(1)),
            KeyAction::Top => self.select(view, 0),
            KeyAction::Bottom => self.select(view, usize::MAX),
            KeyAction::ToggleTaskEvents => {
                self.hide_task_events = !self.hide_task_events;
                self.events_follow = true;
            }
            KeyAction::EditFilter => {
                self.mode = Mode::EditFilter {
                    input: self.task_filter.to_string(),
                };
            }
            KeyAction::PauseQueue
            | KeyAction::ResumeQueue
            | KeyAction::PurgeQueue
            | KeyAction::Revoke
            | KeyAction::RetryDead
            | KeyAction::PurgeDead
            | KeyAction::TransferLeader => match self.action_for(binding.action) {
                Ok(action) if binding.destructive => {
                    self.mode = Mode::Confirm(Confirm {
                        action,
                        choice: Choice::default(),
                    });
                }
                Ok(action) => {
                    self.say(format!("{}…", capitalize(&action.describe())), false);
                    return Some(Command::Run(action));
                }
                Err(why) => self.say(why, true),
            },
        }
        None
    }
}
