"""The process pool: tasks run in spawned children that import the app by its spec; a revoke
or the hard time limit kills the child (as Celery's prefork does) and a new one takes its
place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps import shop
from cluster import Cluster, wait_for
from worker_support import alive, bound, running, task, unique_queue, wait_state

import qraft
from qraft.v1 import tasks_pb2


@pytest.fixture
def app(cluster: Cluster) -> Iterator[qraft.Qraft]:
    with bound(shop.app, cluster) as app:
        yield app


def test_tasks_run_in_child_processes(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, pool="processes", concurrency=2, app_spec="apps.shop:app"):
        pids = {shop.pid.apply_async(queue=q).get(timeout=30) for _ in range(6)}
        assert os.getpid() not in pids and 1 <= len(pids) <= 2
        assert all(alive(pid) for pid in pids)
        who = shop.whoami.apply_async(("a",), queue=q)
        assert who.get(timeout=30)["id"] == who.id
        assert shop.async_add.apply_async((2, 5), queue=q).get(timeout=30) == 7
        with pytest.raises(qraft.TaskFailed) as failed:
            shop.boom.apply_async(("in a child",), queue=q).get(timeout=30)
        assert "ValueError: boom: in a child" in failed.value.error
        assert 'shop.py", line' in failed.value.error
    # The children are gone with the worker.
    wait_for("the children to exit", 10, lambda: not any(alive(p) for p in pids) or None)


def test_the_app_is_found_without_a_spec(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, pool="processes", concurrency=1):
        assert shop.add.apply_async((1, 2), queue=q).get(timeout=30) == 3


def test_revoke_kills_the_child_running_the_task(app: qraft.Qraft, tmp_path: Path) -> None:
    q = unique_queue()
    done = tmp_path / "done"
    with running(app, q, pool="processes", concurrency=1, app_spec="apps.shop:app") as worker:
        child = shop.pid.apply_async(queue=q).get(timeout=30)
        wait_for("the revoke watch", 10, lambda: worker._revokes.watching.is_set() or None)
        r = shop.sleepy.apply_async((30, str(done)), queue=q)
        wait_state(app, r.id, tasks_pb2.STARTED)
        r.revoke()
        # Killed, not left to run: the process running it is gone.
        wait_for("the child to be killed", 10, lambda: not alive(child) or None)
        # A new child runs the next task.
        new_child = shop.pid.apply_async(queue=q).get(timeout=30)
        assert new_child != child and alive(new_child)
    assert not done.exists()
    t = task(app, r.id)
    assert t.state == tasks_pb2.REVOKED


def test_the_hard_time_limit_kills_the_child(app: qraft.Qraft, tmp_path: Path) -> None:
    q = unique_queue()
    done = tmp_path / "done"
    with running(app, q, pool="processes", concurrency=1, app_spec="apps.shop:app"):
        child = shop.pid.apply_async(queue=q).get(timeout=30)
        r = shop.limited.apply_async((30, str(done)), queue=q)
        with pytest.raises(qraft.TaskFailed) as failed:
            r.get(timeout=30)
        assert "hard time limit (1s) exceeded" in failed.value.error
        wait_for("the child to be killed", 10, lambda: not alive(child) or None)
        # The next task runs, in a new child.
        assert shop.limited.apply_async((0,), queue=q).get(timeout=30) not in (child, None)
    assert not done.exists()
    t = task(app, r.id)
    assert t.state == tasks_pb2.FAILURE and t.attempts == 1


def test_a_child_that_dies_fails_its_attempt_and_is_replaced(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, pool="processes", concurrency=1, app_spec="apps.shop:app"):
        r = shop.exit_hard.apply_async((3,), queue=q)
        with pytest.raises(qraft.TaskFailed) as failed:
            r.get(timeout=30)
        assert "exited unexpectedly (exit code 3)" in failed.value.error
        assert shop.add.apply_async((2, 2), queue=q).get(timeout=30) == 4
