"""The worker: leases the app's tasks, runs them in a pool, answers in batches.

::

    from qraft.worker import Worker
    from shop.tasks import app

    Worker(app, queues=["mail", "default"], concurrency=16).run()   # until SIGTERM / Ctrl-C

    worker = Worker(app, concurrency=4).start()     # in a background thread (tests, embedding)
    ...
    worker.stop()

Threads, and what each owns:

- **leaser**: waits for free slots (:class:`~qraft.worker.slots.Slots`), leases that many
  tasks (``Lease`` with a long poll), and hands them to the pool. A lease whose answer was lost
  is not sent again: the next one (and the first after start-up) lists every task this worker
  holds and gets back the others leased to its id, so they need not wait for their leases to
  run out; a task that comes back while it runs here is left to its running attempt.
- the **pool** (threads, an event loop, or child processes) runs attempts and reports each
  outcome to :meth:`Worker._finished`, which frees the slot and queues the answer.
- **answers** (:class:`~qraft.worker.answers.Answers`): one ``AnswerBatch`` per round.
- **keeper**: heartbeats every 5 s and extends the leases of running tasks every third of
  their length; an extend refused as revoked stops the attempt.
- **clock**: stops attempts at their hard time limit.
- **revokes** (:class:`~qraft.worker.revokes.RevokeWatcher`): stops revoked attempts at once.

Shutdown (SIGTERM, the first Ctrl-C, :meth:`Worker.stop`): stop leasing, let running attempts
finish within ``grace`` seconds, hand the rest back (``Release``), send the last answers,
``Leave``; these last calls get :data:`SHUTDOWN_DEADLINE` seconds in all, so a worker cut off
from its cluster still exits promptly. A second Ctrl-C hands everything back at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from .. import errors
from .._config import Settings
from .._transport import Kind, Transport
from ..v1 import worker_pb2
from .answers import Answers
from .execute import Executor, time_limit_error
from .job import ABANDONED, FINISHED, RETRY, SUCCESS, Job, Outcome
from .loader import spec_of
from .registry import Registration
from .revokes import RevokeWatcher
from .slots import Slots

__all__ = ["Worker", "POOLS"]

log = logging.getLogger("qraft.worker")

POOLS = ("threads", "processes", "asyncio")

#: Seconds between heartbeats (the cluster drops a worker silent for 60 s).
HEARTBEAT = 5.0
#: Long poll of a lease: the node holds an empty lease this long (ms) until work appears, so a
#: stopping worker's last lease comes back well within SHUTDOWN_DEADLINE.
WAIT_MS = 500
#: Pause after an empty lease answered at once (a node without the long poll), doubling up to
#: the second figure while leases keep coming back empty.
EMPTY_PAUSE = 0.05
EMPTY_PAUSE_MAX = 0.5
#: Leasing threads, each with its share of the slots. One: measured on a 2-core machine that
#: also runs the nodes, a second leaser (two leases of 8 on their way instead of one of 16)
#: doubled the lease calls, and the nodes' latency with them: 740 tasks/s instead of 1,170.
LEASERS = 1
#: Seconds the end of a shutdown, after the grace period, may spend talking to the cluster:
#: the lease on its way, handing back what still runs, the last answers and ``Leave``, all
#: together. A reachable cluster needs milliseconds; an unreachable one would hold each call in
#: the transport's retries (``RetryPolicy.deadline``, 20 s) and the worker for most of a minute
#: after SIGTERM or Ctrl-C, which must stop a client at once. Nothing is lost by giving up:
#: the tasks whose answers or releases did not get through come back when their leases run
#: out, and the cluster runs them again (at least once, as for a worker that vanished).
SHUTDOWN_DEADLINE = 5.0
#: Seconds a revoke of a task not running here is remembered, in case its lease is on the way.
RECENT_REVOKE = 30.0
#: Most revokes remembered that way.
RECENT_REVOKE_CAP = 10_000

_REVOKED = "revoked while running: stopped, no answer sent"


class Worker:
    """Runs the tasks of ``app`` from ``queues`` (default: the queues its tasks use).

    ``concurrency`` attempts at once on ``pool`` (``"threads"``, ``"processes"`` or
    ``"asyncio"``). ``worker_id`` defaults to ``<hostname>:<pid>``. ``grace``: seconds running
    attempts get to finish on shutdown before they are handed back. ``lease``: lease length of
    tasks without a timeout (extended every third of it while they run). ``max_tasks``: stop
    after this many tasks (benchmarks, tests). ``settings`` overrides the app's connection
    settings; ``app_spec`` (``module:attribute``) is how the process pool's children import
    the app (looked up in ``sys.modules`` when not given).
    """

    def __init__(
        self,
        app: Any,
        queues: Iterable[str] | None = None,
        concurrency: int = 16,
        pool: str = "threads",
        worker_id: str | None = None,
        grace: float = 30.0,
        lease: float = 30.0,
        *,
        max_tasks: int | None = None,
        settings: Settings | None = None,
        app_spec: str | None = None,
    ) -> None:
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}: use one of {', '.join(POOLS)}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        if not 0.1 <= lease <= 86_400:
            raise ValueError(f"lease must be between 0.1 and 86400 seconds, not {lease}")
        if not app.tasks:
            raise ValueError(
                "the app has no tasks registered: decorate functions with @app.task first"
            )
        self.app = app
        self.names = sorted(app.tasks)
        if isinstance(queues, str):
            queues = [q.strip() for q in queues.split(",") if q.strip()]
        self.queues = list(queues) if queues else _default_queues(app)
        self.concurrency = concurrency
        self.pool_name = pool
        self.hostname = socket.gethostname()
        self.worker_id = worker_id or f"{self.hostname}:{os.getpid()}"
        self.grace = grace
        self.lease = lease
        self.max_tasks = max_tasks
        self.app_spec = app_spec
        self._settings = settings
        self._transport: Transport | None = None

        leasers = min(LEASERS, concurrency)
        self._leasers = leasers
        self._slots = Slots(concurrency, min(-(-concurrency // leasers), 1000), max_tasks)
        #: Task id -> when a revoke was seen for a task not (yet) running here.
        self._recent_revokes: dict[str, float] = {}
        self._revoke_lock = threading.Lock()
        #: Held while an attempt's slot is freed and its answer queued, and while a lease lists
        #: what this worker holds: so the list never misses a task between the two.
        self._handover = threading.Lock()
        self._stop_requested = threading.Event()
        self._release_now = threading.Event()
        self._closing = threading.Event()
        self._stopped = threading.Event()
        self._grace_override: float | None = None
        self._fatal: BaseException | None = None
        self._threads: list[threading.Thread] = []
        self._pool: Any = None
        self._answers: Answers | None = None
        self._registration: Registration | None = None
        self._revokes: RevokeWatcher | None = None
        #: Set once registered and leasing (``start()`` waits for it).
        self.ready = threading.Event()
        # Looked up at start-up: the per-task log line is skipped cheaply when INFO is off.
        self._info = False

    # -- public ----------------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            if self._settings is None:
                self._transport = self.app.transport
            else:
                self._transport = Transport(self._settings, self.app.retry_policy)
        return self._transport

    @property
    def active(self) -> int:
        """Attempts running right now."""
        return self._slots.active

    @property
    def processed(self) -> int:
        """Attempts answered for so far."""
        return self._slots.processed

    def run(self) -> None:
        """Runs until stopped (SIGTERM, Ctrl-C, :meth:`stop`, or ``max_tasks``). Installs
        signal handlers when called on the main thread. Raises what stopped it for good (an
        unreachable cluster, a refused token)."""
        handlers = self._install_signals() if _on_main_thread() else None
        try:
            self._startup()
            while not self._stop_requested.wait(0.5):
                if self._slots.leasing_done.is_set() and not self._slots.active:
                    break
            self._shutdown()
        except BaseException as e:
            self._fatal = self._fatal or e
            self._emergency_close()
        finally:
            if handlers is not None:
                for signum, handler in handlers.items():
                    signal.signal(signum, handler)
            self._stopped.set()
        if self._fatal is not None:
            raise self._fatal

    def start(self) -> Worker:
        """Runs the worker in a background thread; returns once it leases (raises what
        stopped it if it could not start)."""
        thread = threading.Thread(target=self._run_quietly, name="qraft-worker", daemon=True)
        thread.start()
        while not self.ready.wait(0.05):
            if self._stopped.is_set():
                if self._fatal is not None:
                    raise self._fatal
                break
        return self

    def stop(self, grace: float | None = None, timeout: float | None = None) -> None:
        """Stops as SIGTERM does (``grace`` overrides the worker's) and waits until it has
        (at most ``timeout`` seconds, by default the grace period and 30 s)."""
        if grace is not None:
            self._grace_override = grace
        self._stop_requested.set()
        self._slots.close()
        self._stopped.wait(timeout if timeout is not None else self._grace() + 30.0)

    def _run_quietly(self) -> None:
        try:
            self.run()
        except BaseException:  # noqa: BLE001 - kept in self._fatal for start() to raise
            pass

    # -- start-up ----------------------------------------------------------------------------

    def _startup(self) -> None:
        self._info = log.isEnabledFor(logging.INFO)
        # Children first: an app the process pool cannot import stops us before we register.
        self._pool = self._make_pool()
        self._pool.start()
        self._registration = Registration(
            self.transport,
            worker_pb2.RegisterRequest(
                worker_id=self.worker_id,
                node=self.hostname,
                queues=self.queues,
                concurrency=self.concurrency,
                names=self.names,
            ),
            lambda: self._slots.active,
        )
        log.info(
            "qraft-worker %s: registering with %s",
            self.worker_id,
            ", ".join(self.transport.settings.addrs),
        )
        self._registration.register()
        self._registration.follow_leader()
        self._answers = Answers(self.transport)
        self._answers.start()
        self._revokes = RevokeWatcher(self.transport, self._revoked, self.queues)
        self._revokes.start()
        self._spawn(self._keeper, "qraft-keeper")
        self._spawn(self._clock, "qraft-clock")
        for n in range(self._leasers):
            self._spawn(self._leaser, f"qraft-leaser-{n + 1}")
        self._registration.banner(self.pool_name)
        self._registration.warn_unhandled()
        self.ready.set()

    def _make_pool(self) -> Any:
        done = self._finished
        if self.pool_name == "processes":
            from .pool_processes import ProcessPool

            spec = self.app_spec or spec_of(self.app)
            if spec is None:
                raise ValueError(
                    "the process pool imports the app in each child: pass app_spec="
                    "'module:attribute' (the app must be a module-level attribute)"
                )
            level = log.getEffectiveLevel()
            return ProcessPool(spec, self.concurrency, done, self.worker_id, level)
        executor = Executor(self.app.tasks, self.worker_id)
        if self.pool_name == "asyncio":
            from .pool_asyncio import AsyncioPool

            return AsyncioPool(executor, self.concurrency, done)
        from .pool_threads import ThreadPool

        return ThreadPool(executor, self.concurrency, done)

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=self._guarded, args=(target,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _guarded(self, target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as e:  # noqa: BLE001 - a dead thread stops the worker, loudly
            if not self._closing.is_set():
                log.error("%s stopped: %s; stopping the worker", threading.current_thread().name, e)
                self._fatal = self._fatal or e
                self._stop_requested.set()
                self._slots.close()

    # -- leasing -----------------------------------------------------------------------------

    def _leaser(self) -> None:
        pause = 0.1
        empty_pause = EMPTY_PAUSE
        # The first lease also gets back what an earlier run under this worker id still held
        # (restarted before those leases ran out).
        recover = True
        while True:
            credit = self._slots.take()
            if credit == 0:
                return
            request = self._lease_request(credit, recover)
            started = time.monotonic()
            try:
                # WRITE, not KEYED: a resend would lease other tasks, stranding those of a lost
                # answer until their leases ran out; the next request recovers them instead.
                tasks = self.transport.call(
                    "Worker", "Lease", request, kind=Kind.WRITE, timeout=WAIT_MS / 1000 + 5.0
                ).tasks
                pause = 0.1
            except errors.Unavailable as e:
                # No quorum for a while, or the answer was lost (OutcomeUnknown): try again,
                # gently, asking for what a lost answer may have leased.
                self._slots.give(credit, [])
                recover = True
                log.warning("lease failed (%s); trying again in %.1fs", e, pause)
                self._closing.wait(pause)
                pause = min(pause * 2, 5.0)
                continue
            except BaseException:
                self._slots.give(credit, [])
                raise
            jobs = [Job(task, self.lease) for task in tasks]
            if recover:
                _extend_in_time(jobs)
                recover = False
            self._take_on(credit, jobs)
            if not jobs and time.monotonic() - started < WAIT_MS / 2000:
                # Answered empty at once: this node has no long poll (and proposes every
                # lease, empty or not); do not spin, and back off while the queue stays empty.
                self._stop_requested.wait(empty_pause)
                empty_pause = min(empty_pause * 2, EMPTY_PAUSE_MAX)
            else:
                empty_pause = EMPTY_PAUSE

    def _lease_request(self, credit: int, recover: bool) -> worker_pb2.LeaseRequest:
        """A lease of up to ``credit`` tasks. ``recover``: first the tasks leased to this
        worker id that it does not hold (what a lease answer that never arrived carried)."""
        return worker_pb2.LeaseRequest(
            worker_id=self.worker_id,
            queues=self.queues,
            names=self.names,
            max=credit,
            lease_ms=round(self.lease * 1000),
            wait_ms=WAIT_MS,
            recover=recover,
            held=self._held() if recover else (),
        )

    def _held(self) -> list[str]:
        """Every task this worker holds: running, or its answer not yet confirmed."""
        assert self._answers is not None
        with self._handover:
            return list({*self._slots.running_ids(), *self._answers.unconfirmed()})

    def _take_on(self, credit: int, jobs: list[Job]) -> None:
        """Runs what a lease brought, but for tasks already running here; hands it back when
        the worker is stopping."""
        assert self._answers is not None
        new, registered = self._slots.give(credit, jobs)
        if len(new) < len(jobs):
            log.debug("%d leased task(s) run here already: dropped", len(jobs) - len(new))
        if registered:
            self._stop_if_revoked(new)
            self._pool.submit(new)
            return
        # Leased as the worker stops: hand them straight back.
        for job in new:
            self._answers.release(job)

    # -- outcomes ----------------------------------------------------------------------------

    def _finished(self, job: Job, outcome: Outcome) -> None:
        """Called by the pool when an attempt ends: frees its slot and queues its answer."""
        if not self._end(job, FINISHED, outcome):
            return  # stopped already (revoked, timed out, handed back): drop it
        if self._info:
            _log_outcome(job, outcome)

    def _end(self, job: Job, state: int, outcome: Outcome | None) -> bool:
        """Ends ``job``'s attempt in ``state``, freeing its slot, and queues ``outcome`` as its
        answer (None: no answer); False when it had ended already. One step under
        ``_handover``, so that :meth:`_held` sees the task running or answered, never neither."""
        assert self._answers is not None
        with self._handover:
            if not self._slots.end(job, answered=outcome is not None, state=state):
                return False
            if outcome is not None:
                self._answers.put(job, outcome)
        return True

    def _stop_attempt(self, job: Job, why: str, outcome: Outcome | None) -> None:
        """Stops a running attempt without waiting for it: answers ``outcome`` for it (None:
        no answer), frees its slot, and has the pool kill or cancel it if it can."""
        if not self._end(job, ABANDONED, outcome):
            return
        log.info("%s[%s] %s", job.name, job.id, why)
        self._pool.stop_attempt(job)

    def _revoked(self, task_id: str) -> None:
        job = self._slots.running.get(task_id)
        if job is not None:
            self._stop_attempt(job, _REVOKED, None)
            return
        # The revoke may have overtaken the lease's answer on its way here: keep it a while.
        now = time.monotonic()
        with self._revoke_lock:
            recent = self._recent_revokes
            recent[task_id] = now
            # Oldest first (insertion order): drop the expired, and any past the cap.
            while recent:
                oldest, at = next(iter(recent.items()))
                if at >= now - RECENT_REVOKE and len(recent) <= RECENT_REVOKE_CAP:
                    break
                del recent[oldest]

    def _stop_if_revoked(self, jobs: list[Job]) -> None:
        if not self._recent_revokes:
            return
        with self._revoke_lock:
            revoked = [job for job in jobs if job.id in self._recent_revokes]
        for job in revoked:
            self._stop_attempt(job, _REVOKED, None)

    # -- keeping leases, heartbeats and time limits ------------------------------------------

    def _keeper(self) -> None:
        assert self._registration is not None
        tick = min(1.0, self.lease / 6)
        next_heartbeat = time.monotonic() + HEARTBEAT
        while not self._closing.wait(tick):
            now = time.monotonic()
            if now >= next_heartbeat:
                next_heartbeat = now + HEARTBEAT
                self._registration.heartbeat()
                self._registration.follow_leader()
            for job in self._slots.due_for_extend(now):
                self._extend(job)

    def _extend(self, job: Job) -> None:
        now = time.monotonic()
        # A task with a hard limit is leased for its limit + 5 s; others for ``lease``.
        length = self.lease if job.limit_at is None else max(job.limit_at - now, 0.0) + 5.0
        request = worker_pb2.ExtendRequest(
            id=job.id, delivery=job.delivery, lease_ms=max(100, round(length * 1000))
        )
        try:
            answer = self.transport.call("Worker", "Extend", request, kind=Kind.KEYED)
        except errors.QraftError as e:
            if e.refusal == "revoked":
                self._stop_attempt(job, _REVOKED, None)
                return
            if e.refusal is not None:
                self._stop_attempt(job, f"lease lost ({e.message}): attempt dropped", None)
                return
            # The next extend may get through: two thirds of the lease are still in hand.
            log.debug("%s[%s] extend failed: %s", job.name, job.id, e)
            job.next_extend = now + min(length / 6, 5.0)
            return
        job.deadline_ms = answer.deadline_ms
        job.next_extend = now + length / 3

    def _clock(self) -> None:
        """Stops attempts at their hard time limit."""
        while not self._closing.wait(0.05):
            for job in self._slots.past_limit(time.monotonic()):
                assert job.timeout is not None
                error = time_limit_error(job.timeout)
                self._stop_attempt(job, f"failed: {error}", Outcome.failure(error))

    # -- shutdown ----------------------------------------------------------------------------

    def _grace(self) -> float:
        return self._grace_override if self._grace_override is not None else self.grace

    def _install_signals(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}

        def on_signal(signum: int, frame: Any) -> None:
            if self._stop_requested.is_set():
                if signum == signal.SIGINT:
                    log.warning("second Ctrl-C: handing running tasks back now")
                    self._release_now.set()
                return
            log.info(
                "%s: stopping; running tasks have %gs to finish (Ctrl-C again to hand them "
                "back now)",
                signal.Signals(signum).name,
                self._grace(),
            )
            self._stop_requested.set()
            self._slots.close()

        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
        return previous

    def _shutdown(self) -> None:
        assert self._answers is not None and self._registration is not None
        self._stop_requested.set()
        self._slots.close()
        if self._slots.active:
            log.info("waiting up to %gs for %d running task(s)", self._grace(), self.active)
        rest = self._slots.wait_idle(self._grace(), self._release_now)
        # From here on the calls to the cluster share one short deadline (SHUTDOWN_DEADLINE).
        deadline = time.monotonic() + SHUTDOWN_DEADLINE
        self._answers.set_deadline(deadline)
        self._pool.drain()
        for job in rest:
            if self._slots.end(job, answered=False, state=ABANDONED):
                self._answers.release(job)
                log.info("%s[%s] handed back unfinished", job.name, job.id)
                self._pool.stop_attempt(job)
        # A lease on its way (since before the grace) comes back within its long poll; what it
        # brings is handed back.
        for thread in self._threads:
            if thread.name.startswith("qraft-leaser"):
                thread.join(_left(deadline))
        self._close_answers(deadline)
        self._closing.set()
        if self._revokes is not None:
            self._revokes.close()
        for thread in self._threads:
            thread.join(_left(deadline))
        self._registration.leave(deadline)
        self._pool.close()
        log.info("qraft-worker %s stopped after %d task(s)", self.worker_id, self.processed)

    def _close_answers(self, deadline: float) -> None:
        assert self._answers is not None
        answers, releases = self._answers.close(deadline)
        if answers or releases:
            log.warning(
                "%d answer(s) and %d release(s) not delivered to the cluster within %gs; it "
                "runs those tasks again after their leases expire",
                answers,
                releases,
                SHUTDOWN_DEADLINE,
            )

    def _emergency_close(self) -> None:
        """Start-up failed or something broke: stop every thread and child we started."""
        self._stop_requested.set()
        self._closing.set()
        self._slots.close()
        if self._revokes is not None:
            self._revokes.close()
        if self._answers is not None:
            self._close_answers(time.monotonic() + SHUTDOWN_DEADLINE)
        if self._pool is not None:
            try:
                self._pool.drain()
                self._pool.close()
            except Exception:  # noqa: BLE001
                log.debug("pool did not close cleanly", exc_info=True)


def _log_outcome(job: Job, outcome: Outcome) -> None:
    took = time.monotonic() - job.started
    if outcome.kind == SUCCESS:
        log.info("%s[%s] succeeded in %.3fs", job.name, job.id, took)
    elif outcome.kind == RETRY:
        log.info("%s[%s] %s (after %.3fs)", job.name, job.id, outcome.note, took)
    else:
        note = outcome.note or outcome.error
        log.info("%s[%s] %s (after %.3fs)", job.name, job.id, note, took)


def _extend_in_time(jobs: list[Job]) -> None:
    """Brings each job's first extend forward to a third of what is left of its lease: a task
    recovered from a lost lease answer comes with the lease's old deadline, part gone already.
    (A fresh lease, whole, keeps its time; the deadline is on the nodes' clock, so a clock
    ahead of theirs only makes a first extend come sooner.)"""
    now_ms = time.time() * 1000
    for job in jobs:
        left = max(job.deadline_ms - now_ms, 0.0) / 1000
        job.next_extend = min(job.next_extend, job.started + left / 3)


def _default_queues(app: Any) -> list[str]:
    queues = sorted({task.queue for task in app.tasks.values()})
    return queues or [getattr(app, "default_queue", "default")]


def _left(deadline: float) -> float:
    """Seconds until ``deadline`` (a ``time.monotonic()`` instant), never negative."""
    return max(deadline - time.monotonic(), 0.0)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
