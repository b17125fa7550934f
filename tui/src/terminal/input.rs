//! The keyboard reader: a std thread blocking on crossterm (its async `EventStream` needs a
//! feature we do not enable), sending [`Key`]s to the run loop over a channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use crate::keys::Key;

/// How long one wait for input lasts, i.e. how quickly the reader notices it should stop.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub enum Input {
    Key(Key),
    /// The terminal was resized.
    Redraw,
    Failed(String),
}

pub struct InputReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputReader {
    pub fn spawn(out: mpsc::UnboundedSender<Input>) -> std::io::Result<InputReader> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("qraft-tui-input".into())
            .spawn(move || read_loop(&flag, &out))?;
        Ok(InputReader {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops and joins the reader, so no key typed after the console closes is swallowed.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the keyboard reader panicked");
        }
    }
}

fn read_loop(stop: &AtomicBool, out: &mpsc::UnboundedSender<Input>) {
    while !stop.load(Ordering::Relaxed) {
        let input = match event::poll(POLL) {
            Ok(false) => continue,
            Ok(true) => match event::read() {
                Ok(Event::Key(event)) => match key(event) {
                    Some(key) => Input::Key(key),
                    None => continue,
                },
                Ok(Event::Resize(..)) => Input::Redraw,
                Ok(_) => continue,
                Err(error) => Input::Failed(error.to_string()),
            },
            Err(error) => Input::Failed(error.to_string()),
        };
        let failed = matches!(input, Input::Failed(_));
        if out.send(input).is_err() || failed {
            return;
        }
    }
}

/// The console's view of a key press; releases and keys it has no use for are `None`.
fn key(event: KeyEvent) -> Option<Key> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
    Some(match event.code {
        KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => Key::BackTab,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_keys() {
        let press = |code, modifiers| key(KeyEvent::new(code, modifiers));
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Key::Ctrl('c'))
        );
        assert_eq!(
            press(KeyCode::Char('P'), KeyModifiers::SHIFT),
            Some(Key::Char('P'))
        );
        assert_eq!(press(KeyCode::BackTab, KeyModifiers::SHIFT), Some(Key::BackTab));
        assert_eq!(press(KeyCode::F(1), KeyModifiers::NONE), None);
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(key(release), None);
    }
}
