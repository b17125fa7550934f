//! What memory keeps of every task: a small fixed entry with what leasing, limits and listings
//! filter on. The rest of the task, its body, is read from the store when a task changes or is
//! read (see `bodies`). Queue names, task names and concurrency keys are shared by many tasks, so
//! an entry holds them as numbers of [`Names`].

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use crate::queue::task::{Task, TaskState};

/// A name as [`Names`] numbers it.
pub(super) type Name = NonZeroU32;

/// 24 bytes per task, whatever its args, result or name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TaskEntry {
    pub state: TaskState,
    pub priority: u8,
    pub queue: Name,
    pub name: Name,
    /// The concurrency key, and how many tasks with it may run at once.
    pub concurrency: Option<(Name, u32)>,
    /// What the task holds in args, headers, result and error, as its indexes counted it.
    pub bytes: u32,
}

/// An entry with its names spelled out: what two replicas compare (their numbering differs).
pub(super) type Spelled<'a> = (TaskState, u8, &'a str, &'a str, Option<(&'a str, u32)>, u32);

impl TaskEntry {
    /// The entry for `task`, its names counted once more in `names`.
    pub fn of(task: &Task, names: &mut Names) -> TaskEntry {
        TaskEntry {
            state: task.state,
            priority: task.priority,
            queue: names.hold(&task.queue),
            name: names.hold(&task.name),
            concurrency: task
                .options
                .concurrency
                .as_ref()
                .map(|limit| (names.hold(&limit.key), limit.max)),
            bytes: bytes_of(task),
        }
    }

    /// This entry after its task changed: the same names (a task's queue, name and concurrency
    /// key never change), its state, priority and bytes anew.
    pub fn changed_to(self, task: &Task) -> TaskEntry {
        TaskEntry {
            state: task.state,
            priority: task.priority,
            bytes: bytes_of(task),
            ..self
        }
    }

    /// Counts this entry's names once less: it is being dropped.
    pub fn release(&self, names: &mut Names) {
        names.release(self.queue);
        names.release(self.name);
        if let Some((key, _)) = self.concurrency {
            names.release(key);
        }
    }

    pub fn spelled<'a>(&self, names: &'a Names) -> Spelled<'a> {
        (
            self.state,
            self.priority,
            names.get(self.queue),
            names.get(self.name),
            self.concurrency.map(|(key, max)| (names.get(key), max)),
            self.bytes,
        )
    }
}

fn bytes_of(task: &Task) -> u32 {
    u32::try_from(task.stored_bytes()).unwrap_or(u32::MAX)
}

/// Names used by tasks, each stored once and numbered; a name no task uses any more is dropped.
/// The numbers are private to one replica: nothing ordered or stored depends on them.
#[derive(Clone, Debug, Default)]
pub(super) struct Names {
    numbers: BTreeMap<Box<str>, Name>,
    /// Each number's name, and how many entries use it.
    names: BTreeMap<Name, (Box<str>, u64)>,
    last: u32,
}

impl Names {
    /// The number of `name`, counted once more.
    pub fn hold(&mut self, name: &str) -> Name {
        if let Some(&number) = self.numbers.get(name) {
            if let Some((_, users)) = self.names.get_mut(&number) {
                *users += 1;
            }
            return number;
        }
        self.last = self.last.checked_add(1).unwrap_or(1);
        while self.names.contains_key(&nonzero(self.last)) {
            self.last = self.last.checked_add(1).unwrap_or(1);
        }
        let number = nonzero(self.last);
        self.numbers.insert(name.into(), number);
        self.names.insert(number, (name.into(), 1));
        number
    }

    /// Counts `number` once less, and forgets its name when nothing uses it.
    pub fn release(&mut self, number: Name) {
        let Some((name, users)) = self.names.get_mut(&number) else {
            return;
        };
        *users -= 1;
        if *users == 0 {
            self.numbers.remove(name);
            self.names.remove(&number);
        }
    }

    pub fn get(&self, number: Name) -> &str {
        self.names.get(&number).map_or("", |(name, _)| name)
    }

    /// The number of `name` if some task uses it.
    pub fn find(&self, name: &str) -> Option<Name> {
        self.numbers.get(name).copied()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.names.len()
    }
}

fn nonzero(number: u32) -> Name {
    NonZeroU32::new(number).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_small() {
        assert_eq!(std::mem::size_of::<TaskEntry>(), 24);
    }

    #[test]
    fn a_name_is_kept_while_used_and_dropped_after() {
        let mut names = Names::default();
        let a = names.hold("mail");
        assert_eq!(names.hold("mail"), a);
        let b = names.hold("sms");
        assert_ne!(a, b);
        names.release(a);
        assert_eq!(names.get(a), "mail", "still used once");
        names.release(a);
        assert_eq!(names.find("mail"), None);
        assert_eq!(names.len(), 1);
        let c = names.hold("mail");
        assert_eq!(names.get(c), "mail");
        assert_ne!(c, b, "a number in use is never handed out again");
    }
}
