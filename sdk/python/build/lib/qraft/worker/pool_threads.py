"""``--pool threads`` (the default): plain functions on a fixed set of threads, ``async def``
functions on one event-loop thread (:class:`~qraft.worker.pool_asyncio.LoopRunner`), so both
kinds run in one worker.

A thread cannot be killed. When an attempt must stop (hard time limit, revoke, shutdown) the
worker answers for it (or not) at once and the pool **abandons** the thread: it starts a
replacement so the pool keeps its size, and the old thread ends when the function returns;
whatever it returns is dropped. Long CPU-bound tasks that must really be stopped belong in
``--pool processes``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from .execute import Executor
from .job import RUNNING, Job, Outcome
from .pool_asyncio import LoopRunner

__all__ = ["ThreadPool"]

log = logging.getLogger("qraft.worker")

Done = Callable[[Job, Outcome], None]


class _Runner:
    """One pool thread, running one job at a time from the shared queue."""

    __slots__ = ("pool", "lock", "current", "retired", "thread")

    def __init__(self, pool: ThreadPool, number: int) -> None:
        self.pool = pool
        self.lock = threading.Lock()
        self.current: Job | None = None
        #: Abandoned mid-task: end once the function returns (a replacement took this place).
        self.retired = False
        self.thread = threading.Thread(
            target=self._loop, name=f"qraft-task-{number}", daemon=True
        )

    def _loop(self) -> None:
        get = self.pool.queue.get
        run = self.pool.executor.run_sync
        done = self.pool.done
        lock = self.lock
        while True:
            job = get()
            if job is None:
                return
            if job.state != RUNNING:  # stopped before it started
                continue
            with lock:
                self.current = job
                job.handle = self
            try:
                outcome = run(job)
            except BaseException as e:  # noqa: BLE001 - run_sync only re-raises what it must not eat
                outcome = Outcome.failure(f"{type(e).__name__}: {e}")
            with lock:
                self.current = None
                retired = self.retired
            done(job, outcome)
            if retired:
                return

    def abandon(self, job: Job) -> bool:
        """Leaves ``job`` to run out on this thread; True if this thread was running it."""
        with self.lock:
            if self.current is not job or self.retired:
                return False
            self.retired = True
            return True


class ThreadPool:
    """``concurrency`` threads for plain functions, plus an event loop for coroutines."""

    def __init__(self, executor: Executor, concurrency: int, done: Done) -> None:
        self.executor = executor
        self.concurrency = concurrency
        self.done = done
        self.queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._runners: list[_Runner] = []
        self._lock = threading.Lock()
        self._started = 0
        self._loop: LoopRunner | None = None

    def start(self) -> None:
        for _ in range(self.concurrency):
            self._spawn()
        if any(self.executor.is_coroutine(name) for name in self.executor.tasks):
            self._loop = LoopRunner(self.executor, self.concurrency, self.done)
            self._loop.start()

    def _spawn(self) -> None:
        with self._lock:
            self._started += 1
            runner = _Runner(self, self._started)
            self._runners.append(runner)
        runner.thread.start()

    def submit(self, jobs: list[Job]) -> None:
        put = self.queue.put
        loop_jobs = []
        for job in jobs:
            if self._loop is not None and self.executor.is_coroutine(job.name):
                loop_jobs.append(job)
            else:
                put(job)
        if loop_jobs:
            assert self._loop is not None
            self._loop.submit(loop_jobs)

    def stop_attempt(self, job: Job) -> None:
        """Stops ``job``'s attempt as far as threads allow: a coroutine is cancelled; a
        function's thread is abandoned and replaced."""
        handle = job.handle
        if isinstance(handle, _Runner):
            if handle.abandon(job):
                with self._lock:
                    self._runners.remove(handle)
                log.debug("%s[%s] left to finish on its thread; a new thread takes its place",
                          job.name, job.id)
                self._spawn()
        elif self._loop is not None:
            self._loop.stop_attempt(job)

    def drain(self) -> None:
        """The worker is stopping (nothing to prepare: abandoned threads are still replaced)."""

    def close(self) -> None:
        with self._lock:
            runners = list(self._runners)
        for _ in runners:
            self.queue.put(None)
        for runner in runners:
            runner.thread.join(1.0)
        if self._loop is not None:
            self._loop.close()
