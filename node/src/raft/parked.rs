//! [`ParkedLeases`]: leases that ride in the entry of the next submit they could take.
//!
//! A worker pool on the leader with free slots and nothing to run parks a lease here instead
//! of waiting to see the next task on its replica. When the leader writes an entry holding a
//! submit the lease could take (its queue and name, ready at once), the lease is appended to
//! that same entry, after the submits: apply stores the task and leases it in one commit, and
//! a task costs two commits (submit with lease, then the answer) instead of three. Nothing
//! changes in apply: the entry simply carries one more `Lease` command, applied in order on
//! every replica like any other. One lease rides an entry: a pool parks a few, and they take
//! successive entries while the first is being committed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::propose_error::ProposeError;
use crate::queue::{Command, LeaseRequest, Outcome};

/// What a parked lease's command was answered with, once an entry carried it.
pub type ParkedOutcome = Result<Outcome, ProposeError>;

/// Where a parked lease's answer goes: its id, and the outcome.
pub type ParkedReply = mpsc::UnboundedSender<(ParkedLease, ParkedOutcome)>;

/// A parked lease's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParkedLease(u64);

struct Parked {
    id: ParkedLease,
    request: LeaseRequest,
    reply: ParkedReply,
}

/// The leases parked on this node, taken by the first entry with a submit for them.
#[derive(Default)]
pub struct ParkedLeases {
    parked: Mutex<Vec<Parked>>,
    next_id: AtomicU64,
}

/// The lease taken into an entry, if any, and where its command sits in it.
pub struct Riding {
    rider: Option<(usize, ParkedLease, ParkedReply)>,
}

impl ParkedLeases {
    /// Parks `request`; its answer goes to `reply` with the id returned.
    pub fn park(&self, request: LeaseRequest, reply: ParkedReply) -> ParkedLease {
        let id = ParkedLease(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.lock().push(Parked { id, request, reply });
        id
    }

    /// Takes the lease back; `false` if an entry already carries it (its answer will come).
    pub fn unpark(&self, lease: ParkedLease) -> bool {
        let mut parked = self.lock();
        let before = parked.len();
        parked.retain(|p| p.id != lease);
        parked.len() < before
    }

    /// Appends to `commands` the longest-parked lease that one of its submits could feed, and
    /// takes it out of the parking.
    pub fn board(&self, commands: &mut Vec<Command>) -> Riding {
        let mut parked = self.lock();
        // A pool that is gone (its task ended without taking its leases back) leases nothing.
        parked.retain(|p| !p.reply.is_closed());
        let found = parked
            .iter()
            .position(|p| commands.iter().any(|command| feeds(command, &p.request)));
        let rider = found.map(|index| {
            let rider = parked.remove(index);
            commands.push(Command::Lease(rider.request));
            (commands.len() - 1, rider.id, rider.reply)
        });
        Riding { rider }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Parked>> {
        self.parked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Riding {
    /// Hands the rider its command's outcome (or the entry's error) and returns the rest, the
    /// outcomes of the commands the entry was written for.
    pub fn deliver(
        mut self,
        result: Result<Vec<Outcome>, ProposeError>,
    ) -> Result<Vec<Outcome>, ProposeError> {
        let Some((at, id, reply)) = self.rider.take() else {
            return result;
        };
        match result {
            Ok(mut outcomes) => {
                // The rider was appended last: its outcome is the last one.
                let answer = match outcomes.len() > at {
                    true => Ok(outcomes.remove(at)),
                    false => Err(ProposeError::Unknown(
                        "the state machine gave no outcome for a lease".into(),
                    )),
                };
                outcomes.truncate(at);
                let _ = reply.send((id, answer));
                Ok(outcomes)
            }
            Err(error) => {
                let _ = reply.send((id, Err(error.clone())));
                Err(error)
            }
        }
    }
}

/// A rider whose entry's write was abandoned (a forwarded batch whose follower hung up) still
/// gets an answer: its entry may or may not be committed, and its pool waits for this one
/// before leasing again.
impl Drop for Riding {
    fn drop(&mut self) {
        if let Some((_, id, reply)) = self.rider.take() {
            let unknown = ProposeError::Unknown("the entry the lease rode in was not awaited".into());
            let _ = reply.send((id, Err(unknown)));
        }
    }
}

/// Whether `command` submits a task that `lease` would take at once: of one of its queues and
/// names, and not held back by an eta or countdown.
fn feeds(command: &Command, lease: &LeaseRequest) -> bool {
    let Command::Submit(submit) = command else {
        return false;
    };
    submit.eta_ms.is_none()
        && submit.countdown_ms.is_none_or(|ms| ms == 0)
        && lease.queues.contains(&submit.queue)
        && (lease.names.is_empty() || lease.names.contains(&submit.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{SubmitTask, TaskId, TaskState};

    fn submit(queue: &str, countdown_ms: Option<u64>) -> Command {
        Command::Submit(SubmitTask {
            countdown_ms,
            ..SubmitTask::sample("t", queue)
        })
    }

    fn lease(queue: &str) -> LeaseRequest {
        LeaseRequest {
            worker: "node1".into(),
            queues: vec![queue.into()],
            names: Vec::new(),
            max: 4,
            lease_ms: 30_000,
        }
    }

    fn submitted() -> Outcome {
        Outcome::Submitted {
            id: TaskId::generate(),
            state: TaskState::Pending,
            duplicate: false,
        }
    }

    #[test]
    fn a_parked_lease_boards_the_first_entry_with_a_task_for_it_and_gets_its_own_outcome() {
        let parking = ParkedLeases::default();
        let (reply, mut answers) = mpsc::unbounded_channel();
        let first = parking.park(lease("q"), reply.clone());
        let second = parking.park(lease("q"), reply);

        let mut other = vec![submit("other", None), submit("q", Some(5_000))];
        assert!(
            parking
                .board(&mut other)
                .deliver(Ok(vec![submitted(), submitted()]))
                .is_ok()
        );
        assert_eq!(other.len(), 2, "no task it could take at once: it stays parked");

        let mut commands = vec![submit("q", None), submit("q", None)];
        let riding = parking.board(&mut commands);
        assert_eq!(commands.len(), 3, "one lease rides an entry");
        assert!(matches!(commands.last(), Some(Command::Lease(l)) if l.queues == ["q"]));
        let outcomes = vec![submitted(), submitted(), Outcome::Leased(Vec::new())];
        let callers = riding.deliver(Ok(outcomes)).expect("outcomes");
        assert_eq!(
            callers.len(),
            2,
            "the callers get the outcomes of their own commands"
        );
        assert!(matches!(answers.try_recv(), Ok((id, Ok(Outcome::Leased(_)))) if id == first));
        assert!(!parking.unpark(first), "it left with the entry");
        assert!(parking.unpark(second), "the other waits for the next entry");
    }

    #[test]
    fn an_unparked_lease_rides_nothing_and_an_entry_that_failed_fails_its_rider() {
        let parking = ParkedLeases::default();
        let (reply, mut answers) = mpsc::unbounded_channel();
        let first = parking.park(lease("q"), reply.clone());
        assert!(parking.unpark(first));
        let mut commands = vec![submit("q", None)];
        let riding = parking.board(&mut commands);
        assert_eq!(commands.len(), 1);
        assert!(riding.deliver(Ok(vec![submitted()])).is_ok());

        let second = parking.park(lease("q"), reply);
        let mut commands = vec![submit("q", None)];
        let riding = parking.board(&mut commands);
        let error = ProposeError::Unknown("leadership changed".into());
        assert_eq!(riding.deliver(Err(error.clone())), Err(error.clone()));
        assert_eq!(answers.try_recv().expect("answered"), (second, Err(error)));

        let (reply, mut answers) = mpsc::unbounded_channel();
        let abandoned = parking.park(lease("q"), reply.clone());
        let mut commands = vec![submit("q", None)];
        drop(parking.board(&mut commands));
        assert!(
            matches!(answers.try_recv(), Ok((id, Err(ProposeError::Unknown(_)))) if id == abandoned),
            "a rider whose entry was not awaited is told its outcome is unknown"
        );

        let (reply, answers) = mpsc::unbounded_channel();
        parking.park(lease("q"), reply);
        drop(answers);
        let mut commands = vec![submit("q", None)];
        parking.board(&mut commands);
        assert_eq!(commands.len(), 1, "a lease whose pool is gone rides nothing");
    }
}
