"""``--pool asyncio``: every attempt on one event loop in its own thread. ``async def`` tasks
run as asyncio tasks (``concurrency`` of them at once); plain functions run in the loop's
default executor, a pool of ``concurrency`` threads.

Stopping an attempt (hard time limit, revoke, shutdown) cancels its coroutine; a plain function
in the executor cannot be stopped, so its result is dropped (as in the threads pool).

:class:`LoopRunner` is also the threads pool's home for ``async def`` tasks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable

from .execute import Executor
from .job import RUNNING, Job, Outcome

__all__ = ["AsyncioPool", "LoopRunner"]

log = logging.getLogger("qraft.worker")

Done = Callable[[Job, Outcome], None]


class LoopRunner:
    """An event loop on a thread of its own that runs jobs handed over from other threads."""

    def __init__(self, executor: Executor, concurrency: int, done: Done) -> None:
        self.executor = executor
        self.done = done
        self.concurrency = concurrency
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="qraft-asyncio", daemon=True)
        self._ready = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        # The default executor runs the plain functions of ``--pool asyncio``: one thread per
        # slot, so a blocking task never waits for a thread.
        self.loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(
                max_workers=self.concurrency, thread_name_prefix="qraft-task"
            )
        )
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def submit(self, jobs: list[Job]) -> None:
        # One wake-up of the loop per batch of jobs, not one per job.
        self.loop.call_soon_threadsafe(self._start_all, jobs)

    def _start_all(self, jobs: list[Job]) -> None:
        create = self.loop.create_task
        for job in jobs:
            if job.state == RUNNING:
                job.handle = create(self._attempt(job))

    async def _attempt(self, job: Job) -> None:
        try:
            if self.executor.is_coroutine(job.name):
                outcome = await self.executor.run_async(job)
            else:
                outcome = await self.loop.run_in_executor(None, self.executor.run_sync, job)
        except asyncio.CancelledError:
            if job.state != RUNNING:
                return  # stopped by the worker, which has answered for it (or not)
            outcome = Outcome.failure("CancelledError: the task was cancelled")
        except BaseException as e:  # noqa: BLE001 - the loop must outlive any task
            outcome = Outcome.failure(f"{type(e).__name__}: {e}")
        self.done(job, outcome)

    def stop_attempt(self, job: Job) -> None:
        self.loop.call_soon_threadsafe(self._cancel, job)

    @staticmethod
    def _cancel(job: Job) -> None:
        handle = job.handle
        if isinstance(handle, asyncio.Task) and not handle.done():
            handle.cancel()

    def close(self) -> None:
        if self.loop.is_closed():
            return

        async def finish() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Plain functions still running in the executor are not waited for: loop.close()
            # shuts the executor down without joining its threads.
            self.loop.stop()

        try:
            asyncio.run_coroutine_threadsafe(finish(), self.loop)
        except RuntimeError:
            return
        self._thread.join(2.0)


class AsyncioPool:
    """Every attempt on one :class:`LoopRunner`."""

    def __init__(self, executor: Executor, concurrency: int, done: Done) -> None:
        self._runner = LoopRunner(executor, concurrency, done)

    def start(self) -> None:
        self._runner.start()

    def submit(self, jobs: list[Job]) -> None:
        self._runner.submit(jobs)

    def stop_attempt(self, job: Job) -> None:
        self._runner.stop_attempt(job)

    def drain(self) -> None:
        """The worker is stopping (nothing to prepare)."""

    def close(self) -> None:
        self._runner.close()
