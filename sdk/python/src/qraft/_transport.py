"""Calls to a cluster: one lazy channel per node, leader following, and retries across failovers.

Every node accepts every call (followers forward writes to the leader), so any reachable node
will do; the transport prefers the leader, to save the forward: before its first call, and at
most once a second while it knows no leader, it asks a node who leads (``Admin.NodeStatus``). A failed attempt
is classified as the Rust client does (``proto/src/client.rs``):

- a definite answer (invalid, not found, denied, ...) is raised at once as a :mod:`qraft.errors`
  exception;
- a transient one (unavailable, deadline, not-leader) is retried, following the leader a node
  names, else the next node, pausing between passes; a **write** is resent only when the node
  marked it ``x-qraft-not-applied`` or the connection was never made, or when the caller says it
  is safe to resend (``Kind.KEYED``: it carries an idempotency key, or is fenced like a worker's
  answer). Otherwise :class:`~qraft.errors.OutcomeUnknown` is raised.

A call tries for the :class:`RetryPolicy`'s ``deadline`` at most; a caller with less time (a
worker's last calls on shutdown, say) passes ``deadline=``, a ``time.monotonic()`` instant shared
by a group of calls: no attempt or pause then runs past it.

:class:`Transport` is the blocking twin, :class:`AsyncTransport` the ``grpc.aio`` one; both share
the address book and the classification.
"""

from __future__ import annotations

import asyncio
import enum
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

from . import errors
from ._config import Settings, normalize
from .v1 import admin_pb2, admin_pb2_grpc, control_pb2_grpc, flows_pb2_grpc, tasks_pb2_grpc, worker_pb2_grpc

#: As qraft's MAX_MESSAGE (proto/src/limits.rs): a task at a node's highest payload limit is
#: larger than gRPC's default 4 MiB.
MAX_MESSAGE = 64 * 1024 * 1024
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    # A node that went away is tried again soon after it is back, not after grpc's long backoff.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]

LEADER = "x-qraft-leader"
NOT_APPLIED = "x-qraft-not-applied"
REFUSAL = "x-qraft-error"

_STUBS: dict[str, Callable[[Any], Any]] = {
    "Tasks": tasks_pb2_grpc.TasksStub,
    "Worker": worker_pb2_grpc.WorkerStub,
    "Admin": admin_pb2_grpc.AdminStub,
    "Control": control_pb2_grpc.ControlStub,
    "Flows": flows_pb2_grpc.FlowsStub,
}

_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.ABORTED,
}


class Kind(enum.Enum):
    """Whether sending a call twice could do something twice."""

    #: A read: safe to send again anywhere.
    READ = "read"
    #: A write that may be applied twice if resent: resent only when proven not applied.
    WRITE = "write"
    #: A write that is safe to resend: idempotency-keyed, or fenced by a delivery number.
    KEYED = "keyed"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard a call is tried before :class:`~qraft.errors.Unavailable` is raised. The
    defaults ride out a leader election (under a second) with room to spare."""

    attempts: int = 40
    initial_backoff: float = 0.05
    max_backoff: float = 1.0
    #: Seconds after which the call stops trying, whatever is left of ``attempts``.
    deadline: float = 20.0
    #: Seconds one attempt may take (a write waits for a majority's fsync: milliseconds).
    attempt_timeout: float = 5.0


class _Decision(enum.Enum):
    FAIL = "fail"
    UNKNOWN = "unknown"
    SAME = "same"
    FOLLOW = "follow"
    NEXT = "next"


def _metadata(error: grpc.RpcError) -> dict[str, str]:
    try:
        pairs = error.trailing_metadata() or ()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a broken call may carry no metadata at all
        return {}
    out: dict[str, str] = {}
    for key, value in pairs:
        out[key] = value.decode() if isinstance(value, bytes) else str(value)
    return out


def _code(error: grpc.RpcError) -> grpc.StatusCode:
    try:
        return error.code()  # type: ignore[attr-defined,no-any-return]
    except Exception:  # noqa: BLE001
        return grpc.StatusCode.UNKNOWN


def _details(error: grpc.RpcError) -> str:
    try:
        return error.details() or ""  # type: ignore[attr-defined,no-any-return]
    except Exception:  # noqa: BLE001
        return str(error)


def _never_sent(error: grpc.RpcError) -> bool:
    """True when the connection was never made, so no byte of the request left."""
    details = _details(error).lower()
    return _code(error) == grpc.StatusCode.UNAVAILABLE and (
        "failed to connect" in details or "connection refused" in details
    )


def _classify(error: grpc.RpcError, kind: Kind, asked: str) -> tuple[_Decision, str | None]:
    code = _code(error)
    meta = _metadata(error)
    leader = normalize(meta.get(LEADER, "")) or None
    not_leader = code == grpc.StatusCode.FAILED_PRECONDITION and leader is not None
    if code not in _TRANSIENT and not not_leader:
        return _Decision.FAIL, None
    resendable = (
        kind is not Kind.WRITE or meta.get(NOT_APPLIED) == "1" or _never_sent(error)
    )
    if not resendable:
        return _Decision.UNKNOWN, leader
    if leader is not None and leader != asked:
        return _Decision.FOLLOW, leader
    if leader is not None:
        return _Decision.SAME, leader
    return _Decision.NEXT, None


def to_exception(error: grpc.RpcError, *, hint: str = "") -> errors.QraftError:
    """The :mod:`qraft.errors` exception for a status a node (or grpc) answered."""
    code = _code(error)
    message = _details(error) or code.name
    if hint:
        message = f"{message} ({hint})"
    name = code.name
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidTask(message, code=name)
    if code == grpc.StatusCode.NOT_FOUND:
        return errors.NotFound(message, code=name)
    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        if code == grpc.StatusCode.UNAUTHENTICATED:
            message += " (pass token=... or set QRAFT_TOKEN)"
        return errors.PermissionDenied(message, code=name)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return errors.LimitExceeded(message, code=name)
    if code in _TRANSIENT:
        return errors.Unavailable(message, code=name)
    return errors.QraftError(message, code=name, refusal=_metadata(error).get(REFUSAL))


#: Seconds between two look-ups of the leader while none is known.
_LOOK_UP_INTERVAL = 1.0
#: Seconds a look-up may take; a node that does not answer that fast is skipped.
_LOOK_UP_TIMEOUT = 1.0


def _look_up_timeout(deadline: float | None) -> float | None:
    """A look-up's timeout, cut to what is left before ``deadline``; None: no time for one."""
    if deadline is None:
        return _LOOK_UP_TIMEOUT
    left = deadline - time.monotonic()
    return min(_LOOK_UP_TIMEOUT, left) if left > 0 else None


def _learn_leader(book: _AddressBook, status: Any) -> None:
    if status.leader_addr:
        book.follow(normalize(status.leader_addr))


class _AddressBook:
    """The nodes, the one to ask next, and the leader hint; shared by the sync and async
    transports of one app and safe to use from any thread."""

    def __init__(self, addrs: tuple[str, ...]) -> None:
        self._lock = threading.Lock()
        self._addrs = list(addrs)
        self._current = 0
        self._leader: str | None = None
        self._last_look_up = -_LOOK_UP_INTERVAL

    def should_look_up(self) -> bool:
        """True, for one caller at a time and at most once a second, while no leader is known:
        that caller asks a node who leads before its call, so writes go straight to the leader
        instead of through a follower's forward."""
        with self._lock:
            now = time.monotonic()
            if self._leader is not None or now - self._last_look_up < _LOOK_UP_INTERVAL:
                return False
            self._last_look_up = now
            return True

    def addrs(self) -> list[str]:
        with self._lock:
            return list(self._addrs)

    def pick(self) -> str:
        with self._lock:
            if self._leader is not None:
                return self._leader
            return self._addrs[self._current % len(self._addrs)]

    def follow(self, leader: str) -> None:
        with self._lock:
            if leader not in self._addrs:
                self._addrs.append(leader)
            self._leader = leader

    def next(self, failed: str) -> bool:
        """Moves past ``failed``; True when a full pass over the nodes has ended."""
        with self._lock:
            if self._leader == failed:
                self._leader = None
            if failed in self._addrs:
                self._current = self._addrs.index(failed) + 1
            else:
                self._current += 1
            wrapped = self._current >= len(self._addrs)
            self._current %= len(self._addrs)
            return wrapped

    def leader(self) -> str | None:
        with self._lock:
            return self._leader


class _Attempts:
    """The retry loop's bookkeeping, shared by both twins: what to do after a failure.

    ``deadline`` (a ``time.monotonic()`` instant, None: none) is the caller's: sooner than the
    policy's, it cuts the attempts' timeouts and the pauses between them so that no attempt
    runs past it, and :class:`~qraft.errors.Unavailable` is raised there instead.
    """

    def __init__(
        self, policy: RetryPolicy, book: _AddressBook, kind: Kind, deadline: float | None = None
    ) -> None:
        self.policy = policy
        self.book = book
        self.kind = kind
        self.deadline = deadline
        self.started = time.monotonic()
        self.sent = 0
        self.backoff = policy.initial_backoff
        self.last: grpc.RpcError | None = None

    def failed(self, error: grpc.RpcError, asked: str) -> float:
        """Seconds to pause before the next attempt; raises when there is none."""
        self.sent += 1
        self.last = error
        decision, leader = _classify(error, self.kind, asked)
        if decision is _Decision.FAIL:
            raise to_exception(error, hint=_tls_hint(error)) from None
        if decision is _Decision.UNKNOWN:
            raise errors.OutcomeUnknown(
                f"the answer from {asked} was lost ({_code(error).name}: {_details(error)}); "
                "the request may or may not have been applied",
                code=_code(error).name,
            ) from None
        out_of_time = time.monotonic() - self.started >= self.policy.deadline
        if self.sent >= self.policy.attempts or out_of_time:
            raise self._exhausted(error) from None
        if decision is _Decision.FOLLOW and leader is not None:
            self.book.follow(leader)
            pause = 0.0
        elif decision is _Decision.SAME:
            pause = self._pause()
        else:
            wrapped = self.book.next(asked)
            pause = self._pause() if wrapped else 0.0
        # The caller's deadline: no attempt starts past it, so give up now rather than pause.
        if self.deadline is not None and time.monotonic() + pause >= self.deadline:
            raise self._exhausted(error) from None
        return pause

    def _exhausted(self, error: grpc.RpcError) -> errors.Unavailable:
        return errors.Unavailable(
            f"no node of {', '.join(self.book.addrs())} could serve the call after "
            f"{self.sent} attempt(s) in {time.monotonic() - self.started:.1f} s; last: "
            f"{_code(error).name}: {_details(error)}",
            code=_code(error).name,
        )

    def _pause(self) -> float:
        base = self.backoff
        self.backoff = min(base * 2, self.policy.max_backoff)
        return base + random.uniform(0, base / 4)

    def attempt_timeout(self, timeout: float | None) -> float:
        """The next attempt's timeout: ``timeout``, else the policy's, cut to what is left
        before the caller's deadline; raises :class:`~qraft.errors.Unavailable` when nothing
        is left (only before the first attempt: :meth:`failed` never pauses past it)."""
        wanted = timeout if timeout is not None else self.policy.attempt_timeout
        if self.deadline is None:
            return wanted
        left = self.deadline - time.monotonic()
        if left <= 0:
            if self.last is not None:
                raise self._exhausted(self.last) from None
            raise errors.Unavailable(
                "the call's deadline passed before it could be sent", code="DEADLINE_EXCEEDED"
            )
        return min(wanted, left)


def _tls_hint(error: grpc.RpcError) -> str:
    details = _details(error).lower()
    if "ssl" in details or "handshake" in details or "certificate" in details:
        return "if the cluster speaks TLS, pass ca=... (or QRAFT_CA) with its CA certificate"
    return ""


def _credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    if settings.ca is None:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=settings.ca,
        private_key=settings.key,
        certificate_chain=settings.cert,
    )


class Transport:
    """Blocking calls to the cluster; safe to share between threads."""

    def __init__(self, settings: Settings, policy: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy()
        self.book = _AddressBook(settings.addrs)
        self._lock = threading.Lock()
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[tuple[str, str], Any] = {}
        self._metadata = (
            (("authorization", f"Bearer {settings.token}"),) if settings.token else None
        )

    def stub(self, addr: str, service: str) -> Any:
        with self._lock:
            stub = self._stubs.get((addr, service))
            if stub is None:
                channel = self._channels.get(addr)
                if channel is None:
                    credentials = _credentials(self.settings)
                    channel = (
                        grpc.secure_channel(addr, credentials, options=_CHANNEL_OPTIONS)
                        if credentials is not None
                        else grpc.insecure_channel(addr, options=_CHANNEL_OPTIONS)
                    )
                    self._channels[addr] = channel
                stub = _STUBS[service](channel)
                self._stubs[(addr, service)] = stub
            return stub

    def call(
        self,
        service: str,
        method: str,
        request: Any,
        *,
        kind: Kind,
        timeout: float | None = None,
        addr: str | None = None,
        deadline: float | None = None,
    ) -> Any:
        """Sends ``request`` to ``service.method`` and returns the answer, retrying as the
        module docs say. ``addr`` pins the call to one node (no retry elsewhere).
        ``deadline``, a ``time.monotonic()`` instant, ends the retries sooner than the
        policy's deadline would: :class:`~qraft.errors.Unavailable` is raised by then."""
        if addr is None and self.book.should_look_up():
            self._look_up_leader(deadline)
        attempts = _Attempts(self.policy, self.book, kind, deadline)
        while True:
            asked = addr or self.book.pick()
            rpc = getattr(self.stub(asked, service), method)
            try:
                return rpc(
                    request,
                    timeout=attempts.attempt_timeout(timeout),
                    metadata=self._metadata,
                )
            except grpc.RpcError as error:
                if addr is not None:
                    raise to_exception(error, hint=_tls_hint(error)) from None
                pause = attempts.failed(error, asked)
                if pause:
                    time.sleep(pause)

    def _look_up_leader(self, deadline: float | None) -> None:
        timeout = _look_up_timeout(deadline)
        if timeout is None:
            return
        try:
            status = self.stub(self.book.pick(), "Admin").NodeStatus(
                admin_pb2.NodeStatusRequest(), timeout=timeout, metadata=self._metadata
            )
        except grpc.RpcError:
            return  # the call itself will move on from this node
        _learn_leader(self.book, status)

    def stream(self, service: str, method: str, request: Any, *, addr: str | None = None) -> Any:
        """Opens a server stream on one node (``addr``, else the next one); the caller
        iterates it and reopens it elsewhere when it breaks."""
        asked = addr or self.book.pick()
        return getattr(self.stub(asked, service), method)(request, metadata=self._metadata)

    def close(self) -> None:
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
            self._stubs.clear()
        for channel in channels:
            channel.close()


class AsyncTransport:
    """The ``grpc.aio`` twin of :class:`Transport`. Channels belong to the event loop that
    made them, so an app keeps one of these per loop."""

    def __init__(self, settings: Settings, book: _AddressBook, policy: RetryPolicy) -> None:
        self.settings = settings
        self.policy = policy
        self.book = book
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[tuple[str, str], Any] = {}
        self._metadata = (
            (("authorization", f"Bearer {settings.token}"),) if settings.token else None
        )

    def stub(self, addr: str, service: str) -> Any:
        stub = self._stubs.get((addr, service))
        if stub is None:
            channel = self._channels.get(addr)
            if channel is None:
                credentials = _credentials(self.settings)
                channel = (
                    grpc.aio.secure_channel(addr, credentials, options=_CHANNEL_OPTIONS)
                    if credentials is not None
                    else grpc.aio.insecure_channel(addr, options=_CHANNEL_OPTIONS)
                )
                self._channels[addr] = channel
            stub = _STUBS[service](channel)
            self._stubs[(addr, service)] = stub
        return stub

    async def call(
        self,
        service: str,
        method: str,
        request: Any,
        *,
        kind: Kind,
        timeout: float | None = None,
        addr: str | None = None,
        deadline: float | None = None,
    ) -> Any:
        """As :meth:`Transport.call`."""
        if addr is None and self.book.should_look_up():
            await self._look_up_leader(deadline)
        attempts = _Attempts(self.policy, self.book, kind, deadline)
        while True:
            asked = addr or self.book.pick()
            rpc = getattr(self.stub(asked, service), method)
            try:
                return await rpc(
                    request,
                    timeout=attempts.attempt_timeout(timeout),
                    metadata=self._metadata,
                )
            except grpc.RpcError as error:
                if addr is not None:
                    raise to_exception(error, hint=_tls_hint(error)) from None
                pause = attempts.failed(error, asked)
                if pause:
                    await asyncio.sleep(pause)

    async def _look_up_leader(self, deadline: float | None) -> None:
        timeout = _look_up_timeout(deadline)
        if timeout is None:
            return
        try:
            status = await self.stub(self.book.pick(), "Admin").NodeStatus(
                admin_pb2.NodeStatusRequest(), timeout=timeout, metadata=self._metadata
            )
        except grpc.RpcError:
            return
        _learn_leader(self.book, status)

    def stream(self, service: str, method: str, request: Any, *, addr: str | None = None) -> Any:
        asked = addr or self.book.pick()
        return getattr(self.stub(asked, service), method)(request, metadata=self._metadata)

    async def close(self) -> None:
        channels = list(self._channels.values())
        self._channels.clear()
        self._stubs.clear()
        for channel in channels:
            await channel.close()
