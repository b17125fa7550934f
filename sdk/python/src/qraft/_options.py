"""Task options as a producer gives them (Celery's names, seconds, datetimes) and as the cluster
stores them (a ``TaskSpec``: milliseconds, flags). One place checks them and converts them, for
``.delay()``, ``apply_async()``, ``send_task()``, canvas steps and schedules alike::

    options = TaskOptions(queue="mail", countdown=10, priority=7)
    spec = task_spec("mail.send", encode_args(("ada@example.com",), {}), options)

A bad option raises :class:`~qraft.errors.InvalidTask` (a ``ValueError``) naming it, before
anything is sent; a value of the wrong type raises ``TypeError``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from . import errors
from .v1 import tasks_pb2

__all__ = [
    "NAME_PATTERN",
    "TaskOptions",
    "check_name",
    "check_priority",
    "task_spec",
    "EMPTY",
    "options_from",
    "new_key",
    "seconds",
    "SUBMIT_OPTIONS",
]

#: The server's rule for task, queue and schedule names (node/src/queue/validate.rs).
NAME_PATTERN = re.compile(r"[A-Za-z0-9._\-:/@]{1,200}\Z")
MAX_PRIORITY = 9
MAX_RETRIES = 1000
MAX_HEADERS = 64
MAX_HEADER_LEN = 4096


def check_name(name: object, what: str = "task name") -> str:
    """``name`` if the cluster accepts it as a task (or queue, schedule) name."""
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, not {type(name).__name__}")
    if not NAME_PATTERN.match(name):
        raise errors.InvalidTask(
            f"{what} {name!r} is not valid: use 1 to 200 letters, digits and . _ - : / @ "
            "(give the task an explicit name=... if its module path has other characters)"
        )
    return name


def check_priority(priority: object) -> int:
    """``priority`` if it is an int in 0..9 (higher runs first)."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise TypeError(f"priority must be an int in 0..9, not {priority!r}")
    if not 0 <= priority <= MAX_PRIORITY:
        raise errors.InvalidTask(f"priority {priority} is out of range 0..9 (9 runs first)")
    return priority


def seconds(value: object, what: str, *, positive: bool = True) -> float:
    """A duration in seconds from a number or a ``timedelta``."""
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or a timedelta, not {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "above 0" if positive else "0 or more"
        raise errors.InvalidTask(f"{what} must be {bound} seconds, not {value!r}")
    return float(value)


def _ms(value: float) -> int:
    """Seconds as whole milliseconds, rounded up so a small positive duration stays positive."""
    return max(1, math.ceil(value * 1000 - 1e-9)) if value > 0 else 0


def _unix_ms(when: object, what: str) -> int:
    if not isinstance(when, datetime):
        raise TypeError(f"{what} must be a datetime, not {when!r}")
    if when.tzinfo is None:
        # As Celery: a naive datetime is UTC.
        when = when.replace(tzinfo=timezone.utc)
    return max(0, math.floor(when.timestamp() * 1000))


def _count(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {value!r}")
    if not low <= value <= high:
        raise errors.InvalidTask(f"{what} {value} is out of range {low}..{high}")
    return value


def new_key() -> str:
    """A fresh idempotency key (128 random bits, hex): makes a submit safe to resend after a
    lost answer."""
    return os.urandom(16).hex()


@dataclass(frozen=True)
class TaskOptions:
    """Every option of one submit; ``None`` means "not given" (the task's default, then the
    cluster's). Durations are seconds (or ``timedelta``), times are ``datetime``."""

    queue: str | None = None
    priority: int | None = None
    countdown: float | timedelta | None = None
    eta: datetime | None = None
    #: Seconds from the submit, or a ``datetime``, after which an unstarted task expires.
    expires: float | timedelta | datetime | None = None
    max_retries: int | None = None
    retry_delay: float | timedelta | None = None
    retry_backoff: float | None = None
    retry_backoff_max: float | timedelta | None = None
    retry_jitter: bool | None = None
    timeout: float | timedelta | None = None
    result_ttl: float | timedelta | None = None
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    concurrency_limit: int | None = None
    headers: Mapping[str, str] | None = None
    delivery_limit: int | None = None

    def merged(self, other: TaskOptions) -> TaskOptions:
        """These options with every option ``other`` gives on top."""
        given = {f.name: getattr(other, f.name) for f in fields(other)}
        changes = {k: v for k, v in given.items() if v is not None}
        if self.headers and other.headers:
            changes["headers"] = {**self.headers, **other.headers}
        return replace(self, **changes) if changes else self


#: The keyword options ``apply_async``, ``send_task``, ``Signature.set`` and schedules take.
SUBMIT_OPTIONS = frozenset(f.name for f in fields(TaskOptions))


def options_from(given: Mapping[str, Any], *, where: str = "apply_async()") -> TaskOptions:
    """Keyword options as :class:`TaskOptions`; an unknown name is a ``TypeError`` (a typo
    would otherwise be ignored silently, as Celery does)."""
    unknown = set(given) - SUBMIT_OPTIONS
    if unknown:
        raise TypeError(
            f"{where} got unknown option(s) {', '.join(sorted(unknown))}; the options are "
            f"{', '.join(sorted(SUBMIT_OPTIONS))}"
        )
    return TaskOptions(**given)


#: No options: the layer every submit without per-call options adds.
EMPTY = TaskOptions()


def task_spec(
    name: str,
    payload: bytes,
    *layers: TaskOptions | None,
    base: tasks_pb2.TaskSpec | None = None,
    default_queue: str = "default",
    extra_headers: Mapping[str, str] | None = None,
    keyed: bool = True,
    timed: bool = True,
) -> tasks_pb2.TaskSpec:
    """The ``TaskSpec`` of a submit: ``base`` (a task's defaults, already checked: see
    ``Task.template()``) or a spec of ``name`` in ``default_queue``, then each layer of options
    in order, each over the ones before. ``keyed``: give it an idempotency key (the user's,
    else a fresh one); flow steps and schedules have none. ``timed``: countdown and eta are
    allowed (not for flow steps and schedules, which decide when a task runs)."""
    spec = tasks_pb2.TaskSpec()
    if base is not None:
        spec.CopyFrom(base)
    else:
        spec.name = check_name(name)
        spec.queue = check_name(default_queue, "queue name")
    spec.args = payload
    key = None
    for layer in layers:
        if layer is not None and layer is not EMPTY:
            _apply(spec, layer, timed)
            if layer.idempotency_key is not None:
                key = layer.idempotency_key
    if spec.countdown_ms and spec.eta_ms:
        raise errors.InvalidTask("give a countdown or an eta, not both")
    if spec.concurrency_limit and not spec.concurrency_key:
        raise errors.InvalidTask("concurrency_limit needs a concurrency_key to count under")
    if extra_headers:
        _check_headers(extra_headers)
        spec.headers.update(extra_headers)
    if len(spec.headers) > MAX_HEADERS:
        raise errors.InvalidTask(f"{len(spec.headers)} headers; the limit is {MAX_HEADERS}")
    if keyed:
        if key is None:
            key = new_key()
        elif not isinstance(key, str) or not 1 <= len(key.encode()) <= 200:
            raise errors.InvalidTask(f"idempotency_key must be a str of 1..200 bytes, not {key!r}")
        spec.idempotency_key = key
    elif key is not None:
        raise errors.InvalidTask(
            "a flow's steps and a schedule's task take no idempotency_key: give it to the "
            "flow's apply_async() instead"
        )
    return spec


def _apply(spec: tasks_pb2.TaskSpec, o: TaskOptions, timed: bool) -> None:
    """Sets on ``spec`` every option ``o`` gives, checked."""
    if o.queue is not None:
        spec.queue = check_name(o.queue, "queue name")
    if o.priority is not None:
        spec.priority = check_priority(o.priority)
    if not timed and (o.countdown is not None or o.eta is not None):
        raise errors.InvalidTask(
            "countdown and eta are not allowed here: a flow or a schedule decides when its "
            "tasks run"
        )
    if o.countdown is not None and o.eta is not None:
        raise errors.InvalidTask("give a countdown or an eta, not both")
    if o.countdown is not None:
        spec.countdown_ms = _ms(seconds(o.countdown, "countdown", positive=False))
        spec.eta_ms = 0
    if o.eta is not None:
        spec.eta_ms = _unix_ms(o.eta, "eta")
        spec.countdown_ms = 0
    if o.expires is not None:
        spec.expires_in_ms = _expires_in_ms(o.expires)
    if o.max_retries is not None:
        spec.max_retries = _count(o.max_retries, "max_retries", 0, MAX_RETRIES)
    if o.retry_delay is not None:
        # An optional field: present and 0 is "retry at once"; absent is the server's default.
        spec.retry_delay_ms = _ms(seconds(o.retry_delay, "retry_delay", positive=False))
    if o.retry_backoff is not None:
        factor = o.retry_backoff
        if isinstance(factor, bool) or not isinstance(factor, (int, float)):
            raise TypeError(f"retry_backoff is the growth factor (a number), not {factor!r}")
        if not (math.isfinite(factor) and 1.0 <= factor <= 100.0):
            raise errors.InvalidTask(
                f"retry_backoff (the delay's growth factor) must be in 1..100, not {factor!r}"
            )
        spec.retry_factor = float(factor)
    if o.retry_backoff_max is not None:
        spec.retry_max_delay_ms = max(1, _ms(seconds(o.retry_backoff_max, "retry_backoff_max")))
    if o.retry_jitter is not None:
        spec.retry_no_jitter = not o.retry_jitter
    if o.timeout is not None:
        spec.timeout_ms = _ms(seconds(o.timeout, "timeout"))
    if o.result_ttl is not None:
        spec.result_ttl_ms = _ms(seconds(o.result_ttl, "result_ttl"))
    if o.delivery_limit is not None:
        spec.delivery_limit = _count(o.delivery_limit, "delivery_limit", 1, 1000)
    if o.concurrency_key is not None:
        key = o.concurrency_key
        if not isinstance(key, str) or not 1 <= len(key.encode()) <= 200:
            raise errors.InvalidTask(f"concurrency_key must be a str of 1..200 bytes, not {key!r}")
        spec.concurrency_key = key
        if not spec.concurrency_limit:
            spec.concurrency_limit = 1
    if o.concurrency_limit is not None:
        spec.concurrency_limit = _count(o.concurrency_limit, "concurrency_limit", 1, 100_000)
    if o.headers:
        _check_headers(o.headers)
        spec.headers.update(o.headers)


def _expires_in_ms(expires: object) -> int:
    if isinstance(expires, datetime):
        now = datetime.now(timezone.utc)
        at = expires if expires.tzinfo is not None else expires.replace(tzinfo=timezone.utc)
        # Already past: the least expiry, so the task is stored and ends EXPIRED, as in Celery.
        return max(1, _ms((at - now).total_seconds()))
    return _ms(seconds(expires, "expires"))


def _check_headers(headers: Mapping[str, str]) -> None:
    if len(headers) > MAX_HEADERS:
        raise errors.InvalidTask(f"{len(headers)} headers; the limit is {MAX_HEADERS}")
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"headers map str to str, not {key!r}: {value!r}")
        if not key or len(key.encode()) > MAX_HEADER_LEN or len(value.encode()) > MAX_HEADER_LEN:
            raise errors.InvalidTask(
                f"header {key!r} is empty or longer than {MAX_HEADER_LEN} bytes (key or value)"
            )
