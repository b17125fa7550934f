//! The Tasks view's filter: what `/` accepts, split into the part the server applies
//! (`queue=`, `state=`, `name=`) and bare words matched here against id and name.

use crate::model::{TaskState, TaskView};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    pub queue: Option<String>,
    pub state: Option<TaskState>,
    pub name: Option<String>,
    /// Every word must occur in the task's id or name.
    pub words: Vec<String>,
}

impl TaskFilter {
    /// Parses `queue=NAME state=STATE name=NAME word...`; an error says what to change.
    pub fn parse(text: &str) -> Result<TaskFilter, String> {
        let mut filter = TaskFilter::default();
        for token in text.split_whitespace() {
            let Some((key, value)) = token.split_once('=') else {
                filter.words.push(token.to_owned());
                continue;
            };
            if value.is_empty() {
                return Err(format!("{key}= needs a value, e.g. {key}=default"));
            }
            match key.to_ascii_lowercase().as_str() {
                "queue" => filter.queue = Some(value.to_owned()),
                "name" => filter.name = Some(value.to_owned()),
                "state" => {
                    let state = TaskState::parse(value).ok_or_else(|| {
                        format!(
                            "unknown state {value:?}; use one of pending, scheduled, started, \
                             retry, success, failure (or dead), revoked, expired"
                        )
                    })?;
                    filter.state = Some(state);
                }
                _ => return Err(format!("unknown filter {key:?}; use queue=, state= or name=")),
            }
        }
        Ok(filter)
    }

    /// True when the task passes the local part (bare words); the server did the rest.
    pub fn matches(&self, task: &TaskView) -> bool {
        self.words.iter().all(|word| {
            let word = word.to_lowercase();
            task.id.to_lowercase().contains(&word) || task.name.to_lowercase().contains(&word)
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == TaskFilter::default()
    }
}

impl std::fmt::Display for TaskFilter {
    /// The filter as it would be typed, so editing starts from what is in force.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut tokens = Vec::new();
        if let Some(queue) = &self.queue {
            tokens.push(format!("queue={queue}"));
        }
        if let Some(state) = self.state {
            tokens.push(format!("state={}", state.name().to_ascii_lowercase()));
        }
        if let Some(name) = &self.name {
            tokens.push(format!("name={name}"));
        }
        tokens.extend(self.words.iter().cloned());
        f.write_str(&tokens.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_tokens_and_local_words() {
        let filter = TaskFilter::parse(" queue=emails STATE=Dead name=mail.send  01J ").unwrap_or_default();
        assert_eq!(
            filter,
            TaskFilter {
                queue: Some("emails".into()),
                state: Some(TaskState::Failure),
                name: Some("mail.send".into()),
                words: vec!["01J".into()],
            }
        );
        assert_eq!(
            filter.to_string(),
            "queue=emails state=failure name=mail.send 01J"
        );
        assert_eq!(TaskFilter::parse(&filter.to_string()), Ok(filter));
        assert_eq!(TaskFilter::parse(""), Ok(TaskFilter::default()));
    }

    #[test]
    fn errors_say_what_to_change() {
        let error = |text| TaskFilter::parse(text).err().unwrap_or_default();
        assert!(error("state=done").contains("unknown state \"done\""));
        assert!(error("owner=me").contains("use queue=, state= or name="));
        assert!(error("queue=").contains("needs a value"));
    }

    #[test]
    fn words_match_id_or_name_ignoring_case() {
        let task = TaskView {
            id: "01JABC".into(),
            name: "mail.send".into(),
            ..TaskView::default()
        };
        let matches = |text| TaskFilter::parse(text).is_ok_and(|f| f.matches(&task));
        assert!(matches(""));
        assert!(matches("01jab"));
        assert!(matches("MAIL 01j"));
        assert!(!matches("mail zzz"));
        assert!(
            matches("queue=other"),
            "server-side tokens are not checked locally"
        );
    }
}
