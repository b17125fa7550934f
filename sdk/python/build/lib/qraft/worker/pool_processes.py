"""``--pool processes``: ``concurrency`` child processes, each running one task at a time, for
CPU-bound tasks and for tasks that must really stop at their hard time limit.

Children are started with multiprocessing's ``spawn`` context (a fresh interpreter: forking a
process that has grpc threads is unsafe) and import the app by the same ``-A`` spec. For each
child a driver thread in the worker sends it a job's fields over a pipe and waits for the
outcome. To stop an attempt (hard time limit, revoke, shutdown) the worker kills the child, as
Celery's prefork pool does; the driver then starts a new one. A child that dies on its own
(a crash, ``os._exit``) fails its attempt for good, saying so.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from . import _child
from .job import RUNNING, Job, Outcome
from .loader import LoadError

__all__ = ["ProcessPool"]

log = logging.getLogger("qraft.worker")

Done = Callable[[Job, Outcome], None]

#: How long a child may take to start and import the app.
START_LIMIT = 60.0


class _Child:
    """One child process and its end of the pipe."""

    def __init__(self, context: Any, spec: str, hostname: str, loglevel: int, number: int) -> None:
        self.conn, child_conn = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_child.main,
            args=(spec, child_conn, hostname, loglevel),
            name=f"qraft-child-{number}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()

    def ready(self, limit: float) -> None:
        """Waits for the child's hello; raises :class:`LoadError` if it could not load the app."""
        if not self.conn.poll(limit):
            self.kill()
            raise LoadError(f"a worker process did not start within {limit:g} s")
        try:
            kind, detail = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(1.0)
            raise LoadError(
                f"a worker process exited while starting (exit code {self.process.exitcode})"
            ) from None
        if kind != "ready":
            self.process.join(1.0)
            raise LoadError(str(detail))

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5.0)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(2.0)
        if self.process.is_alive():
            self.kill()
        self.conn.close()


class _Driver:
    """A thread that feeds one child, and starts a new child when the old one dies."""

    def __init__(self, pool: ProcessPool, child: _Child, number: int) -> None:
        self.pool = pool
        self.child = child
        self.number = number
        self.lock = threading.Lock()
        self.current: Job | None = None
        self.thread = threading.Thread(
            target=self._loop, name=f"qraft-driver-{number}", daemon=True
        )

    def _loop(self) -> None:
        get = self.pool.queue.get
        done = self.pool.done
        while True:
            job = get()
            if job is None:
                self.child.stop()
                return
            with self.lock:
                if job.state != RUNNING:
                    continue
                self.current = job
                job.handle = self
            outcome = self._run(job)
            with self.lock:
                self.current = None
            if outcome is not None:
                done(job, outcome)

    def _run(self, job: Job) -> Outcome | None:
        try:
            self.child.conn.send(job.fields())
            return Outcome.from_tuple(self.child.conn.recv())
        except (EOFError, OSError, ValueError):
            pass
        # The child died: killed by the worker (the job is no longer RUNNING), or on its own.
        self.child.process.join(5.0)
        code = self.child.process.exitcode
        outcome = None
        if job.state == RUNNING:
            outcome = Outcome.failure(
                f"the worker process running the task exited unexpectedly (exit code {code})"
            )
        self._replace()
        return outcome

    def _replace(self) -> None:
        self.child.conn.close()
        pause = 0.1
        while not self.pool.closing:
            try:
                child = self.pool.new_child(self.number)
                child.ready(START_LIMIT)
                self.child = child
                return
            except LoadError as e:
                log.error("could not start a new worker process: %s; trying again", e)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def kill_if_running(self, job: Job) -> None:
        with self.lock:
            if self.current is job:
                self.child.kill()


class ProcessPool:
    """``concurrency`` children started by ``spawn``, fed from one queue."""

    def __init__(
        self, spec: str, concurrency: int, done: Done, hostname: str, loglevel: int
    ) -> None:
        self.spec = spec
        self.concurrency = concurrency
        self.done = done
        self.hostname = hostname
        self.loglevel = loglevel
        self.queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.closing = False
        self._context = multiprocessing.get_context("spawn")
        self._drivers: list[_Driver] = []

    def new_child(self, number: int) -> _Child:
        return _Child(self._context, self.spec, self.hostname, self.loglevel, number)

    def start(self) -> None:
        """Starts every child (in parallel) and waits until each has loaded the app."""
        children = [self.new_child(n) for n in range(1, self.concurrency + 1)]
        try:
            for child in children:
                child.ready(START_LIMIT)
        except LoadError:
            for child in children:
                child.kill()
            raise
        for number, child in enumerate(children, 1):
            driver = _Driver(self, child, number)
            self._drivers.append(driver)
            driver.thread.start()

    def submit(self, jobs: list[Job]) -> None:
        for job in jobs:
            self.queue.put(job)

    def stop_attempt(self, job: Job) -> None:
        driver = job.handle
        if isinstance(driver, _Driver):
            driver.kill_if_running(job)

    def drain(self) -> None:
        """The worker is stopping: children killed from now on are not replaced."""
        self.closing = True

    def close(self) -> None:
        self.closing = True
        for _ in self._drivers:
            self.queue.put(None)
        for driver in self._drivers:
            driver.thread.join(5.0)
            if driver.thread.is_alive():
                driver.child.kill()
