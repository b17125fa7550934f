//! Idempotency keys hold for their whole window, whatever happens to their task.

use super::*;

fn keyed(key: &str, args: &str, ttl_ms: u64) -> Command {
    submit_with("mail.send", "mail", 0, |s| {
        s.idempotency_key = Some(key.into());
        s.dedup_window_ms = 24 * 3600 * 1000;
        s.args = args.as_bytes().to_vec();
        s.options.result_ttl_ms = ttl_ms;
    })
}

fn run_to_success(state: &mut QueueState, id: TaskId) {
    let (leased_id, delivery) = leased(state.apply(lease(&["mail"], 1)))[0];
    assert_eq!(leased_id, id);
    state.apply(Command::Ack {
        id,
        delivery,
        result: b"sent".to_vec(),
    });
}

#[test]
fn a_key_outlives_its_task_deleted_by_its_result_ttl() {
    let mut state = new_state();
    let first = submitted(state.apply(keyed("order-42", "{\"to\":\"ada\"}", 1_000)));
    run_to_success(&mut state, first);
    at(&mut state, 2_500);
    assert!(state.task(&first).is_none(), "deleted after its 1 s result TTL");

    let again = state.apply(keyed("order-42", "{\"to\":\"ada\"}", 1_000));
    assert_eq!(
        again,
        Outcome::Submitted {
            id: first,
            state: TaskState::Success,
            duplicate: true
        },
        "a resend within the window gets the first task, not a second run"
    );
    assert_eq!(state.task_count(), 0);

    tracing::info!("--- restored from its records, the key still holds");
    let restored = QueueState::restore(state.meta().clone(), state.stored());
    assert!(restored.same_as(&state));
}

#[test]
fn a_key_reused_for_a_different_task_is_refused() {
    let mut state = new_state();
    let first = submitted(state.apply(keyed("order-42", "{\"to\":\"ada\"}", 60_000)));
    match state.apply(keyed("order-42", "{\"to\":\"bob\"}", 60_000)) {
        Outcome::Rejected(rejection @ Rejection::KeyReused { task, .. }) => {
            assert_eq!(task, first);
            assert!(rejection.to_string().contains("different task"), "{rejection}");
        }
        other => panic!("a reused key with other args must be refused, got {other:?}"),
    }
    assert_eq!(state.task_count(), 1, "nothing stored for the refused submit");
}

#[test]
fn a_purged_task_keeps_its_key_and_the_window_ends_it() {
    let mut state = new_state();
    let first = submitted(state.apply(keyed("k", "{}", 60_000)));
    state.apply(Command::PurgeQueue { queue: "mail".into() });
    assert!(state.task(&first).is_none());
    assert_eq!(
        state.apply(keyed("k", "{}", 60_000)),
        Outcome::Submitted {
            id: first,
            state: TaskState::Revoked,
            duplicate: true
        },
        "a purged task is not run again by a resend"
    );
    assert!(state.take_changes().keys().contains(&"k".to_string()));

    tracing::info!("--- a day later the key is free");
    at(&mut state, 24 * 3600 * 1000);
    assert!(
        state.take_changes().keys().contains(&"k".to_string()),
        "the record is deleted"
    );
    let fresh = submitted(state.apply(keyed("k", "{}", 60_000)));
    assert_ne!(fresh, first);
}
