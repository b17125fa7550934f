//! What runs a task: a [`Handler`] per task name, looked up in a [`Registry`]. Only registered
//! names are ever leased to this node, so a task can never choose what gets executed.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One attempt of one task, as its handler sees it.
#[derive(Clone, Debug)]
pub struct TaskContext {
    pub id: String,
    pub name: String,
    pub queue: String,
    pub args: Vec<u8>,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// Why an attempt failed; the message is stored as the task's error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TaskError {
    pub message: String,
    /// Fail for good even if the retry policy would allow another attempt (bad input, say).
    pub permanent: bool,
}

impl TaskError {
    pub fn retryable(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        TaskError {
            message: message.into(),
            permanent: true,
        }
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Vec<u8>, TaskError>> + Send>>;

/// Runs attempts of one kind of task. Returning is finishing: the result (bytes, JSON by
/// convention) is stored on success. The future is dropped if the task is revoked or runs past
/// its time limit, so a handler should hold no state that must outlive it.
pub trait Handler: Send + Sync + 'static {
    fn run(&self, task: TaskContext) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<u8>, TaskError>> + Send + 'static,
{
    fn run(&self, task: TaskContext) -> HandlerFuture {
        Box::pin(self(task))
    }
}

/// Task names this node runs, and how.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<String, Arc<dyn Handler>>,
}

impl Registry {
    /// The built-in handlers only.
    pub fn with_builtins() -> Self {
        let mut registry = Registry::default();
        super::builtin::register(&mut registry);
        registry
    }

    pub fn register(&mut self, name: impl Into<String>, handler: impl Handler) -> &mut Self {
        self.handlers.insert(name.into(), Arc::new(handler));
        self
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        self.handlers.keys().cloned().collect()
    }
}
