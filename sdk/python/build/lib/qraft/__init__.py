"""qraft: Celery-style tasks on a highly available, Raft-replicated task queue.

::

    from qraft import Qraft

    app = Qraft("shop", cluster="10.0.0.1:7071,10.0.0.2:7071")   # or QRAFT_CLUSTER

    @app.task(name="mail.send", queue="mail", max_retries=3)
    def send_mail(to, subject, body=""):
        ...

    r = send_mail.delay("ada@example.com", subject="hi")   # durable on a majority when it returns
    r.get(timeout=10)

Modules: :mod:`qraft.app` (the app and its registry), :mod:`qraft.task` (tasks and sending),
:mod:`qraft.result` (results), :mod:`qraft.canvas` (chain, group, chord), :mod:`qraft.schedules`
(periodic tasks), :mod:`qraft.errors` (the exceptions), ``qraft.worker`` (running tasks:
``qraft-worker -A module:app``). The argument encoding is documented in ``qraft._encoding``.
"""

from __future__ import annotations

from typing import Any

from ._context import Request, Retry
from ._transport import RetryPolicy
from .app import Qraft
from .canvas import Signature, chain, chord, group, signature
from .errors import (
    InvalidTask,
    LimitExceeded,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    QraftError,
    TaskExpired,
    TaskFailed,
    TaskRevoked,
    TimeoutError,
    Unavailable,
)
from .result import AsyncResult, FlowResult, GroupResult
from .schedules import Schedule
from .task import Task

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # `qraft.Worker` is loaded on first use, so a producer (a web app) never imports the worker
    # half: `from qraft.worker import Worker` is the same class.
    if name == "Worker":
        from .worker import Worker

        return Worker
    raise AttributeError(f"module 'qraft' has no attribute {name!r}")


__all__ = [
    "Qraft",
    "Task",
    "Worker",
    "AsyncResult",
    "FlowResult",
    "GroupResult",
    "Signature",
    "chain",
    "group",
    "chord",
    "signature",
    "Schedule",
    "Request",
    "Retry",
    "RetryPolicy",
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
    "__version__",
]
