"""Helpers of the worker tests (test_worker*.py): binding the test app to a cluster, running a
worker in the test process or as a ``qraft-worker`` process, and reading tasks back."""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cluster import Cluster, wait_for

from qraft import Qraft
from qraft._config import Settings
from qraft._transport import Kind
from qraft.v1 import tasks_pb2
from qraft.worker import Worker

TESTS = Path(__file__).resolve().parent
_counter = itertools.count(1)


def unique_queue(prefix: str = "wq") -> str:
    """A queue of the test's own, so workers of other tests never take its tasks."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}-{int(time.time() * 1000) % 100_000}"


@contextmanager
def bound(app: Qraft, cluster: Cluster) -> Iterator[Qraft]:
    """Points ``app`` (a module-level app imported before the cluster existed) at ``cluster``
    for the block; ``QRAFT_CLUSTER`` too, for the child processes that import it again."""
    old_env = os.environ.get("QRAFT_CLUSTER")
    old_settings = app.settings
    os.environ["QRAFT_CLUSTER"] = cluster.addrs
    app.settings = Settings.resolve(cluster.addrs)
    app.close()
    try:
        yield app
    finally:
        app.close()
        app.settings = old_settings
        if old_env is None:
            os.environ.pop("QRAFT_CLUSTER", None)
        else:
            os.environ["QRAFT_CLUSTER"] = old_env


@contextmanager
def running(app: Qraft, queue: str, **options: Any) -> Iterator[Worker]:
    """A worker on ``queue`` in this process for the duration of the block."""
    options.setdefault("concurrency", 4)
    options.setdefault("grace", 5.0)
    worker = Worker(app, queues=[queue], **options)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop(timeout=30.0)


def task(app: Qraft, task_id: str) -> tasks_pb2.Task:
    """The task as the leader has it now."""
    answer = app.transport.call(
        "Tasks", "GetTask", tasks_pb2.GetTaskRequest(id=task_id, linearizable=True),
        kind=Kind.READ,
    )
    return answer.task


def wait_state(app: Qraft, task_id: str, state: int, limit: float = 20.0) -> tasks_pb2.Task:
    name = tasks_pb2.TaskState.Name(state)
    return wait_for(
        f"task {task_id} to be {name}",
        limit,
        lambda: (t if (t := task(app, task_id)).state == state else None),
    )


def submit_raw(app: Qraft, name: str, queue: str, args: bytes, **spec: Any) -> str:
    """Submits a task with exactly this payload (bypassing the SDK's encoding)."""
    answer = app.transport.call(
        "Tasks", "Submit",
        tasks_pb2.SubmitRequest(task=tasks_pb2.TaskSpec(name=name, queue=queue, args=args, **spec)),
        kind=Kind.WRITE,
    )
    return answer.id


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class LogCatcher(logging.Handler):
    """Keeps the ``qraft.worker`` log lines of a test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock2:
            self.lines.append(f"{record.levelname} {record.getMessage()}")

    def text(self) -> str:
        with self._lock2:
            return "\n".join(self.lines)


@contextmanager
def caught_logs(level: int = logging.INFO) -> Iterator[LogCatcher]:
    logger = logging.getLogger("qraft.worker")
    catcher = LogCatcher()
    old_level = logger.level
    logger.addHandler(catcher)
    logger.setLevel(level)
    try:
        yield catcher
    finally:
        logger.removeHandler(catcher)
        logger.setLevel(old_level)


def worker_process(
    cluster: Cluster, *args: str, module: bool = False, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``qraft-worker ARGS`` (or ``python -m qraft worker ARGS``) run from tests/, so that
    ``-A apps.shop:app`` imports the test app."""
    command = (
        [sys.executable, "-m", "qraft", "worker"]
        if module
        else [str(Path(sys.executable).parent / "qraft-worker")]
    )
    env = dict(os.environ, QRAFT_CLUSTER=cluster.addrs, PYTHONUNBUFFERED="1")
    out = open(log, "ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [*command, *args], cwd=TESTS, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT if log is not None else subprocess.DEVNULL,
        )
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]


def stop_process(process: subprocess.Popen[bytes], limit: float = 30.0) -> int:
    """Waits for ``process`` to exit (killing it past ``limit``); returns its exit code."""
    try:
        return process.wait(timeout=limit)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
