//! Queue caps: what a queue holds, and submits past a cap refused without a trace.

use super::*;

fn cap(queue: &str, cap: CapKind, value: u64) -> Command {
    Command::SetQueueCap {
        queue: queue.into(),
        cap,
        value,
    }
}

fn refused(outcome: Outcome) -> (CapKind, u64) {
    match outcome {
        Outcome::Rejected(Rejection::QueueFull { cap, max, .. }) => (cap, max),
        other => panic!("expected a full queue, got {other:?}"),
    }
}

#[test]
fn a_submit_to_a_full_queue_is_refused_before_it_is_proposed_unless_it_is_a_resend() {
    let mut state = new_state();
    state.apply(cap("q", CapKind::MaxLength, 1));
    let keyed = |key: &str| match submit_with("t", "q", 0, |s| {
        s.idempotency_key = Some(key.into());
        s.dedup_window_ms = 60_000;
    }) {
        Command::Submit(submit) => submit,
        _ => unreachable!(),
    };
    assert!(state.refuses_at_once(&keyed("a")).is_none(), "room for one");
    let stored = keyed("a");
    submitted(state.apply(Command::Submit(stored.clone())));
    assert!(matches!(
        state.refuses_at_once(&keyed("b")),
        Some(Rejection::QueueFull { .. })
    ));
    assert!(state.refuses_at_once(&stored).is_none(), "the same command again");
    assert!(state.refuses_at_once(&keyed("a")).is_none(), "its key again");
    let Command::Submit(elsewhere) = submit("t", "other", 0) else {
        unreachable!()
    };
    assert!(state.refuses_at_once(&elsewhere).is_none());
}

#[test]
fn a_full_queue_refuses_submits_without_a_trace_and_takes_them_again_once_drained() {
    let mut state = new_state();
    assert_eq!(state.apply(cap("q", CapKind::MaxLength, 2)), Outcome::Done);
    let first = submitted(state.apply(submit("t", "q", 0)));
    submitted(state.apply(submit("t", "q", 0)));
    state.take_changes();
    let (seq, count) = (state.meta().next_seq, state.task_count());
    assert_eq!(refused(state.apply(submit("t", "q", 0))), (CapKind::MaxLength, 2));
    assert_eq!((state.meta().next_seq, state.task_count()), (seq, count));
    assert!(state.take_changes().records.is_empty(), "nothing written");
    submitted(state.apply(submit("t", "other", 0)));

    // A running task still counts; a finished one no longer does.
    let (id, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
    assert_eq!(id, first);
    refused(state.apply(submit("t", "q", 0)));
    state.apply(Command::Ack {
        id,
        delivery,
        result: vec![0; 100],
    });
    assert_eq!(state.held("q").tasks, 1);
    submitted(state.apply(submit("t", "q", 0)));
}

#[test]
fn max_bytes_counts_args_and_headers_of_unfinished_tasks() {
    let mut state = new_state();
    state.apply(cap("q", CapKind::MaxBytes, 10));
    let sized = |bytes: usize| submit_with("t", "q", 0, |s| s.args = vec![b'x'; bytes]);
    submitted(state.apply(sized(6)));
    assert_eq!(refused(state.apply(sized(5))), (CapKind::MaxBytes, 10));
    submitted(state.apply(sized(4)));
    assert_eq!(state.held("q").bytes, 10, "exactly at the cap");
    let with_header = submit_with("t", "q", 0, |s| {
        s.args.clear();
        s.headers.insert("k".into(), "v".into());
    });
    refused(state.apply(with_header));
}

#[test]
fn a_duplicate_submit_to_a_full_queue_still_answers_with_its_task() {
    let mut state = new_state();
    state.apply(cap("q", CapKind::MaxLength, 1));
    let keyed = || {
        submit_with("t", "q", 0, |s| {
            s.idempotency_key = Some("once".into());
            s.dedup_window_ms = 60_000;
        })
    };
    let id = submitted(state.apply(keyed()));
    match state.apply(keyed()) {
        Outcome::Submitted {
            id: again, duplicate, ..
        } => assert_eq!((again, duplicate), (id, true)),
        other => panic!("a resend must find its task, not a full queue: {other:?}"),
    }
}

#[test]
fn caps_are_set_one_at_a_time_removed_by_zero_and_with_the_limit() {
    let mut state = new_state();
    state.apply(cap("q", CapKind::MaxLength, 5));
    state.apply(cap("q", CapKind::MaxBytes, 500));
    let caps: Vec<_> = state.caps().cloned().collect();
    assert_eq!((caps[0].max_length, caps[0].max_bytes), (Some(5), Some(500)));
    state.apply(cap("q", CapKind::MaxLength, 0));
    assert_eq!(state.caps().next().map(|c| c.max_length), Some(None));
    state.take_changes();
    assert_eq!(
        state.apply(Command::RemoveLimit {
            scope: "queue:q".parse().expect("scope"),
        }),
        Outcome::Count(1)
    );
    assert_eq!(state.caps().count(), 0);
    assert!(
        state
            .take_changes()
            .records
            .contains(&crate::queue::record::RecordId::Cap("q".into())),
        "the cap's record is deleted"
    );
    assert!(matches!(
        state.apply(cap("bad name", CapKind::MaxLength, 1)),
        Outcome::Rejected(Rejection::Invalid(_))
    ));
}

#[test]
fn stored_bytes_follow_tasks_through_their_results_and_deletion() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.args = vec![0; 40])));
    assert_eq!(state.usage().bytes, 40);
    let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
    state.apply(Command::Ack {
        id,
        delivery,
        result: vec![0; 60],
    });
    assert_eq!(state.usage().bytes, 100);
    assert_eq!(state.held("q").tasks, 0);
    at(&mut state, 60_000);
    assert_eq!((state.usage().bytes, state.task_count()), (0, 0));
}

#[test]
fn a_tasks_payload_is_written_once_and_only_its_own_record_on_each_change() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.args = vec![7; 1_000])));
    let payload = crate::queue::record::RecordId::Payload(id);
    let task = crate::queue::record::RecordId::Task(id);
    let changes = state.take_changes();
    assert!(changes.records.contains(&payload) && changes.records.contains(&task));
    let (_, delivery) = leased(state.apply(lease(&["q"], 1)))[0];
    state.apply(Command::Ack {
        id,
        delivery,
        result: vec![1],
    });
    let changes = state.take_changes();
    assert!(
        changes.records.contains(&task),
        "the lease and the ack rewrite the task"
    );
    assert!(!changes.records.contains(&payload), "but not its args");
    let record = match state.get_record(&task) {
        Some(crate::queue::record::RecordRef::Task(task)) => rmp_serde::to_vec_named(task).expect("encode"),
        other => panic!("{other:?}"),
    };
    assert!(
        record.len() < 1_000,
        "the task's record leaves its args out: {} bytes",
        record.len()
    );
    at(&mut state, 60_000);
    assert!(
        state.take_changes().records.contains(&payload),
        "deleted with the task"
    );
}

#[test]
fn a_task_stored_whole_before_the_split_keeps_its_args_and_gets_a_payload_record() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.args = b"old".to_vec())));
    let mut whole = state.task(&id).expect("task").into_owned();
    // Records of then did not count their payload either.
    whole.payload_bytes = None;
    let mut restored = QueueState::restore(state.meta().clone(), [Stored::Task(whole)]);
    assert_eq!(restored.task(&id).map(|t| t.args.clone()), Some(b"old".to_vec()));
    assert_eq!(restored.held("q").bytes, 3);
    assert!(
        restored
            .take_changes()
            .records
            .contains(&crate::queue::record::RecordId::Payload(id)),
        "the next apply writes its payload record"
    );
}

#[test]
fn a_task_stored_before_its_record_counted_its_payload_is_counted_from_the_payload_record() {
    let mut state = new_state();
    let id = submitted(state.apply(submit_with("t", "q", 0, |s| s.args = vec![1; 500])));
    let mut task = state.task(&id).expect("task").into_owned();
    let payload = crate::queue::task::TaskPayload {
        id,
        args: std::mem::take(&mut task.args),
        headers: std::mem::take(&mut task.headers),
    };
    task.payload_bytes = None;
    let (_, disk) = super::disk::Disk::state();
    disk.put(task.clone(), payload.clone());

    tracing::info!("--- over storage: read back from the payload record once, and written counted");
    let mut restored =
        QueueState::restore_over(state.meta().clone(), [Stored::Task(task.clone())], disk.clone());
    restored.cache_bodies(0);
    assert_eq!(restored.held("q").bytes, 500);
    assert_eq!(restored.take_failure(), None);
    let changes = restored.take_changes();
    assert!(
        changes
            .records
            .contains(&crate::queue::record::RecordId::Task(id))
    );
    disk.write_changes(&mut restored, changes);
    assert_eq!(restored.bodies_in_memory(), (0, 0));
    let again = QueueState::restore_over(state.meta().clone(), restored.stored(), disk.clone());
    assert_eq!(again.held("q").bytes, 500);
    assert!(again.same_as(&restored));

    tracing::info!("--- in memory: counted when the payload record comes");
    let restored = QueueState::restore(
        state.meta().clone(),
        [Stored::Task(task), Stored::Payload(payload)],
    );
    assert_eq!(restored.held("q").bytes, 500);
    assert_eq!(restored.task(&id).map(|t| t.args.len()), Some(500));
}
