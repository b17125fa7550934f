"""Submits gathered into batches: many threads calling ``.delay()`` at once share
``SubmitBatch`` calls, so the cluster stores them with few log entries and fsyncs.

No call waits for a batch to fill: the first call is sent at once; calls that arrive while
batches are in flight (at most :data:`MAX_IN_FLIGHT`) wait in a queue and go together in the
next batch (at most :data:`MAX_BATCH` tasks). Under no load a ``.delay()`` is one ``Submit``
call; under load the batches grow by themselves. The calling threads do the sending: a caller
that finds a free slot sends the next batch, and when its batch is answered it hands the slot
to the first caller still queued, so no background thread runs ``.delay()`` calls.
``send_batch`` sends its full batches from a small thread pool, a few at a time.

The server refuses a whole batch when one of its tasks is invalid; the batch is then resent
without that task (or task by task), so only the bad call fails. Every task carries an
idempotency key, so a batch whose answer was lost is resent without making a second task.

:class:`Submitter` is the blocking one, :class:`AsyncSubmitter` the asyncio twin (one per
event loop); both share the batching rules below.
"""

from __future__ import annotations

import asyncio
import copy
import re
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import errors
from ._transport import AsyncTransport, Kind, Transport
from .v1 import tasks_pb2

__all__ = ["Submitter", "AsyncSubmitter", "MAX_BATCH", "MAX_IN_FLIGHT"]

#: Most tasks in one SubmitBatch (the server's limit).
MAX_BATCH = 1000
#: Most bytes of tasks in one SubmitBatch, well under the 64 MiB message limit.
MAX_BATCH_BYTES = 8 * 1024 * 1024
#: Batches in flight at once; more calls wait for one of them to finish. With N callers the
#: batches hold about N / MAX_IN_FLIGHT tasks, and every call costs the client about as much
#: CPU as a few dozen tasks (grpc), so fewer, fuller batches are cheaper; one alone would make a
#: caller that just missed a batch wait for two. Measured with 16 threads on 2 cores: 1, 2 and
#: 4 in flight gave 714, 628 and 598 tasks/s against a loaded debug build, 1720, 1991 and 2252
#: against a 5 ms server with CPU to spare.
MAX_IN_FLIGHT = 2
#: Full batches of one send_batch() in flight at once: each is a large log entry, and more at
#: once only queue up in the leader (1, 2 and 4 gave 6134, 4074 and 2578 tasks/s against a
#: loaded debug build; one alone leaves the client idle while the cluster answers).
CHUNKS_IN_FLIGHT = 2

_BAD_TASK = re.compile(r"task (\d+) of the batch: (.*)", re.S)


class _Pending:
    """One submit waiting for its answer."""

    __slots__ = ("spec", "size", "answer", "error", "done", "future", "wake", "signaled", "promoted")

    def __init__(self, spec: tasks_pb2.TaskSpec, future: asyncio.Future[Any] | None = None) -> None:
        self.spec = spec
        self.size = _size(spec)
        self.answer: tasks_pb2.SubmitResponse | None = None
        self.error: BaseException | None = None
        self.done = False
        self.future = future
        # Blocking callers only: a lock held until the caller is to wake (the cheapest wake-up
        # CPython has); ``signaled``: a wake-up is on its way (at most one at a time);
        # ``promoted``: the caller was handed a sending slot.
        self.wake: threading.Lock | None = None
        self.signaled = False
        self.promoted = False
        if future is None:
            self.wake = threading.Lock()
            self.wake.acquire()


def _signal(p: _Pending) -> None:
    """Wakes ``p``'s caller, unless a wake-up is already on its way (under the shared lock)."""
    if not p.signaled and p.wake is not None:
        p.signaled = True
        p.wake.release()


def _size(spec: tasks_pb2.TaskSpec) -> int:
    """About the encoded size of ``spec``, cheaply (ByteSize() costs a serialisation): its
    args and headers, and a bound on the rest."""
    size = len(spec.args) + 512
    if spec.headers:
        size += sum(len(k) + len(v) + 8 for k, v in spec.headers.items())
    return size


def _timeout(policy_timeout: float, tasks: int) -> float:
    """Seconds one SubmitBatch attempt may take: a big batch on a busy cluster takes longer,
    and an attempt cut short is resent, which only adds to the load."""
    return policy_timeout + 0.01 * tasks


def _take(queue: deque[_Pending]) -> list[_Pending]:
    """The next batch: up to MAX_BATCH tasks and MAX_BATCH_BYTES (at least one task)."""
    batch = [queue.popleft()]
    size = batch[0].size
    while queue and len(batch) < MAX_BATCH and size + queue[0].size <= MAX_BATCH_BYTES:
        item = queue.popleft()
        size += item.size
        batch.append(item)
    return batch


def _chunks(specs: Sequence[tasks_pb2.TaskSpec]) -> list[list[tasks_pb2.TaskSpec]]:
    """``specs`` cut into batches, by the same bounds as :func:`_take`."""
    chunks: list[list[tasks_pb2.TaskSpec]] = []
    chunk: list[tasks_pb2.TaskSpec] = []
    size = 0
    for spec in specs:
        n = _size(spec)
        if chunk and (len(chunk) >= MAX_BATCH or size + n > MAX_BATCH_BYTES):
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(spec)
        size += n
    if chunk:
        chunks.append(chunk)
    return chunks


def _bad_index(error: errors.QraftError, size: int) -> tuple[int, str] | None:
    """Which task of a refused batch the server named, and why."""
    match = _BAD_TASK.search(error.message)
    if match is None:
        return None
    index = int(match.group(1))
    return (index, match.group(2)) if 0 <= index < size else None


def _refused_whole(error: BaseException) -> bool:
    # Invalid (one bad task refuses the batch) or too large: worth resending in parts.
    return isinstance(error, (errors.InvalidTask, errors.LimitExceeded))


def _fresh(error: BaseException) -> BaseException:
    """A copy of a batch's error for each of its callers (each raises it in its own thread)."""
    try:
        return copy.copy(error)
    except Exception:  # noqa: BLE001 - an exception that does not copy: share it
        return error


class Submitter:
    """Blocking submits from any number of threads, coalesced into batches.

    All state changes under one lock; each waiting caller sleeps on a lock of its own and is
    woken only when its task is answered, or when it is handed a sending slot (a batch that
    ends passes its slot to the first caller still queued), so a finished batch wakes its own
    callers and at most one other.
    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._in_flight = 0
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, spec: tasks_pb2.TaskSpec) -> tasks_pb2.SubmitResponse:
        """Stores one task; returns the server's answer once it is durable on a majority."""
        p = _Pending(spec)
        batch: list[_Pending] | None = None
        with self._lock:
            self._queue.append(p)
            if self._in_flight < MAX_IN_FLIGHT:
                # A free slot: send now, with whatever queued before (nothing, when idle).
                self._in_flight += 1
                batch = _take(self._queue)
        while True:
            if batch is not None:
                try:
                    self._fill(batch)
                finally:
                    self._finish(batch)
                batch = None
            if p.done:
                break
            p.wake.acquire()
            with self._lock:
                p.signaled = False
                if p.promoted:
                    # Handed a slot: send the next batch (with this task in it, unless another
                    # sender took it meanwhile), or give the slot up when nothing is left.
                    p.promoted = False
                    if self._queue:
                        batch = _take(self._queue)
                    else:
                        self._in_flight -= 1
                elif p.done:
                    break
        if p.error is not None:
            raise p.error
        assert p.answer is not None
        return p.answer

    def _finish(self, batch: list[_Pending]) -> None:
        """Marks a sent batch answered, wakes its callers and passes the slot on."""
        with self._lock:
            for p in batch:
                if p.answer is None and p.error is None:
                    p.error = errors.QraftError("the submit was interrupted before an answer")
                p.done = True
                _signal(p)
            heir = next((q for q in self._queue if not q.promoted), None)
            if heir is not None:
                heir.promoted = True
                _signal(heir)
            else:
                self._in_flight -= 1

    def _fill(self, batch: list[_Pending]) -> None:
        """Sends ``batch`` and records each task's answer or error."""
        try:
            if len(batch) == 1:
                self._one(batch[0])
                return
            request = tasks_pb2.SubmitBatchRequest(tasks=[p.spec for p in batch])
            try:
                answer = self._transport.call(
                    "Tasks", "SubmitBatch", request, kind=Kind.KEYED,
                    timeout=_timeout(self._transport.policy.attempt_timeout, len(batch)),
                )
            except errors.QraftError as error:
                if not _refused_whole(error):
                    for p in batch:
                        p.error = _fresh(error)
                    return
                self._split(batch, error)
                return
            for p, result in zip(batch, answer.results):
                p.answer = result
        except BaseException as error:  # noqa: BLE001 - no caller may wait forever
            for p in batch:
                if p.answer is None and p.error is None:
                    p.error = _fresh(error)
            raise

    def _split(self, batch: list[_Pending], error: errors.QraftError) -> None:
        bad = _bad_index(error, len(batch)) if isinstance(error, errors.InvalidTask) else None
        if bad is None:
            for p in batch:
                self._one(p)
            return
        index, reason = bad
        batch[index].error = errors.InvalidTask(reason, code=error.code)
        rest = batch[:index] + batch[index + 1 :]
        if rest:
            self._fill(rest)

    def _one(self, p: _Pending) -> None:
        try:
            p.answer = self._transport.call(
                "Tasks", "Submit", tasks_pb2.SubmitRequest(task=p.spec), kind=Kind.KEYED
            )
        except errors.QraftError as error:
            p.error = error

    def submit_many(self, specs: Sequence[tasks_pb2.TaskSpec]) -> list[tasks_pb2.SubmitResponse]:
        """Stores many tasks in chunks of up to 1000, up to CHUNKS_IN_FLIGHT at a time;
        the answers in order. The first error is raised (earlier chunks stay stored)."""
        chunks = _chunks(specs)
        if len(chunks) <= 1:
            return [a for chunk in chunks for a in self._chunk(chunk)]
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(CHUNKS_IN_FLIGHT, thread_name_prefix="qraft-batch")
            executor = self._executor
        return [a for answers in executor.map(self._chunk, chunks) for a in answers]

    def _chunk(self, specs: list[tasks_pb2.TaskSpec]) -> list[tasks_pb2.SubmitResponse]:
        request = tasks_pb2.SubmitBatchRequest(tasks=specs)
        timeout = _timeout(self._transport.policy.attempt_timeout, len(specs))
        answer = self._transport.call("Tasks", "SubmitBatch", request, kind=Kind.KEYED, timeout=timeout)
        return list(answer.results)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)


class AsyncSubmitter:
    """The asyncio twin: submits from many coroutines of one event loop, coalesced."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport
        self._queue: deque[_Pending] = deque()
        self._in_flight = 0
        # Sender tasks, kept referenced until they end (asyncio holds tasks weakly).
        self._senders: set[asyncio.Task[None]] = set()

    async def submit(self, spec: tasks_pb2.TaskSpec) -> tasks_pb2.SubmitResponse:
        future: asyncio.Future[tasks_pb2.SubmitResponse] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(spec, future))
        if self._in_flight < MAX_IN_FLIGHT:
            self._in_flight += 1
            sender = asyncio.ensure_future(self._drain())
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = _take(self._queue)
                try:
                    await self._send(batch)
                finally:
                    for p in batch:
                        self._settle(p)
        finally:
            self._in_flight -= 1

    @staticmethod
    def _settle(p: _Pending) -> None:
        future = p.future
        if future is None or future.done():
            return  # the caller was cancelled
        if p.answer is not None:
            future.set_result(p.answer)
        else:
            future.set_exception(
                p.error or errors.QraftError("the submit was interrupted before an answer")
            )

    async def _send(self, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            await self._one(batch[0])
            return
        request = tasks_pb2.SubmitBatchRequest(tasks=[p.spec for p in batch])
        try:
            answer = await self._transport.call(
                "Tasks", "SubmitBatch", request, kind=Kind.KEYED,
                timeout=_timeout(self._transport.policy.attempt_timeout, len(batch)),
            )
        except errors.QraftError as error:
            if not _refused_whole(error):
                for p in batch:
                    p.error = error
                return
            bad = _bad_index(error, len(batch)) if isinstance(error, errors.InvalidTask) else None
            if bad is None:
                for p in batch:
                    await self._one(p)
                return
            index, reason = bad
            batch[index].error = errors.InvalidTask(reason, code=error.code)
            rest = batch[:index] + batch[index + 1 :]
            if rest:
                await self._send(rest)
            return
        for p, result in zip(batch, answer.results):
            p.answer = result

    async def _one(self, p: _Pending) -> None:
        try:
            p.answer = await self._transport.call(
                "Tasks", "Submit", tasks_pb2.SubmitRequest(task=p.spec), kind=Kind.KEYED
            )
        except errors.QraftError as error:
            p.error = error
