"""Helpers of the producer tests (test_producer*, test_results*, test_canvas*, test_async*,
test_schedule*): an app on the shared cluster, queues no worker consumes, and reading a task
back as the cluster stores it."""

from __future__ import annotations

import itertools
import os
import time

from qraft import Qraft
from qraft._transport import Kind
from qraft.v1 import tasks_pb2

_counter = itertools.count(1)

#: The nodes' own worker pools consume "default" and run the builtin.* handlers there.
BUILTIN_QUEUE = "default"


def idle_queue(prefix: str = "idle") -> str:
    """A queue of the test's own that no worker consumes: its tasks stay PENDING."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}-{int(time.time() * 1000) % 100_000}"


def stored(app: Qraft, task_id: str) -> tasks_pb2.Task:
    """The task as the leader has it now (``Tasks.GetTask``, linearizable)."""
    answer = app.transport.call(
        "Tasks",
        "GetTask",
        tasks_pb2.GetTaskRequest(id=task_id, linearizable=True),
        kind=Kind.READ,
    )
    return answer.task


def now_ms() -> int:
    return int(time.time() * 1000)
