"""What a running task knows about itself (``self.request`` of a ``bind=True`` task), and the
:class:`Retry` signal a task raises to be run again.

The worker sets the request in a context variable around each call, so it is right in threads,
in asyncio tasks and in the child processes of the process pool alike.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Request", "Retry", "current_request"]


@dataclass(frozen=True)
class Request:
    """The attempt being run: ``self.request`` inside a ``bind=True`` task.

    ``attempts`` counts every time the task was handed to a worker, this one included;
    ``retries`` the earlier attempts (as Celery's ``request.retries``). ``delivery`` is the
    lease's fencing token.
    """

    id: str
    name: str
    queue: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 1
    delivery: int = 1
    #: Cluster time (Unix ms) at which the lease runs out unless extended.
    deadline_ms: int = 0
    #: Hard time limit of this attempt in seconds, if the task has one.
    timeout: float | None = None
    #: Id of the worker process running it.
    hostname: str = ""

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


current_request: contextvars.ContextVar[Request | None] = contextvars.ContextVar(
    "qraft_request", default=None
)


class Retry(Exception):
    """Raised (by ``self.retry()``) to fail this attempt and run the task again.

    ``countdown`` is the pause before the next attempt in seconds (``None``: the task's retry
    policy decides); ``exc`` the cause, recorded as the attempt's error. When the task has no
    retry left, the attempt fails for good with that error.
    """

    def __init__(self, exc: BaseException | None = None, countdown: float | None = None) -> None:
        reason = f"{type(exc).__name__}: {exc}" if exc is not None else "retry requested"
        super().__init__(reason)
        self.exc = exc
        self.countdown = countdown
