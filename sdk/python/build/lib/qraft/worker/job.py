"""One leased attempt (:class:`Job`) and how it ended (:class:`Outcome`).

Both are small ``__slots__`` classes: a busy worker makes thousands a second.
"""

from __future__ import annotations

import time
from typing import Any

from .._context import Request

__all__ = ["Job", "Outcome", "SUCCESS", "RETRY", "FAILURE"]

#: Outcome kinds: an ack; a fail the retry policy may retry; a fail for good.
SUCCESS = 0
RETRY = 1
FAILURE = 2

# Job states: running; ended with an answer queued; stopped without an answer (revoked, lease
# lost, hard time limit, shutdown) so whatever the attempt still produces is dropped.
RUNNING = 0
FINISHED = 1
ABANDONED = 2


class Outcome:
    """How an attempt ended: ``kind`` is SUCCESS (``result`` holds the encoded return value),
    RETRY or FAILURE (``error`` holds the text recorded on the task). ``retry_in_ms`` is the
    countdown of a ``self.retry(countdown=...)``; ``note`` the short text of the log line."""

    __slots__ = ("kind", "result", "error", "retry_in_ms", "note")

    def __init__(
        self,
        kind: int,
        result: bytes = b"",
        error: str = "",
        retry_in_ms: int | None = None,
        note: str = "",
    ) -> None:
        self.kind = kind
        self.result = result
        self.error = error
        self.retry_in_ms = retry_in_ms
        self.note = note

    @classmethod
    def failure(cls, error: str, note: str | None = None) -> Outcome:
        return cls(FAILURE, error=error, note=note if note is not None else error)

    def to_tuple(self) -> tuple[int, bytes, str, int | None, str]:
        """For the pipe between the process pool and its children."""
        return (self.kind, self.result, self.error, self.retry_in_ms, self.note)

    @classmethod
    def from_tuple(cls, value: tuple[int, bytes, str, int | None, str]) -> Outcome:
        return cls(*value)


class Job:
    """A task this worker leased and is running (or about to)."""

    __slots__ = (
        "id",
        "delivery",
        "name",
        "queue",
        "payload",
        "headers",
        "timeout",
        "attempts",
        "deadline_ms",
        "started",
        "limit_at",
        "next_extend",
        "state",
        "handle",
    )

    def __init__(self, leased: Any, lease: float) -> None:
        self.id: str = leased.id
        self.delivery: int = leased.delivery
        self.name: str = leased.name
        self.queue: str = leased.queue
        self.payload: bytes = leased.args
        self.headers: dict[str, str] = dict(leased.headers) if leased.headers else {}
        self.timeout: float | None = leased.timeout_ms / 1000 if leased.timeout_ms else None
        self.attempts: int = leased.attempts
        self.deadline_ms: int = leased.deadline_ms
        self.started = time.monotonic()
        #: When the hard time limit strikes (monotonic), if the task has one.
        self.limit_at: float | None = (
            self.started + self.timeout if self.timeout is not None else None
        )
        # The node leases a task with a timeout for timeout + 5 s, others for ``lease``;
        # extending every third of that keeps two thirds in hand against a slow node.
        length = self.timeout + 5.0 if self.timeout is not None else lease
        self.next_extend = self.started + length / 3
        self.state = RUNNING
        #: What the pool needs to stop this attempt (a future, a thread, a child process).
        self.handle: Any = None

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Job:
        """The job a child of the process pool was sent (the inverse of :meth:`fields`)."""
        job = cls.__new__(cls)
        for name, value in fields.items():
            setattr(job, name, value)
        job.started = time.monotonic()
        job.limit_at = None
        job.next_extend = 0.0
        job.state = RUNNING
        job.handle = None
        return job

    def request(self, args: list[Any], kwargs: dict[str, Any], hostname: str) -> Request:
        return Request(
            id=self.id,
            name=self.name,
            queue=self.queue,
            args=args,
            kwargs=kwargs,
            headers=self.headers,
            attempts=self.attempts,
            delivery=self.delivery,
            deadline_ms=self.deadline_ms,
            timeout=self.timeout,
            hostname=hostname,
        )

    def fields(self) -> dict[str, Any]:
        """What a child of the process pool needs to run the attempt (picklable)."""
        return {
            "id": self.id,
            "delivery": self.delivery,
            "name": self.name,
            "queue": self.queue,
            "payload": self.payload,
            "headers": self.headers,
            "timeout": self.timeout,
            "attempts": self.attempts,
            "deadline_ms": self.deadline_ms,
        }

    def __repr__(self) -> str:
        return f"Job({self.name}[{self.id}] delivery={self.delivery})"
