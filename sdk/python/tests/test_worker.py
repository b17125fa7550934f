"""The worker against a real cluster: results, arguments, ``self.request``, retries and dead
letters, failures, bad input, revokes and time limits on the threads pool, and ``async def``
tasks on both the threads and the asyncio pool.

Each test has a queue of its own; workers run in this process (``Worker.start()``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps import shop
from cluster import Cluster, wait_for
from worker_support import (
    bound,
    caught_logs,
    running,
    submit_raw,
    task,
    unique_queue,
    wait_state,
)

import qraft
from qraft.v1 import tasks_pb2
from qraft.worker import Worker


@pytest.fixture
def app(cluster: Cluster) -> Iterator[qraft.Qraft]:
    with bound(shop.app, cluster) as app:
        yield app


def test_a_task_runs_and_its_result_comes_back(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        assert shop.add.apply_async((2, 3), queue=q).get(timeout=20) == 5


def test_arguments_and_results_travel_as_documented_json(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        r = shop.echo.apply_async(
            (1, "zwei", [3.5, None], {"vier": True}), {"name": "Zoë", "n": {"a": [1]}}, queue=q
        )
        assert r.get(timeout=20) == {
            "args": [1, "zwei", [3.5, None], {"vier": True}],
            "kwargs": {"name": "Zoë", "n": {"a": [1]}},
        }
        # The wire format, written by hand as another language would: both keys may be left out.
        only_args = submit_raw(app, "shop.echo", q, b'{"args":[7]}')
        nothing = submit_raw(app, "shop.echo", q, b"")
        assert qraft.AsyncResult(only_args, app=app).get(timeout=20) == {"args": [7], "kwargs": {}}
        assert qraft.AsyncResult(nothing, app=app).get(timeout=20) == {"args": [], "kwargs": {}}
        assert task(app, only_args).result == b'{"args":[7],"kwargs":{}}'


def test_a_bound_task_sees_its_request(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, worker_id="wtest-bound") as worker:
        r = shop.whoami.apply_async((1, 2), {"k": "v"}, queue=q)
        seen = r.get(timeout=20)
    assert seen["id"] == r.id
    assert seen["name"] == seen["task"] == "shop.whoami"
    assert seen["queue"] == q
    assert seen["args"] == [1, 2] and seen["kwargs"] == {"k": "v"}
    assert seen["attempts"] == 1 and seen["retries"] == 0
    assert seen["delivery"] >= 1
    assert seen["deadline_ms"] > time.time() * 1000 - 60_000
    assert seen["timeout"] is None
    assert seen["hostname"] == worker.worker_id == "wtest-bound"


def test_self_retry_with_countdown_runs_the_task_again(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        r = shop.flaky.apply_async((3,), queue=q)
        assert r.get(timeout=20) == 3
    t = task(app, r.id)
    assert t.state == tasks_pb2.SUCCESS and t.attempts == 3 and t.retries == 2


def test_retries_run_out_into_the_dead_letters(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        r = shop.always_retry.apply_async(queue=q)
        with pytest.raises(qraft.TaskFailed) as failed:
            r.get(timeout=20)
    t = task(app, r.id)
    assert t.state == tasks_pb2.FAILURE
    assert t.attempts == 3, "max_retries=2: the first attempt and two retries"
    assert "ConnectionError: still down" in t.error
    assert failed.value.attempts == 3


def test_autoretry_for_retries_the_listed_exceptions(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        r = shop.auto.apply_async(queue=q)
        with pytest.raises(qraft.TaskFailed):
            r.get(timeout=20)
    t = task(app, r.id)
    assert t.state == tasks_pb2.FAILURE and t.attempts == 2
    assert "ConnectionError: the mail server hung up" in t.error
    assert "Traceback" in t.error


def test_an_ordinary_exception_fails_at_once_with_its_traceback(app: qraft.Qraft) -> None:
    q = unique_queue()
    with caught_logs() as logs, running(app, q):
        r = shop.boom.apply_async(("x",), queue=q)
        with pytest.raises(qraft.TaskFailed) as failed:
            r.get(timeout=20)
    t = task(app, r.id)
    assert t.state == tasks_pb2.FAILURE
    assert t.attempts == 1, "not retried although max_retries=3 (Celery's rule)"
    assert t.error.startswith("Traceback (most recent call last):")
    assert 'shop.py", line' in t.error and "in boom" in t.error
    assert t.error.rstrip().endswith("ValueError: boom: x")
    assert "ValueError: boom: x" in failed.value.error
    assert f"shop.boom[{r.id}] failed: ValueError: boom: x" in logs.text()


def test_a_return_value_that_is_not_json_fails_for_good(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        r = shop.not_json.apply_async(queue=q)
        with pytest.raises(qraft.TaskFailed):
            r.get(timeout=20)
    t = task(app, r.id)
    assert t.state == tasks_pb2.FAILURE and t.attempts == 1
    assert "TypeError" in t.error and "JSON-serialisable" in t.error


def test_a_result_over_the_payload_limit_fails_saying_so(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        r = shop.big.apply_async((1024 * 1024 + 10,), queue=q)
        with pytest.raises(qraft.TaskFailed) as failed:
            r.get(timeout=20)
        # The worker goes on.
        assert shop.add.apply_async((1, 1), queue=q).get(timeout=20) == 2
    # The node turns an oversized result into a failure for good that says so.
    assert "the result is 1048588 bytes; the limit is 1048576" in failed.value.error
    assert task(app, r.id).attempts == 1


def test_bad_arguments_fail_clearly_and_the_worker_goes_on(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q) as worker:
        garbage = submit_raw(app, "shop.add", q, b"\xff not json")
        not_an_object = submit_raw(app, "shop.add", q, b"[1, 2]")
        fine = shop.add.apply_async((1, 2), queue=q)
        unknown = submit_raw(app, "shop.nope", q, b"{}", max_retries=3)
        after = shop.add.apply_async((20, 22), queue=q)
        assert after.get(timeout=20) == 42
        assert fine.get(timeout=20) == 3
        for bad in (garbage, not_an_object):
            t = wait_state(app, bad, tasks_pb2.FAILURE)
            assert t.attempts == 1
            assert "cannot decode the arguments of shop.add" in t.error
        assert "not JSON" in task(app, garbage).error
        assert '{"args": [...], "kwargs": {...}}' in task(app, not_an_object).error
        # A name this worker does not declare is never leased to it: it waits for a worker
        # that runs it (and `qraft queues` shows it as unhandled), instead of failing here.
        t = task(app, unknown)
        assert t.state == tasks_pb2.PENDING and t.attempts == 0
        assert worker.processed >= 4
    qraft.AsyncResult(unknown, app=app).revoke()


def test_an_argument_mismatch_fails_with_the_type_error(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q):
        bad = submit_raw(app, "shop.add", q, b'{"args":[1,2,3]}')
        t = wait_state(app, bad, tasks_pb2.FAILURE)
    assert t.attempts == 1
    assert "TypeError" in t.error and "add()" in t.error


def test_revoke_of_a_running_task_drops_its_answer(app: qraft.Qraft, tmp_path: Path) -> None:
    q = unique_queue()
    done = tmp_path / "done"
    with caught_logs() as logs, running(app, q) as worker:
        wait_for("the revoke watch", 10, lambda: worker._revokes.watching.is_set() or None)
        r = shop.sleepy.apply_async((1.5, str(done)), queue=q)
        wait_state(app, r.id, tasks_pb2.STARTED)
        assert r.revoke() == "REVOKED"
        # The slot is free at once; the thread runs on (threads cannot be killed) ...
        wait_for("the slot to be freed", 5, lambda: worker.active == 0 or None)
        assert "revoked while running" in logs.text()
        # ... and what it returns is dropped: the task stays REVOKED.
        wait_for("the abandoned thread to end", 10, lambda: done.exists() or None)
        assert shop.add.apply_async((1, 2), queue=q).get(timeout=20) == 3
    with pytest.raises(qraft.TaskRevoked):
        r.get(timeout=5)
    assert task(app, r.id).state == tasks_pb2.REVOKED


def test_a_hard_time_limit_fails_the_attempt_on_threads(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, concurrency=1) as worker:
        started = time.monotonic()
        r = shop.limited.apply_async((3,), queue=q)
        with pytest.raises(qraft.TaskFailed) as failed:
            r.get(timeout=20)
        assert time.monotonic() - started < 2.9, "failed at the limit, not when the thread ended"
        # The stuck thread was replaced: with one slot, the next task still runs at once.
        assert shop.add.apply_async((2, 2), queue=q).get(timeout=20) == 4
        assert worker.active == 0
    assert "hard time limit (1s) exceeded" in failed.value.error
    assert task(app, r.id).attempts == 1


def test_async_tasks_run_on_the_threads_pool(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, pool="threads"):
        results = [shop.async_add.apply_async((i, i), queue=q) for i in range(10)]
        sync = shop.add.apply_async((1, 1), queue=q)
        who = shop.async_whoami.apply_async(queue=q)
        assert [r.get(timeout=20) for r in results] == [2 * i for i in range(10)]
        assert sync.get(timeout=20) == 2
        assert who.get(timeout=20) == {"id": who.id, "attempts": 1}


def test_the_asyncio_pool_runs_coroutines_and_functions(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, pool="asyncio", concurrency=8):
        # Eight coroutines sleeping 0.5 s at once take about 0.5 s, not 4.
        started = time.monotonic()
        sleepers = [shop.async_sleepy.apply_async((0.5,), queue=q) for _ in range(8)]
        assert [r.get(timeout=20) for r in sleepers] == ["slept"] * 8
        assert time.monotonic() - started < 3.5
        assert shop.add.apply_async((3, 4), queue=q).get(timeout=20) == 7
        who = shop.async_whoami.apply_async(queue=q)
        assert who.get(timeout=20) == {"id": who.id, "attempts": 1}
        with pytest.raises(qraft.TaskFailed) as failed:
            shop.boom.apply_async(("async pool",), queue=q).get(timeout=20)
        assert "ValueError: boom: async pool" in failed.value.error


def test_the_asyncio_pool_cancels_a_revoked_coroutine(app: qraft.Qraft, tmp_path: Path) -> None:
    q = unique_queue()
    done = tmp_path / "done"
    cancelled = tmp_path / "done.cancelled"
    with running(app, q, pool="asyncio") as worker:
        wait_for("the revoke watch", 10, lambda: worker._revokes.watching.is_set() or None)
        r = shop.async_sleepy.apply_async((30, str(done)), queue=q)
        wait_state(app, r.id, tasks_pb2.STARTED)
        r.revoke()
        # The coroutine itself sees the cancellation (it writes a file when it does).
        wait_for("the coroutine to be cancelled", 5, lambda: cancelled.exists() or None)
        wait_for("the slot to be freed", 5, lambda: worker.active == 0 or None)
        assert shop.add.apply_async((1, 2), queue=q).get(timeout=20) == 3
    assert not done.exists()
    assert task(app, r.id).state == tasks_pb2.REVOKED


def test_leases_are_extended_while_a_task_runs(app: qraft.Qraft) -> None:
    q = unique_queue()
    # A 0.3 s lease and a task of 1.5 s: only extends keep the task from being handed out again.
    with running(app, q, lease=0.3):
        r = shop.sleepy.apply_async((1.5,), queue=q)
        assert r.get(timeout=20) == "slept"
    t = task(app, r.id)
    assert t.state == tasks_pb2.SUCCESS and t.attempts == 1 and t.delivery in (0, 1)


def test_start_up_warns_of_waiting_tasks_no_worker_declares(app: qraft.Qraft) -> None:
    q = unique_queue()
    typo = [submit_raw(app, "shop.ad", q, b"{}") for _ in range(3)]
    with caught_logs() as logs, running(app, q):
        pass
    assert f"queue {q}: 3 waiting tasks named 'shop.ad' that no worker declares" in logs.text()
    for task_id in typo:
        qraft.AsyncResult(task_id, app=app).revoke()



def test_a_workers_queues_take_turns_so_a_low_priority_task_does_not_wait_behind_another_queue(
    app: qraft.Qraft,
) -> None:
    busy, quiet = unique_queue("busy"), unique_queue("quiet")
    slow = [shop.sleepy.apply_async((0.05,), queue=busy, priority=9) for _ in range(20)]
    alone = shop.add.apply_async((1, 2), queue=quiet, priority=0)
    # One slot: every lease takes one task, from the queue whose turn it is (drawn by the node,
    # so the chance that the quiet queue's turn never came in 20 leases is one in a million).
    worker = Worker(app, queues=[busy, quiet], concurrency=1, grace=5.0)
    worker.start()
    try:
        assert alone.get(timeout=30) == 3
        for result in slow:
            assert result.get(timeout=30) == "slept"
    finally:
        worker.stop(timeout=30.0)
    finished_alone = task(app, alone.id).finished_at_ms
    before = sum(task(app, r.id).finished_at_ms < finished_alone for r in slow)
    assert before < len(slow), (
        "the priority-0 task of its own queue waited for every priority-9 task of the other: "
        "the queues did not take turns"
    )
