"""The worker as the cluster's registry sees it: register, heartbeat (register again when
forgotten), leave; and what the worker tells its operator at start-up (the banner, and tasks
waiting in its queues that no worker declares).

It also keeps the worker's calls pointed at the leader: a follower forwards every lease and
answer batch to the leader, one more hop on the path that bounds how fast tasks drain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .. import errors
from .._config import normalize
from .._transport import Kind, Transport
from ..v1 import admin_pb2, worker_pb2

__all__ = ["Registration"]

log = logging.getLogger("qraft.worker")


class Registration:
    """One worker's entry in the cluster's registry."""

    def __init__(
        self,
        transport: Transport,
        request: worker_pb2.RegisterRequest,
        active: Callable[[], int],
    ) -> None:
        self._transport = transport
        self._request = request
        self._active = active

    @property
    def worker_id(self) -> str:
        return self._request.worker_id

    def register(self) -> None:
        self._transport.call("Worker", "Register", self._request, kind=Kind.KEYED)

    def heartbeat(self) -> None:
        """Tells the cluster the worker is alive and how busy; registers again if the
        cluster forgot it (silent for a minute, cut off say)."""
        request = worker_pb2.HeartbeatRequest(worker_id=self.worker_id, active=self._active())
        try:
            self._transport.call("Worker", "Heartbeat", request, kind=Kind.KEYED)
        except (errors.InvalidTask, errors.NotFound):
            log.info("the cluster no longer knew this worker; registering again")
            try:
                self.register()
            except errors.QraftError as e:
                log.warning("could not register again: %s", e)
        except errors.QraftError as e:
            log.debug("heartbeat not delivered: %s", e)

    def leave(self, deadline: float | None = None) -> None:
        """Tells the cluster the worker is gone, trying until ``deadline`` (a
        ``time.monotonic()`` instant) at most; a worker that could not say so is dropped by
        the cluster after a minute without heartbeats."""
        try:
            self._transport.call(
                "Worker", "Leave", worker_pb2.LeaveRequest(worker_id=self.worker_id),
                kind=Kind.KEYED, deadline=deadline,
            )
        except errors.QraftError as e:
            log.warning(
                "could not announce leaving (%s); the cluster drops this worker after a minute "
                "without heartbeats",
                e,
            )

    def follow_leader(self) -> None:
        """Points the transport at the leader (asked at start-up and with every heartbeat:
        a leader change that caused no failed call goes unseen otherwise)."""
        try:
            status = self._transport.call(
                "Admin", "NodeStatus", admin_pb2.NodeStatusRequest(), kind=Kind.READ, timeout=2.0
            )
        except errors.QraftError as e:
            log.debug("could not ask for the leader: %s", e)
            return
        leader = normalize(status.leader_addr)
        if leader and leader != self._transport.book.leader():
            self._transport.book.follow(leader)

    def banner(self, pool: str) -> None:
        r = self._request
        log.info(
            "qraft-worker %s ready\n  cluster:     %s\n  queues:      %s\n"
            "  concurrency: %d (%s pool)\n  tasks:       %s",
            r.worker_id,
            ", ".join(self._transport.settings.addrs),
            ", ".join(r.queues),
            r.concurrency,
            pool,
            "\n               ".join(r.names),
        )

    def warn_unhandled(self) -> None:
        """Tasks waiting in this worker's queues under names no worker declares sit there
        until such a worker comes: say so now rather than let them wait in silence."""
        try:
            stats = self._transport.call(
                "Admin", "ListQueues", admin_pb2.ListQueuesRequest(), kind=Kind.READ, timeout=5.0
            )
        except errors.QraftError as e:
            log.debug("could not list queues: %s", e)
            return
        mine = set(self._request.queues)
        for queue in stats.queues:
            if queue.name not in mine:
                continue
            for entry in queue.unhandled:
                log.warning(
                    "queue %s: %d waiting %s named %r that no worker declares",
                    queue.name,
                    entry.count,
                    "task" if entry.count == 1 else "tasks",
                    entry.name,
                )
