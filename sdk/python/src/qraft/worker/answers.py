"""The worker's answers (acks, fails and releases), sent by one thread in batches.

Everything that finished while the previous batch was on its way goes out in the next
``AnswerBatch`` (at most 1000 answers, one call, one log entry on the cluster), so a burst of
short tasks costs a few calls, not one each. Each answer is taken or refused on its own:

- ``STALE_LEASE`` / ``REVOKED``: the attempt no longer counts (its lease ran out and the task
  went on, or it was revoked); the answer is dropped.
- ``NOT_FOUND``: the task is gone (its result TTL ran out); dropped with a warning.
- ``INVALID``: the answer itself was refused, e.g. a result over the node's payload limit; the
  task is failed for good with a failure that says so (a retry would only do it again).

A batch whose outcome is unknown (the connection broke) is sent again: answers are fenced by
their delivery number, so a resend of one that was applied is refused as stale, which means it
is done.

``close(deadline)`` sends what is left until ``deadline`` and no longer: an answer the cluster
never got is not lost work, its task's lease runs out and the cluster runs it again.

``unconfirmed()`` lists the tasks whose answers the cluster may not have yet: the worker still
holds them, and says so when a lease recovers what a lost lease answer brought.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable

from .. import errors
from .._transport import Kind, Transport
from ..v1 import worker_pb2
from .job import FAILURE, SUCCESS, Job, Outcome

__all__ = ["Answers", "MAX_BATCH"]

log = logging.getLogger("qraft.worker")

#: Most answers in one AnswerBatch call (the node's limit).
MAX_BATCH = 1000

#: Seconds close() waits past its deadline for the thread, whose last call ends there.
_CLOSE_SLACK = 0.5

_STOP = object()
_Item = tuple[Job, "Outcome | None"]  # None: hand the task back (release)

_TAKEN = worker_pb2.ANSWER_TAKEN
_STALE = worker_pb2.ANSWER_STALE_LEASE
_REVOKED = worker_pb2.ANSWER_REVOKED
_NOT_FOUND = worker_pb2.ANSWER_NOT_FOUND
_INVALID = worker_pb2.ANSWER_INVALID
_HAND_BACK = worker_pb2.HandBack()


class Answers:
    """``put(job, outcome)`` an attempt's end, ``release(job)`` to hand a task back; a thread
    sends them. ``close(deadline)`` sends what is queued (giving up at ``deadline``) and stops
    the thread."""

    def __init__(self, transport: Transport, on_sent: Callable[[int], None] | None = None) -> None:
        self._transport = transport
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._on_sent = on_sent
        #: Set by set_deadline() or close() (a ``time.monotonic()`` instant): no call runs past
        #: it, and a batch that cannot be delivered by then is given up on.
        self._give_up_at: float | None = None
        #: Answers and releases queued, on their way, or given up on at close()'s deadline.
        self._lock = threading.Lock()
        self._unsent_answers = 0
        self._unsent_releases = 0
        #: Task id -> answers and releases for it queued or on their way (two attempts of one
        #: task may both have one); an id leaves once its batch is delivered or given up on.
        self._unconfirmed: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name="qraft-answers", daemon=True)
        #: Answers taken by the cluster (for figures and tests).
        self.sent = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, job: Job, outcome: Outcome) -> None:
        with self._lock:
            self._unsent_answers += 1
            self._unconfirmed[job.id] += 1
        self._queue.put((job, outcome))

    def release(self, job: Job) -> None:
        with self._lock:
            self._unsent_releases += 1
            self._unconfirmed[job.id] += 1
        self._queue.put((job, None))

    def unconfirmed(self) -> list[str]:
        """The ids of the tasks whose answers or releases are queued or on their way: the
        cluster may not have them yet, so this worker still holds those tasks."""
        with self._lock:
            return list(self._unconfirmed)

    def set_deadline(self, deadline: float) -> None:
        """From now on no call runs past ``deadline`` (a ``time.monotonic()`` instant), and a
        batch not delivered by then is given up on (a stopping worker's last answers)."""
        self._give_up_at = deadline

    def close(self, deadline: float) -> tuple[int, int]:
        """Sends everything queued so far, giving up at ``deadline`` (a ``time.monotonic()``
        instant), then stops; returns how many answers and releases the cluster did not get
        (``(0, 0)``: it got everything)."""
        self.set_deadline(deadline)
        self._queue.put(_STOP)
        # A little past the deadline: the thread needs a moment to see its last call give up.
        self._thread.join(max(deadline - time.monotonic(), 0.0) + _CLOSE_SLACK)
        with self._lock:
            return self._unsent_answers, self._unsent_releases

    def _run(self) -> None:
        get = self._queue.get
        get_nowait = self._queue.get_nowait
        while True:
            item = get()
            if item is _STOP:
                return
            batch: list[_Item] = [item]  # type: ignore[list-item]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            try:
                done = self._deliver(batch)
            except Exception:  # noqa: BLE001 - the answering thread must not die
                log.exception("could not send %d answer(s); their leases will run out", len(batch))
                done = True
            self._settle(batch, done)
            if stop:
                return

    def _settle(self, batch: list[_Item], delivered: bool) -> None:
        """Forgets ``batch``'s task ids; counts it as sent unless it was given up on."""
        unconfirmed = self._unconfirmed
        with self._lock:
            for job, _ in batch:
                unconfirmed[job.id] -= 1
                if not unconfirmed[job.id]:
                    del unconfirmed[job.id]
            if delivered:
                releases = sum(1 for _, outcome in batch if outcome is None)
                self._unsent_answers -= len(batch) - releases
                self._unsent_releases -= releases

    def _deliver(self, batch: list[_Item]) -> bool:
        """Sends ``batch`` until the cluster answers it (True; a refusal is an answer too) or
        close()'s deadline comes (False: the batch stays counted as unsent)."""
        pause = 0.1
        while True:
            try:
                self._send_batch(batch)
                return True
            except errors.Unavailable as e:
                # Unknown outcome, or no node reachable: send the same answers again (fenced).
                give_up_at = self._give_up_at
                left = None if give_up_at is None else give_up_at - time.monotonic()
                if left is not None and left <= pause:
                    # close() says how many were given up on, and what becomes of them.
                    log.debug("gave up sending %d answer(s): %s", len(batch), e)
                    return False
                log.debug("answers not confirmed (%s); sending them again", e)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
            except errors.QraftError as e:
                log.error("the cluster refused %d answer(s): %s", len(batch), e)
                return True

    def _send_batch(self, batch: list[_Item]) -> None:
        answers = []
        Answer = worker_pb2.Answer
        for job, outcome in batch:
            if outcome is None:
                answers.append(Answer(id=job.id, delivery=job.delivery, release=_HAND_BACK))
            elif outcome.kind == SUCCESS:
                answers.append(Answer(id=job.id, delivery=job.delivery, result=outcome.result))
            else:
                answers.append(Answer(id=job.id, delivery=job.delivery, failure=_failure(outcome)))
        response = self._transport.call(
            "Worker", "AnswerBatch", worker_pb2.AnswerBatchRequest(answers=answers),
            kind=Kind.KEYED, deadline=self._give_up_at,
        )
        taken = 0
        for (job, outcome), result in zip(batch, response.results, strict=True):
            refusal = result.refusal
            if refusal == _TAKEN:
                taken += 1
            else:
                self._refused(job, outcome, refusal, result.message)
        self._count(taken)

    def _refused(self, job: Job, outcome: Outcome | None, refusal: int, message: str) -> None:
        what = "release" if outcome is None else "answer"
        if refusal in (_STALE, _REVOKED):
            log.info("%s[%s] %s dropped: %s", job.name, job.id, what, message)
        elif refusal == _NOT_FOUND:
            log.warning("%s[%s] %s refused, no such task: %s", job.name, job.id, what, message)
        elif outcome is not None and outcome.kind == SUCCESS:
            # The result was refused (too large, say): fail the task for good, saying why.
            log.warning("%s[%s] result refused: %s", job.name, job.id, message)
            self.put(job, Outcome.failure(f"the result could not be stored: {message}"))
        else:
            log.warning("%s[%s] %s refused: %s", job.name, job.id, what, message)

    def _count(self, taken: int) -> None:
        self.sent += taken
        if self._on_sent is not None and taken:
            self._on_sent(taken)


def _failure(outcome: Outcome) -> worker_pb2.Failure:
    return worker_pb2.Failure(
        error=outcome.error,
        no_retry=outcome.kind == FAILURE,
        retry_in_ms=outcome.retry_in_ms,
    )
