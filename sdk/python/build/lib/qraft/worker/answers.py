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
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from .. import errors
from .._transport import Kind, Transport
from ..v1 import worker_pb2
from .job import FAILURE, SUCCESS, Job, Outcome

__all__ = ["Answers", "MAX_BATCH"]

log = logging.getLogger("qraft.worker")

#: Most answers in one AnswerBatch call (the node's limit).
MAX_BATCH = 1000

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
    sends them. ``close(limit)`` sends what is queued (giving up after ``limit`` seconds) and
    stops the thread."""

    def __init__(self, transport: Transport, on_sent: Callable[[int], None] | None = None) -> None:
        self._transport = transport
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._on_sent = on_sent
        #: Set by close(): past it, a batch that cannot be delivered is given up on.
        self._give_up_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="qraft-answers", daemon=True)
        #: Answers taken by the cluster (for figures and tests).
        self.sent = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, job: Job, outcome: Outcome) -> None:
        self._queue.put((job, outcome))

    def release(self, job: Job) -> None:
        self._queue.put((job, None))

    def close(self, limit: float) -> bool:
        """Sends everything queued so far, then stops; False if ``limit`` ran out first."""
        self._give_up_at = time.monotonic() + limit
        self._queue.put(_STOP)
        self._thread.join(limit + 1.0)
        return not self._thread.is_alive()

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
                self._deliver(batch)
            except Exception:  # noqa: BLE001 - the answering thread must not die
                log.exception("could not send %d answer(s); their leases will run out", len(batch))
            if stop:
                return

    def _deliver(self, batch: list[_Item]) -> None:
        pause = 0.1
        while True:
            try:
                self._send_batch(batch)
                return
            except errors.Unavailable as e:
                # Unknown outcome, or no node reachable: send the same answers again (fenced).
                if self._give_up_at is not None and time.monotonic() >= self._give_up_at:
                    log.warning(
                        "gave up sending %d answer(s) (%s); their tasks run again when their "
                        "leases run out",
                        len(batch),
                        e,
                    )
                    return
                log.debug("answers not confirmed (%s); sending them again", e)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
            except errors.QraftError as e:
                log.error("the cluster refused %d answer(s): %s", len(batch), e)
                return

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
            "Worker", "AnswerBatch", worker_pb2.AnswerBatchRequest(answers=answers), kind=Kind.KEYED
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
