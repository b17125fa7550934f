"""Learning that a running task was revoked: a ``Tasks.WatchFinished`` stream, read by one
thread, reopened on the next node (with backoff) whenever it breaks.

The stream carries every task that reaches a final state; the worker looks only at the
REVOKED ones it is running. Revokes missed while the stream was down are still caught by the
next lease extend, which the node refuses as revoked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import grpc

from .._transport import Transport
from ..v1 import tasks_pb2

__all__ = ["RevokeWatcher"]

log = logging.getLogger("qraft.worker")

_REVOKED = tasks_pb2.REVOKED
# Statuses that will not change by asking again: watch no more, rely on extends.
_FINAL = {
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
}


class RevokeWatcher:
    """Calls ``on_revoked(task_id)`` for each task of ``queues`` revoked from now on (the
    callback ignores tasks this worker does not run)."""

    def __init__(
        self, transport: Transport, on_revoked: Callable[[str], None], queues: list[str]
    ) -> None:
        self._transport = transport
        self._on_revoked = on_revoked
        # The node filters by one queue at most: a worker of one queue hears only of its own.
        self._request = tasks_pb2.WatchFinishedRequest(queue=queues[0] if len(queues) == 1 else "")
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._call: Any = None
        self._thread = threading.Thread(target=self._run, name="qraft-revokes", daemon=True)
        #: Set once the first stream is open (tests wait on it before revoking).
        self.watching = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(2.0)

    def _run(self) -> None:
        pause = 0.1
        turn = 0
        while not self._closing.is_set():
            addrs = self._transport.book.addrs()
            addr = self._transport.book.leader() if turn == 0 else None
            addr = addr or addrs[turn % len(addrs)]
            turn += 1
            try:
                call = self._transport.stream("Tasks", "WatchFinished", self._request, addr=addr)
                with self._lock:
                    self._call = call
                if self._closing.is_set():
                    call.cancel()
                    return
                call.initial_metadata()  # returns once the node answered the call
                if call.is_active():
                    self.watching.set()
                for batch in call:
                    pause = 0.1
                    for task in batch.tasks:
                        if task.state == _REVOKED:
                            self._on_revoked(task.id)
            except grpc.RpcError as e:
                if self._closing.is_set():
                    return
                code = e.code() if hasattr(e, "code") else None
                if code in _FINAL:
                    log.warning(
                        "cannot watch for revokes (%s: %s); a revoked task is stopped at its "
                        "next lease extend instead",
                        getattr(code, "name", code),
                        e.details() if hasattr(e, "details") else e,
                    )
                    return
                log.debug("revoke watch on %s broke (%s); reopening", addr, code)
            except Exception:  # noqa: BLE001 - the watcher must not die
                log.exception("revoke watch failed; reopening")
            self.watching.clear()
            if self._closing.wait(pause):
                return
            pause = min(pause * 2, 5.0)
