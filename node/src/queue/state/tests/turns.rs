//! Queues served by one worker take turns: a lease proposed in turns never leaves a queue
//! waiting behind another queue's higher priorities.

use super::*;

fn request(queues: &[&str], max: u32) -> LeaseRequest {
    match lease(queues, max) {
        Command::Lease(request) => request,
        _ => unreachable!(),
    }
}

/// Applies `request` split in turns from `turn`, as a pool proposes it; the ids leased.
fn lease_in_turns(state: &mut QueueState, request: &LeaseRequest, turn: usize) -> Vec<TaskId> {
    let split = state.lease_in_turns(request, turn);
    split
        .into_iter()
        .flat_map(|one| leased(state.apply(Command::Lease(one))))
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn a_low_priority_task_alone_in_its_queue_waits_one_turn_not_for_the_other_queue() {
    let mut state = new_state();
    let busy: Vec<TaskId> = (0..10)
        .map(|_| submitted(state.apply(submit("t", "busy", 5))))
        .collect();
    let alone = submitted(state.apply(submit("t", "quiet", 0)));
    let both = request(&["busy", "quiet"], 1);

    // One slot at a time, as a pool running one task at a time asks: the turns alternate.
    let got: Vec<TaskId> = (0..4)
        .flat_map(|turn| lease_in_turns(&mut state, &both, turn))
        .collect();
    assert_eq!(got, vec![busy[0], alone, busy[1], busy[2]]);
}

#[test]
fn free_slots_are_shared_between_the_queues_with_work_and_priority_orders_within_each() {
    let mut state = new_state();
    let a_low = submitted(state.apply(submit("t", "a", 1)));
    let a_high = submitted(state.apply(submit("t", "a", 9)));
    let b: Vec<TaskId> = (0..3)
        .map(|_| submitted(state.apply(submit("t", "b", 0))))
        .collect();

    let split = state.lease_in_turns(&request(&["a", "b", "empty"], 5), 1);
    let shares: Vec<(Vec<String>, u32)> = split.iter().map(|r| (r.queues.clone(), r.max)).collect();
    assert_eq!(
        shares,
        vec![(vec!["b".to_string()], 3), (vec!["a".to_string()], 2)],
        "from the queue in turn (b), skipping the empty one; b gets the odd slot"
    );
    let got = lease_in_turns(&mut state, &request(&["a", "b", "empty"], 5), 1);
    assert_eq!(got, vec![b[0], b[1], b[2], a_high, a_low]);
}

#[test]
fn a_lease_takes_from_at_most_as_many_queues_as_it_has_slots_and_a_bounded_number() {
    use crate::queue::state::turns::MAX_QUEUES_PER_LEASE;
    let mut state = new_state();
    let queues: Vec<String> = (0..MAX_QUEUES_PER_LEASE + 2).map(|i| format!("q{i}")).collect();
    for queue in &queues {
        state.apply(submit("t", queue, 0));
    }
    let names: Vec<&str> = queues.iter().map(String::as_str).collect();

    let two_slots = state.lease_in_turns(&request(&names, 2), 0);
    assert_eq!(two_slots.iter().map(|r| r.max).collect::<Vec<_>>(), vec![1, 1]);
    let many = state.lease_in_turns(&request(&names, 100), 3);
    assert_eq!(many.len(), MAX_QUEUES_PER_LEASE);
    assert_eq!(many[0].queues, vec!["q3".to_string()]);
    assert_eq!(many.iter().map(|r| r.max).sum::<u32>(), 100);
}

#[test]
fn turns_go_round_the_queues_with_work_each_named_once() {
    let mut state = new_state();
    for queue in ["a", "d", "d"] {
        state.apply(submit("t", queue, 0));
    }
    let request = request(&["a", "b", "c", "d", "d"], 1);
    let firsts: Vec<String> = (0..4)
        .map(|turn| state.lease_in_turns(&request, turn)[0].queues[0].clone())
        .collect();
    assert_eq!(firsts, ["a", "d", "a", "d"]);
}

#[test]
fn a_lease_with_no_work_in_sight_or_one_queue_is_proposed_as_it_is() {
    let state = new_state();
    let idle = request(&["a", "b"], 4);
    assert_eq!(state.lease_in_turns(&idle, 7), vec![idle.clone()]);
    let one = request(&["a"], 4);
    assert_eq!(state.lease_in_turns(&one, 7), vec![one]);
}
