"""Issue 17's "Done means": 2,000 ``.delay()`` calls from several threads while a
``qraft-worker`` process runs them, the leader killed (``kill -9``) in the middle and restarted
later; afterwards every task has exactly one SUCCESS with the right result.

Each run appends the task id to a file, so executions can be counted too: a task may run twice
only when its first lease was lost in the failover (then it was handed out again, so its
``attempts`` says so), and it still ends SUCCESS once, with the right value.
"""

from __future__ import annotations

import collections
import signal
import threading
from pathlib import Path

from apps import shop
from cluster import Cluster, wait_for
from worker_support import bound, stop_process, worker_process

import qraft
from qraft._transport import Kind
from qraft.v1 import tasks_pb2

TASKS = 2000
THREADS = 8


def test_a_leader_kill_during_submits_and_a_worker_run_loses_and_doubles_nothing(
    fresh_cluster: Cluster, tmp_path: Path
) -> None:
    with bound(shop.app, fresh_cluster) as app:
        run_failover(app, fresh_cluster, tmp_path)


def run_failover(app: qraft.Qraft, fresh_cluster: Cluster, tmp_path: Path) -> None:
    q = shop.record.queue
    runs = tmp_path / "runs"
    log = tmp_path / "worker.log"
    # No -Q: the worker takes the queues of the app's tasks. A short lease, so a lease lost
    # with the old leader comes back soon.
    process = worker_process(
        fresh_cluster, "-A", "apps.shop:app", "-c", "16", "--lease", "5",
        "--loglevel", "WARNING", log=log,
    )
    submitted: dict[int, str] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def submit(part: int) -> None:
        try:
            for value in range(part, TASKS, THREADS):
                r = shop.record.delay(str(runs), value)
                with lock:
                    submitted[value] = r.id
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    try:
        threads = [threading.Thread(target=submit, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        wait_for("a third of the submits", 60, lambda: len(submitted) >= TASKS // 3 or None)
        leader = fresh_cluster.leader()
        done_before = runs.read_text().count("\n") if runs.exists() else 0
        fresh_cluster.kill(leader)
        wait_for("two thirds of the submits", 90, lambda: len(submitted) >= 2 * TASKS // 3 or None)
        fresh_cluster.start(leader)
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        assert len(submitted) == TASKS and len(set(submitted.values())) == TASKS

        def finished() -> list[tasks_pb2.Task] | None:
            listed = app.transport.call(
                "Tasks", "ListTasks",
                tasks_pb2.ListTasksRequest(queue=q, limit=10_000, linearizable=True),
                kind=Kind.READ,
            )
            done = [t for t in listed.tasks if t.state == tasks_pb2.SUCCESS]
            return listed.tasks if len(done) == TASKS else None

        tasks = {t.id: t for t in wait_for("every task to succeed", 120, finished)}
        process.send_signal(signal.SIGTERM)
        assert stop_process(process, 60) == 0
    finally:
        if process.poll() is None:
            stop_process(process, 0.1)

    # Exactly one task per submit, each SUCCESS with its own right result.
    assert set(tasks) == set(submitted.values())
    for value, task_id in submitted.items():
        t = tasks[task_id]
        assert t.state == tasks_pb2.SUCCESS and t.result == str(value * 2).encode(), (value, t)
    # Every task ran; a second run only where a lease was lost and the task handed out again.
    executions = collections.Counter(runs.read_text().split())
    assert set(executions) == set(submitted.values())
    for task_id, count in executions.items():
        assert count <= tasks[task_id].attempts, (task_id, count, tasks[task_id].attempts)
    print(
        f"leader {leader} killed after {done_before} executions; "
        f"{TASKS} tasks, {sum(executions.values())} executions, "
        f"{sum(1 for c in executions.values() if c > 1)} re-run after a lost lease"
    )
