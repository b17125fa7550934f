"""The worker's slots: which attempts run, and how many more tasks a lease may ask for.

Credit, never a prefetch: running attempts plus the tasks that leases on their way may bring
never exceed ``concurrency``. Each lease asks for at most ``share`` slots (with several leasing
threads, each its share, so that one lease is on its way while the tasks of another run).

Every change of an attempt's state goes through here, under one lock, so an attempt that is
finishing as it is revoked (or timed out, or handed back) is answered for exactly once.
"""

from __future__ import annotations

import threading
import time

from .job import ABANDONED, FINISHED, RUNNING, Job

__all__ = ["Slots", "BURST_WAIT"]

#: Seconds a lease waits for more slots to free up when only a few are free while tasks run:
#: short tasks end in bursts, and one lease for the burst beats a lease per slot.
BURST_WAIT = 0.002


class Slots:
    def __init__(self, concurrency: int, share: int, max_tasks: int | None) -> None:
        self.concurrency = concurrency
        self.share = share
        self.max_tasks = max_tasks
        self._cond = threading.Condition()
        #: Attempts in progress by task id. A task leased again after its old lease ran out
        #: replaces the old attempt, whose answers would be refused as stale anyway.
        self.running: dict[str, Job] = {}
        #: Slots promised to leases on their way.
        self._asked = 0
        self._leased = 0
        #: Attempts answered for (finished, or stopped with an answer).
        self.processed = 0
        self._closed = False
        #: Set once ``max_tasks`` tasks were leased: no more leases.
        self.leasing_done = threading.Event()

    @property
    def active(self) -> int:
        return len(self.running)

    def close(self) -> None:
        """No more credit for anyone (the worker is stopping); wakes every waiter."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _free(self) -> int:
        free = self.concurrency - len(self.running) - self._asked
        if self.max_tasks is not None:
            free = min(free, self.max_tasks - self._leased - self._asked)
        return min(free, self.share)

    def take(self) -> int:
        """Waits for free slots and promises them to one lease; 0 when leasing is over."""
        burst_until: float | None = None
        with self._cond:
            while True:
                if self._closed or self.leasing_done.is_set():
                    return 0
                if self.max_tasks is not None and self._leased >= self.max_tasks:
                    self.leasing_done.set()
                    self._cond.notify_all()
                    return 0
                free = self._free()
                if free <= 0:
                    burst_until = None
                    self._cond.wait(1.0)
                    continue
                if free >= self.share or not self.running:
                    break
                now = time.monotonic()
                if burst_until is None:
                    burst_until = now + BURST_WAIT
                if now >= burst_until:
                    break
                self._cond.wait(burst_until - now)
            self._asked += free
            return free

    def give(self, credit: int, jobs: list[Job]) -> tuple[list[Job], bool]:
        """Trades promised slots for the jobs a lease brought. Returns those new here, and
        whether they were registered to run (False: the worker is stopping, so they must be
        handed back). A job of an attempt already running here, the same delivery or a later
        one, is dropped from both: a recovering lease may bring again what a lost one did."""
        with self._cond:
            self._asked -= credit
            new = [job for job in jobs if not self._runs_already(job)]
            self._leased += len(new)
            self._cond.notify_all()
            if self._closed:
                for job in new:
                    job.state = ABANDONED
                return new, False
            running = self.running
            for job in new:
                old = running.get(job.id)
                if old is not None:
                    old.state = ABANDONED
                running[job.id] = job
            return new, True

    def _runs_already(self, job: Job) -> bool:
        """True when ``job``'s task runs here with this delivery or a later one (lock held)."""
        old = self.running.get(job.id)
        return old is not None and old.delivery >= job.delivery

    def running_ids(self) -> list[str]:
        """The ids of the tasks whose attempts run here (or wait in the pool to start)."""
        with self._cond:
            return list(self.running)

    def end(self, job: Job, answered: bool, state: int = FINISHED) -> bool:
        """Ends ``job``'s attempt (FINISHED, or ABANDONED when stopped early) and frees its
        slot; False when it had ended already (its outcome must be dropped)."""
        with self._cond:
            if job.state != RUNNING:
                return False
            job.state = state
            if self.running.get(job.id) is job:
                del self.running[job.id]
            if answered:
                self.processed += 1
            self._cond.notify_all()
            return True

    def due_for_extend(self, now: float) -> list[Job]:
        with self._cond:
            return [job for job in self.running.values() if job.next_extend <= now]

    def past_limit(self, now: float) -> list[Job]:
        """Running jobs past their hard time limit."""
        with self._cond:
            return [
                job
                for job in self.running.values()
                if job.limit_at is not None and job.limit_at <= now
            ]

    def wait_idle(self, limit: float, give_up: threading.Event) -> list[Job]:
        """Waits up to ``limit`` seconds (or until ``give_up`` is set) for every running
        attempt to end; returns those still running."""
        deadline = time.monotonic() + limit
        with self._cond:
            while self.running and not give_up.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
            return list(self.running.values())
