"""Canvas on the cluster's Flows, with the nodes' built-in handlers as the running tasks (the
end-to-end canvas of Python functions is in test_canvas_python.py): chain, group and chord
results and failures, the parts' headers, idempotency, and what is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cluster import Cluster
from producer_support import idle_queue, stored

import qraft
from qraft import FlowResult, GroupResult, Qraft, Signature, chain, chord, group


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> Iterator[Qraft]:
    with Qraft("canvas-tests", cluster=cluster.addrs) as app:
        yield app


def echo(app: Qraft, *args: object, **kwargs: object) -> Signature:
    return app.signature("builtin.echo", args, kwargs)


def fails(app: Qraft, times: int = 5) -> Signature:
    # Raw payload: builtin.fail reads {"times": N}; immutable, so a chain step keeps it.
    sig = app.signature("builtin.fail", payload=json.dumps({"times": times}).encode(), max_retries=0)
    return sig.set(immutable=True)


def test_a_chain_passes_each_result_to_the_next_step(app: Qraft) -> None:
    result = chain(echo(app, 1), echo(app, 5), echo(app)).apply_async()
    assert isinstance(result, FlowResult)
    # builtin.echo returns its payload: a later step's payload is the previous result itself.
    assert result.get(timeout=30) == {"args": [1], "kwargs": {}}
    assert result.state == "SUCCESS" and result.ready() and result.kind == "chain"
    first, second, third = result.parts()
    step = stored(app, second.id)
    assert step.headers["qraft-canvas"] == "chain-step"
    assert json.loads(step.headers["qraft-args"]) == {"args": [5], "kwargs": {}}
    assert json.loads(step.args) == {"args": [1], "kwargs": {}}
    assert "qraft-args" not in stored(app, third.id).headers


def test_an_immutable_step_keeps_its_own_arguments(app: Qraft) -> None:
    result = (echo(app, 1) | app.signature("builtin.echo", (2,), immutable=True)).delay()
    assert result.get(timeout=30) == {"args": [2], "kwargs": {}}
    assert "qraft-canvas" not in stored(app, result.parts()[1].id).headers


def test_a_group_gives_every_members_value_in_order(app: Qraft) -> None:
    result = group(echo(app, i) for i in range(5)).apply_async()
    assert isinstance(result, GroupResult)
    assert result.get(timeout=30) == [{"args": [i], "kwargs": {}} for i in range(5)]
    assert len(result) == 5 and result.completed_count() == 5 and result.successful()
    assert [r.get(timeout=5) for r in result.results] == [{"args": [i], "kwargs": {}} for i in range(5)]


def test_a_chord_hands_the_callback_every_members_outcome(app: Qraft) -> None:
    result = chord(group(echo(app, i) for i in range(3)), echo(app, "cb")).apply_async()
    outcomes = result.get(timeout=30)
    # builtin.echo returns the callback's raw payload: the outcome array the server built (a
    # Python callback gets the values alone, see qraft._encoding).
    assert [o["result"] for o in outcomes] == [{"args": [i], "kwargs": {}} for i in range(3)]
    assert all(o["state"] == "SUCCESS" for o in outcomes)
    callback = stored(app, result.parts()[-1].id)
    assert callback.headers["qraft-canvas"] == "chord-callback"
    assert json.loads(callback.headers["qraft-args"]) == {"args": ["cb"], "kwargs": {}}


def test_a_chord_in_celerys_call_form_and_as_group_or_chain(app: Qraft) -> None:
    header = [echo(app, 1), echo(app, 2)]
    assert len(chord(header)(echo(app)).get(timeout=30)) == 2
    assert isinstance(group(header) | echo(app), chord)
    assert isinstance(chain(group(header), echo(app))._chord, chord)
    assert len(chain(group(header), echo(app)).apply_async().get(timeout=30)) == 2


def test_a_failed_chain_step_raises_task_failed(app: Qraft) -> None:
    result = chain(echo(app, 1), fails(app), echo(app)).apply_async()
    with pytest.raises(qraft.TaskFailed) as failed:
        result.get(timeout=30)
    assert failed.value.attempts == 1 and "failing on purpose" in failed.value.error
    assert result.state == "FAILURE" and result.failed()
    assert len(result.parts()) == 2, "the step after the failed one never runs"
    assert isinstance(result.get(timeout=5, propagate=False), qraft.TaskFailed)


def test_a_group_with_a_failed_member(app: Qraft) -> None:
    result = group(echo(app, 0), fails(app).set(immutable=False), echo(app, 2)).apply_async()
    with pytest.raises(qraft.TaskFailed):
        result.get(timeout=30)
    values = result.get(timeout=5, propagate=False)
    assert values[0] == {"args": [0], "kwargs": {}} and values[2] == {"args": [2], "kwargs": {}}
    assert isinstance(values[1], qraft.TaskFailed)


def test_revoking_a_chord_member_fails_the_chord(app: Qraft) -> None:
    waiting = app.signature("tests.never", queue=idle_queue())
    result = chord([echo(app, 1), waiting], echo(app)).apply_async()
    result.parts()[1].revoke()
    with pytest.raises(qraft.TaskRevoked):
        result.get(timeout=30)
    assert len(result.parts()) == 2, "the callback never runs"


def test_an_expired_member_and_a_flow_timeout(app: Qraft) -> None:
    waiting = app.signature("tests.never", queue=idle_queue())
    stuck = group(echo(app, 1), waiting).apply_async()
    with pytest.raises(qraft.TimeoutError, match="did not finish"):
        stuck.get(timeout=0.5)
    stuck.revoke()
    expiring = group(echo(app, 1), waiting.clone(expires=0.3)).apply_async()
    with pytest.raises(qraft.TaskExpired):
        expiring.get(timeout=20)


def test_a_flow_idempotency_key_returns_the_first_flow(app: Qraft) -> None:
    key = f"flow-{idle_queue()}"
    first = chain(echo(app, 1), echo(app)).apply_async(idempotency_key=key)
    again = chain(echo(app, 2), echo(app)).apply_async(idempotency_key=key)
    assert again == first and again.duplicate and not first.duplicate
    assert again.get(timeout=30) == {"args": [1], "kwargs": {}}


def test_flow_options_apply_to_every_task(app: Qraft) -> None:
    queue = idle_queue()
    result = group(app.signature("tests.a"), app.signature("tests.b")).apply_async(
        queue=queue, priority=8, result_ttl=60
    )
    for part in result.parts():
        task = stored(app, part.id)
        assert (task.queue, task.priority) == (queue, 8)
    result.revoke()


def test_nested_canvases_the_cluster_cannot_run_are_refused(app: Qraft) -> None:
    a, b = echo(app, 1), echo(app, 2)
    with pytest.raises(qraft.InvalidTask, match="chain of tasks"):
        chain(a, group(a, b))
    with pytest.raises(qraft.InvalidTask, match="chain of tasks"):
        a | group(a, b)
    with pytest.raises(qraft.InvalidTask, match="chain of tasks"):
        group(a, chain(a, b))
    with pytest.raises(qraft.InvalidTask, match="chain of tasks"):
        group(a, group(a, b))
    with pytest.raises(qraft.InvalidTask, match="chain of tasks"):
        chord([a, b], b) | a
    with pytest.raises(qraft.InvalidTask, match="chain of tasks"):
        chain(group(a, b), a, b)
    with pytest.raises(qraft.InvalidTask, match="immutable"):
        chord([a, b], app.signature("builtin.echo", immutable=True)).apply_async()
    with pytest.raises(qraft.InvalidTask, match="countdown"):
        chain(a, b).apply_async(countdown=5)
    with pytest.raises(qraft.InvalidTask, match="countdown"):
        chain(a.clone(countdown=5), b).apply_async()
    with pytest.raises(qraft.InvalidTask, match="at least one"):
        group([])
    with pytest.raises(qraft.InvalidTask, match="needs a callback"):
        chord([a, b]).apply_async()


def test_a_signature_sends_itself(app: Qraft) -> None:
    sig = echo(app, 1).set(priority=4)
    r = sig.delay(0)  # arguments given when applying come first, as in Celery
    assert r.get(timeout=30) == {"args": [0, 1], "kwargs": {}}
    assert stored(app, r.id).priority == 4
    assert repr(sig) == "builtin.echo(1)" and sig.clone() == sig
    assert qraft.signature("builtin.echo", (1,), app=app, priority=4) == sig
