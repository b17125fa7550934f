"""Results: states, ``get()`` outcomes (value, TaskFailed, TaskRevoked, TaskExpired,
qraft.TimeoutError), revoke, unknown ids, and the Celery helpers."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator

import pytest
from cluster import Cluster, wait_for
from producer_support import idle_queue, stored

import qraft
import qraft.result
from qraft import AsyncResult, Qraft
from qraft.v1 import tasks_pb2


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> Iterator[Qraft]:
    with Qraft("results-tests", cluster=cluster.addrs) as app:
        yield app


def test_get_returns_the_decoded_result(app: Qraft) -> None:
    r = app.send_task("builtin.echo", args=[{"nested": [1, 2.5, None, True]}])
    assert r.get(timeout=30) == {"args": [{"nested": [1, 2.5, None, True]}], "kwargs": {}}
    assert r.result == {"args": [{"nested": [1, 2.5, None, True]}], "kwargs": {}}
    assert r.date_done is not None and r.traceback is None


def test_revoking_a_waiting_task(app: Qraft) -> None:
    r = app.send_task("tests.never", queue=idle_queue())
    assert r.revoke() == "REVOKED"
    with pytest.raises(qraft.TaskRevoked) as revoked:
        r.get(timeout=10)
    assert revoked.value.task_id == r.id
    assert r.state == "REVOKED" and r.ready() and not r.successful()
    assert isinstance(r.result, qraft.TaskRevoked)
    # Revoking a finished task changes nothing and says how it ended.
    done = app.send_task("builtin.echo")
    done.get(timeout=30)
    assert done.revoke() == "SUCCESS"


def test_an_unstarted_task_expires(app: Qraft) -> None:
    r = app.send_task("tests.expiring", queue=idle_queue(), expires=0.3)
    with pytest.raises(qraft.TaskExpired) as expired:
        r.get(timeout=20)
    assert expired.value.task_id == r.id and r.state == "EXPIRED"


def test_get_times_out_when_the_task_does_not_finish(app: Qraft) -> None:
    r = app.send_task("tests.stuck", queue=idle_queue())
    started = time.monotonic()
    with pytest.raises(qraft.TimeoutError, match="did not finish"):
        r.get(timeout=0.5)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 5, elapsed
    # The SDK's TimeoutError is also the built-in one.
    with pytest.raises(builtins.TimeoutError):
        r.get(timeout=0.1)
    assert r.state == "PENDING" and not r.ready() and r.result is None


def test_get_waits_across_several_wait_calls(app: Qraft, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each Wait call waits at most MAX_WAIT (the server's 10 min); a longer wait is a loop of
    # them. Shortened here so a 1 s task takes several.
    monkeypatch.setattr(qraft.result, "MAX_WAIT", 0.2)
    r = app.send_task("builtin.sleep", payload=b'{"ms": 1000}')
    assert r.get(timeout=30) == {"slept_ms": 1000}
    slow = app.send_task("builtin.sleep", payload=b'{"ms": 1000}')
    assert slow.get() == {"slept_ms": 1000}  # no timeout: as long as it takes


def test_states_while_a_task_runs(app: Qraft) -> None:
    r = app.send_task("builtin.sleep", payload=b'{"ms": 800}')
    wait_for("the task started", 20, lambda: True if r.state == "STARTED" else None)
    assert not r.ready() and r.result is None
    r.get(timeout=30)
    assert r.state == "SUCCESS"


def test_an_unknown_id_raises_not_found(app: Qraft) -> None:
    r = app.AsyncResult("01JBZ6V4G8Q2Y6T5X4W3V2S1T0")
    with pytest.raises(qraft.NotFound):
        r.state
    with pytest.raises(qraft.NotFound):
        r.get(timeout=5)
    with pytest.raises(qraft.InvalidTask):
        app.AsyncResult("not-an-id").state


def test_async_result_defaults_to_the_newest_app(app: Qraft, cluster: Cluster) -> None:
    with Qraft("newest", cluster=cluster.addrs) as newest:
        r = newest.send_task("builtin.echo", args=[7])
        assert AsyncResult(r.id).app is newest
        assert AsyncResult(r.id).get(timeout=30) == {"args": [7], "kwargs": {}}


def test_results_compare_and_hash_by_id(app: Qraft) -> None:
    a = app.AsyncResult("01JBZ6V4G8Q2Y6T5X4W3V2S1T0")
    b = AsyncResult("01JBZ6V4G8Q2Y6T5X4W3V2S1T0", app=app)
    c = app.AsyncResult("01JBZ6V4G8Q2Y6T5X4W3V2S1T1")
    assert a == b and a != c and a == "01JBZ6V4G8Q2Y6T5X4W3V2S1T0"
    assert len({a, b, c}) == 2 and a.task_id == a.id
    assert repr(a) == "<AsyncResult: 01JBZ6V4G8Q2Y6T5X4W3V2S1T0>" and str(a) == a.id
    with pytest.raises(TypeError):
        AsyncResult("", app=app)


def test_a_final_result_is_kept_and_not_read_again(app: Qraft) -> None:
    r = app.send_task("builtin.echo", args=[1])
    r.get(timeout=30)
    assert stored(app, r.id).state == tasks_pb2.SUCCESS
    app.close()  # a read would reopen connections; a kept result needs none
    assert r.state == "SUCCESS" and app._transport is None
