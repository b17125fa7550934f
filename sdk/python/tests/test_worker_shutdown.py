"""Stopping a worker: SIGTERM lets running tasks finish within the grace period, or hands them
back so another worker runs them; a second Ctrl-C hands them back at once. Cut off from its
cluster, a worker still stops within seconds of the grace period."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps import shop
from cluster import Cluster, wait_for
from worker_support import (
    bound,
    running,
    stop_process,
    task,
    unique_queue,
    worker_process,
)

import qraft
from qraft.v1 import tasks_pb2
from qraft.worker.worker import SHUTDOWN_DEADLINE


@pytest.fixture
def app(cluster: Cluster) -> Iterator[qraft.Qraft]:
    with bound(shop.app, cluster) as app:
        yield app


def started_worker(cluster: Cluster, log: Path, q: str, *args: str):  # type: ignore[no-untyped-def]
    process = worker_process(cluster, "-A", "apps.shop:app", "-Q", q, "-c", "2", *args, log=log)
    wait_for("the worker to start", 30, lambda: "ready" in log.read_text() or None)
    return process


def test_sigterm_lets_a_running_task_finish_within_grace(
    app: qraft.Qraft, cluster: Cluster, tmp_path: Path
) -> None:
    q = unique_queue()
    log = tmp_path / "worker.log"
    process = started_worker(cluster, log, q, "--grace", "20")
    try:
        started = tmp_path / "started"
        r = shop.sleepy.apply_async((1.5,), {"started": str(started)}, queue=q)
        wait_for("the task to start", 20, lambda: started.exists() or None)
        process.send_signal(signal.SIGTERM)
        assert stop_process(process, 30) == 0
    finally:
        if process.poll() is None:
            stop_process(process, 0.1)
    t = task(app, r.id)
    assert t.state == tasks_pb2.SUCCESS and t.attempts == 1
    text = log.read_text()
    assert "SIGTERM: stopping" in text and f"shop.sleepy[{r.id}] succeeded" in text


def test_sigterm_hands_back_what_does_not_finish_and_another_worker_runs_it(
    app: qraft.Qraft, cluster: Cluster, tmp_path: Path
) -> None:
    q = unique_queue()
    log = tmp_path / "worker.log"
    # A short lease: on a node without Release the task comes back when it runs out.
    process = started_worker(cluster, log, q, "--grace", "0.5", "--lease", "3")
    try:
        started = tmp_path / "started"
        r = shop.sleepy.apply_async((4,), {"started": str(started)}, queue=q)
        wait_for("the task to start", 20, lambda: started.exists() or None)
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert stop_process(process, 30) == 0
        assert time.monotonic() - stopped_at < 3.5, "exits after the grace, not the task"
    finally:
        if process.poll() is None:
            stop_process(process, 0.1)
    assert f"shop.sleepy[{r.id}] handed back unfinished" in log.read_text()
    with running(app, q):
        assert r.get(timeout=30) == "slept"
    t = task(app, r.id)
    assert t.state == tasks_pb2.SUCCESS and t.attempts == 2


def test_a_second_ctrl_c_hands_back_at_once(
    app: qraft.Qraft, cluster: Cluster, tmp_path: Path
) -> None:
    q = unique_queue()
    log = tmp_path / "worker.log"
    process = started_worker(cluster, log, q, "--grace", "60", "--lease", "3")
    try:
        started = tmp_path / "started"
        r = shop.sleepy.apply_async((60,), {"started": str(started)}, queue=q)
        wait_for("the task to start", 20, lambda: started.exists() or None)
        process.send_signal(signal.SIGINT)
        wait_for("the first Ctrl-C", 10, lambda: "SIGINT: stopping" in log.read_text() or None)
        process.send_signal(signal.SIGINT)
        assert stop_process(process, 20) == 0
    finally:
        if process.poll() is None:
            stop_process(process, 0.1)
    assert "second Ctrl-C" in log.read_text()
    assert f"shop.sleepy[{r.id}] handed back unfinished" in log.read_text()
    # Handed back (or, on a node without Release, its 3 s lease runs out): ready again.
    wait_for(
        "the task to be ready again",
        20,
        lambda: task(app, r.id).state in (tasks_pb2.PENDING, tasks_pb2.RETRY) or None,
    )
    qraft.AsyncResult(r.id, app=app).revoke()


def test_stop_from_python_waits_for_running_tasks(app: qraft.Qraft) -> None:
    q = unique_queue()
    with running(app, q, concurrency=2) as worker:
        r = shop.sleepy.apply_async((1,), queue=q)
        # Running in the worker (a task leased while the stop is under way is handed back).
        wait_for("the task to run", 20, lambda: worker.active == 1 or None)
        worker.stop(grace=20)
        assert worker.active == 0
    assert task(app, r.id).state == tasks_pb2.SUCCESS


@pytest.mark.parametrize("second_ctrl_c", [False, True], ids=["sigterm", "second-ctrl-c"])
def test_a_worker_cut_off_from_its_cluster_stops_within_seconds(
    fresh_cluster: Cluster, tmp_path: Path, second_ctrl_c: bool
) -> None:
    """Every node gone while a task runs: the worker's last calls (release, answers, leave)
    give up together after SHUTDOWN_DEADLINE instead of each riding out the transport's 20 s of
    retries (about 45 s in all), and the task comes back when its lease runs out."""
    # SIGTERM: a grace shorter than the task. Ctrl-C: a long grace that the second one cuts.
    grace = 60.0 if second_ctrl_c else 1.0
    # Past the grace (or the second Ctrl-C): the deadline plus room for a slow machine, and
    # well under the ~45 s of the old shutdown.
    after_grace = SHUTDOWN_DEADLINE + 5.0
    q = unique_queue()
    log = tmp_path / "worker.log"
    with bound(shop.app, fresh_cluster) as app:
        # -c 2: a lease is on its way (and retrying) while the task runs, as in real life.
        process = started_worker(fresh_cluster, log, q, "--grace", str(grace), "--lease", "3")
        try:
            started = tmp_path / "started"
            r = shop.sleepy.apply_async((60,), {"started": str(started)}, queue=q)
            wait_for("the task to start", 20, lambda: started.exists() or None)
            for node_id in fresh_cluster.nodes:
                fresh_cluster.kill(node_id)
            if second_ctrl_c:
                process.send_signal(signal.SIGINT)
                wait_for(
                    "the first Ctrl-C", 10, lambda: "SIGINT: stopping" in log.read_text() or None
                )
                signalled = time.monotonic()
                process.send_signal(signal.SIGINT)
                limit = after_grace
            else:
                signalled = time.monotonic()
                process.send_signal(signal.SIGTERM)
                limit = grace + after_grace
            try:
                code = process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {limit} s after the signal:\n{log.read_text()}")
            took = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                stop_process(process, 0.1)
        text = log.read_text()
        assert code == 0, text
        print(f"exited {took:.1f} s after the {'second Ctrl-C' if second_ctrl_c else 'SIGTERM'}")
        assert f"shop.sleepy[{r.id}] handed back unfinished" in text
        assert "0 answer(s) and 1 release(s) not delivered" in text, text
        assert "runs those tasks again after their leases expire" in text
        assert "could not announce leaving" in text

        # Back up, the cluster gets the task back once the dead worker's 3 s lease runs out.
        for node_id in fresh_cluster.nodes:
            fresh_cluster.start(node_id)
        fresh_cluster.leader()
        wait_for(
            "the task to be ready again",
            30,
            lambda: task(app, r.id).state in (tasks_pb2.PENDING, tasks_pb2.RETRY) or None,
        )
        qraft.AsyncResult(r.id, app=app).revoke()
