//! Workflows in apply: submit, and moving a flow on when one of its tasks ends.
//!
//! A task of a flow that reaches a final state (or is deleted before it could) leaves a
//! [`PartEnded`] behind; at the end of the same command or clock step, [`QueueState::advance_flows`]
//! records it on the flow once and does what follows: enqueue the next chain step with the
//! result as its args, count a group's or chord's join down, enqueue a chord's callback with
//! every result, or finish the flow. All of it lands in the same apply, and so in the same
//! write batch, as the task's own final state.

use super::QueueState;
use crate::queue::command::{Outcome, Rejection};
use crate::queue::flow::{
    self, Flow, FlowId, FlowRef, FlowSpec, FlowState, OnMemberFailure, Part, PartOutcome, PartStatus,
    SubmitFlow,
};
use crate::queue::record::RecordId;
use crate::queue::task::{Task, TaskState};
use crate::queue::validate;

/// A flow's task that ended, waiting to be recorded on its flow.
#[derive(Clone, Debug)]
pub(super) struct PartEnded {
    pub flow: FlowRef,
    pub task: crate::queue::task::TaskId,
    pub outcome: PartOutcome,
}

impl PartEnded {
    pub(super) fn finished(task: &Task, flow: FlowRef) -> PartEnded {
        PartEnded {
            flow,
            task: task.id,
            outcome: PartOutcome {
                state: task.state,
                result: task.result.clone().unwrap_or_default(),
                error: task.error.clone(),
            },
        }
    }

    pub(super) fn deleted(task: &Task, flow: FlowRef) -> PartEnded {
        PartEnded {
            flow,
            task: task.id,
            outcome: PartOutcome {
                state: TaskState::Revoked,
                result: Vec::new(),
                error: Some("deleted before it finished (its queue was purged)".into()),
            },
        }
    }
}

impl QueueState {
    /// Flows, oldest first.
    pub fn flows(&self) -> impl DoubleEndedIterator<Item = &Flow> {
        self.flows.values()
    }

    pub fn flow(&self, id: &FlowId) -> Option<&Flow> {
        self.flows.get(id)
    }

    pub(super) fn next_flow_expiry_ms(&self) -> Option<u64> {
        self.flow_expiry.first().map(|(at, _)| *at)
    }

    pub(super) fn submit_flow(&mut self, submit: SubmitFlow) -> Outcome {
        if let Err(reason) = flow::must_be_valid(&submit) {
            return Outcome::Rejected(Rejection::Invalid(reason));
        }
        let existing = self.flows.get(&submit.id).map(|f| f.id).or_else(|| {
            let key = submit.idempotency_key.as_ref()?;
            self.flow_keys.get(key).copied()
        });
        if let Some(id) = existing {
            return Outcome::FlowSubmitted { id, duplicate: true };
        }
        let parts = submit.spec.steps().len();
        let first: Vec<Part> = match &submit.spec {
            FlowSpec::Chain(_) => vec![Part::Member(0)],
            FlowSpec::Group(_) | FlowSpec::Chord { .. } => (0..parts as u32).map(Part::Member).collect(),
        };
        let id = submit.id;
        self.put_flow(Flow {
            id,
            remaining: match submit.spec {
                FlowSpec::Chain(_) => 0,
                _ => parts as u32,
            },
            spec: submit.spec,
            state: FlowState::Running,
            parts: vec![PartStatus::default(); parts],
            callback: PartStatus::default(),
            result: Vec::new(),
            error: None,
            idempotency_key: submit.idempotency_key,
            created_at_ms: self.meta.now_ms,
            finished_at_ms: None,
            result_ttl_ms: submit.result_ttl_ms,
        });
        for part in first {
            self.enqueue_part(id, part, None);
        }
        Outcome::FlowSubmitted { id, duplicate: false }
    }

    /// Records every ended part on its flow and does what follows, until nothing more ends.
    pub(super) fn advance_flows(&mut self) {
        while !self.parts_ended.is_empty() {
            for ended in std::mem::take(&mut self.parts_ended) {
                self.part_ended(ended);
            }
        }
    }

    /// Deletes the finished flows whose time is up.
    pub(super) fn expire_flows(&mut self) {
        while let Some(&(at, id)) = self.flow_expiry.first() {
            if at > self.meta.now_ms {
                break;
            }
            self.take_flow(&id);
        }
    }

    fn part_ended(&mut self, ended: PartEnded) {
        let Some(mut flow) = self.take_flow(&ended.flow.flow) else {
            // The flow expired before this task ended (or was never stored): nothing to move on.
            return;
        };
        let part = ended.flow.part;
        let next = match flow.part_mut(part) {
            // Recorded once: a dead letter retried later does not move its flow again.
            Some(status) if status.outcome.is_none() => {
                status.task.get_or_insert(ended.task);
                status.outcome = Some(ended.outcome);
                self.after_part(&mut flow, part)
            }
            _ => None,
        };
        self.put_flow(flow);
        if let Some((part, args)) = next {
            self.enqueue_part(ended.flow.flow, part, args);
        }
    }

    /// What follows the end of `part`: the flow's new state, and the part to enqueue next (with
    /// its args, when they are not its own).
    fn after_part(&self, flow: &mut Flow, part: Part) -> Option<(Part, Option<Vec<u8>>)> {
        let outcome = flow.part(part)?.outcome.clone()?;
        let succeeded = outcome.state == TaskState::Success;
        let name = flow
            .spec
            .step(part)
            .map(|s| s.template.name.clone())
            .unwrap_or_default();
        let failure = |what: String| {
            let error = outcome.error.clone().unwrap_or_default();
            format!("{what} ({name}) ended {}: {error}", outcome.state)
        };
        let shape = Shape::of(&flow.spec, part);
        let running = flow.state == FlowState::Running;
        match (shape, part) {
            (Shape::Chain { next_step }, Part::Member(index)) => {
                if !running {
                    None
                } else if !succeeded {
                    let error = failure(format!("step {index}"));
                    self.finish(flow, FlowState::Failed, Vec::new(), Some(error));
                    None
                } else if let Some(immutable) = next_step {
                    let args = (!immutable).then_some(outcome.result);
                    Some((Part::Member(index + 1), args))
                } else {
                    self.finish(flow, FlowState::Succeeded, outcome.result, None);
                    None
                }
            }
            (Shape::Group, Part::Member(_)) => {
                flow.remaining = flow.remaining.saturating_sub(1);
                if flow.remaining == 0 {
                    let results = flow::chord_results(&flow.parts);
                    match count_failed(&flow.parts) {
                        0 => self.finish(flow, FlowState::Succeeded, results, None),
                        n => {
                            let error = format!("{n} of {} members did not succeed", flow.parts.len());
                            self.finish(flow, FlowState::Failed, results, Some(error));
                        }
                    }
                }
                None
            }
            (Shape::Chord(on_failure), Part::Member(index)) => {
                flow.remaining = flow.remaining.saturating_sub(1);
                if !running {
                    None
                } else if !succeeded && on_failure == OnMemberFailure::FailChord {
                    let error = failure(format!("member {index}"));
                    self.finish(flow, FlowState::Failed, Vec::new(), Some(error));
                    None
                } else {
                    (flow.remaining == 0).then(|| (Part::Callback, Some(flow::chord_results(&flow.parts))))
                }
            }
            (Shape::Chord(_), Part::Callback) => {
                if succeeded {
                    self.finish(flow, FlowState::Succeeded, outcome.result, None);
                } else {
                    let error = failure("callback".to_string());
                    self.finish(flow, FlowState::Failed, Vec::new(), Some(error));
                }
                None
            }
            _ => None,
        }
    }

    fn finish(&self, flow: &mut Flow, state: FlowState, result: Vec<u8>, error: Option<String>) {
        flow.state = state;
        flow.result = result;
        flow.error = error;
        flow.finished_at_ms = Some(self.meta.now_ms);
    }

    /// Submits the task of `part`. A submit the state refuses (it was checked with the flow, so
    /// this is a bug or a changed limit) ends the part as failed rather than stalling the flow.
    fn enqueue_part(&mut self, id: FlowId, part: Part, args: Option<Vec<u8>>) {
        let Some(flow) = self.flows.get(&id) else {
            return;
        };
        let Some(step) = flow.spec.step(part) else {
            return;
        };
        let submit = step.submit(id, part, flow.parts.len(), args);
        let task = submit.id;
        // Args made in apply (a chain's previous result, a chord's every result) were never seen
        // by the API's payload check. The bound is a constant, not a node's setting, so every
        // replica decides alike; it keeps a chord of large results from making a record no
        // worker could take.
        let outcome = if submit.args.len() > validate::MAX_PAYLOAD_LIMIT {
            Outcome::Rejected(Rejection::Invalid(format!(
                "its args would be {} bytes, over the most any task may have ({} bytes)",
                submit.args.len(),
                validate::MAX_PAYLOAD_LIMIT
            )))
        } else {
            self.submit(submit)
        };
        if let Some(status) = self.flows.get_mut(&id).and_then(|flow| flow.part_mut(part)) {
            status.task = Some(task);
            self.changed.insert(RecordId::Flow(id));
        }
        if let Outcome::Rejected(rejection) = outcome {
            self.parts_ended.push(PartEnded {
                flow: FlowRef { flow: id, part },
                task,
                outcome: PartOutcome {
                    state: TaskState::Failure,
                    result: Vec::new(),
                    error: Some(format!("could not be enqueued: {rejection}")),
                },
            });
        }
    }

    fn take_flow(&mut self, id: &FlowId) -> Option<Flow> {
        let flow = self.flows.remove(id)?;
        if let Some(at) = flow.expires_at_ms() {
            self.flow_expiry.remove(&(at, *id));
        }
        if let Some(key) = &flow.idempotency_key {
            self.flow_keys.remove(key);
        }
        self.changed.insert(RecordId::Flow(*id));
        Some(flow)
    }

    pub(super) fn put_flow(&mut self, flow: Flow) {
        self.index_flow(&flow);
        self.changed.insert(RecordId::Flow(flow.id));
        self.flows.insert(flow.id, flow);
    }

    /// The derived indexes of one flow, also what a restore rebuilds.
    pub(super) fn index_flow(&mut self, flow: &Flow) {
        if let Some(at) = flow.expires_at_ms() {
            self.flow_expiry.insert((at, flow.id));
        }
        if let Some(key) = &flow.idempotency_key {
            self.flow_keys.insert(key.clone(), flow.id);
        }
    }
}

/// The facts about a flow's spec that decide what follows a part, copied out of it.
enum Shape {
    /// `next_step`: whether the step after the one that ended is immutable; `None` at the end.
    Chain {
        next_step: Option<bool>,
    },
    Group,
    Chord(OnMemberFailure),
}

impl Shape {
    fn of(spec: &FlowSpec, part: Part) -> Shape {
        match (spec, part) {
            (FlowSpec::Chain(steps), Part::Member(index)) => Shape::Chain {
                next_step: steps.get(index as usize + 1).map(|s| s.immutable),
            },
            (FlowSpec::Chain(_), Part::Callback) => Shape::Chain { next_step: None },
            (FlowSpec::Group(_), _) => Shape::Group,
            (FlowSpec::Chord { on_failure, .. }, _) => Shape::Chord(*on_failure),
        }
    }
}

fn count_failed(parts: &[PartStatus]) -> usize {
    parts
        .iter()
        .filter(|p| p.outcome.as_ref().is_some_and(|o| o.state != TaskState::Success))
        .count()
}
