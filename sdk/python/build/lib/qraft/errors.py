"""The exceptions the SDK raises: one small hierarchy under :class:`QraftError`.

Catch :class:`QraftError` for anything the cluster or the SDK refused; the subclasses say what
to do next::

    try:
        send_mail.delay("ada@example.com").get(timeout=10)
    except qraft.TaskFailed as e:
        log.error("mail failed after %d attempt(s): %s", e.attempts, e.error)
    except qraft.TimeoutError:
        ...  # still running: ask again later with AsyncResult(id)
    except qraft.Unavailable:
        ...  # no quorum, or no node reachable: retry later
"""

from __future__ import annotations

import builtins

__all__ = [
    "QraftError",
    "Unavailable",
    "OutcomeUnknown",
    "PermissionDenied",
    "InvalidTask",
    "NotFound",
    "LimitExceeded",
    "TaskFailed",
    "TaskRevoked",
    "TaskExpired",
    "TimeoutError",
]


class QraftError(Exception):
    """Anything qraft refused or could not do. ``code`` is the gRPC status code name, if any;
    ``refusal`` the kind of a worker refusal (``stale-lease``: the lease is gone, drop the
    attempt; ``revoked``: the task was revoked, stop it), if it is one."""

    def __init__(self, message: str, *, code: str | None = None, refusal: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.refusal = refusal


class Unavailable(QraftError):
    """No node answered, or the cluster has no quorum right now. Safe to retry later."""


class OutcomeUnknown(Unavailable):
    """A write was sent but its answer was lost, and it cannot be resent safely.

    The SDK resends every write it can prove safe (tasks and flows always carry an idempotency
    key), so this is rare: it means the request may or may not have been applied.
    """


class PermissionDenied(QraftError):
    """The token is missing, unknown, or its role does not allow the call."""


class InvalidTask(QraftError, ValueError):
    """The request was refused as invalid: a bad name, option, or payload. Fix the call."""


class NotFound(QraftError, LookupError):
    """No such task, flow or schedule (it may have expired after its result TTL)."""


class LimitExceeded(QraftError):
    """A cluster limit refused the request (size, rate or capacity); it says which."""


class TaskFailed(QraftError):
    """The task failed for good (retries exhausted, or not retried).

    ``error`` is the remote error text (a Python task's traceback), ``attempts`` how many times
    it ran, ``task_id`` the task.
    """

    def __init__(self, task_id: str, error: str, attempts: int) -> None:
        super().__init__(f"task {task_id} failed after {attempts} attempt(s): {error}")
        self.task_id = task_id
        self.error = error
        self.attempts = attempts


class TaskRevoked(QraftError):
    """The task was revoked before it finished."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} was revoked")
        self.task_id = task_id


class TaskExpired(QraftError):
    """The task was not started before its ``expires`` time and will never run."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"task {task_id} expired before it started")
        self.task_id = task_id


class TimeoutError(QraftError, builtins.TimeoutError):
    """Waiting ran out before the task finished; the task itself goes on.

    Also a built-in :class:`TimeoutError`, so ``except TimeoutError`` catches it too.
    """
