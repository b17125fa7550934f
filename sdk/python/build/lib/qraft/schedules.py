"""Periodic tasks (Celery beat), fired by the cluster itself: a schedule lives in the replicated
state and fires from the leader, exactly once per due time, whichever node leads::

    app.schedule("nightly-report", cron="0 0 3 * * *", tz="Europe/Paris", task=report)
    app.schedule("heartbeat", every=30, task="ops.ping", queue="ops")
    app.schedules()            # [Schedule(name="heartbeat", ...), ...]
    app.unschedule("heartbeat")

On a secured cluster, adding and removing schedules needs a token with the ``admin`` role.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from . import _encoding, errors
from ._options import TaskOptions, check_name, seconds, task_spec
from ._plan import Call, Plan
from ._transport import Kind
from .v1 import control_pb2

if TYPE_CHECKING:
    from .app import Qraft
    from .task import Task

__all__ = ["Schedule"]

_MISFIRE = {"skip": control_pb2.MISFIRE_SKIP, "catch_up": control_pb2.MISFIRE_CATCH_UP}
_MISFIRE_NAMES = {
    control_pb2.MISFIRE_UNSPECIFIED: "skip",
    control_pb2.MISFIRE_SKIP: "skip",
    control_pb2.MISFIRE_CATCH_UP: "catch_up",
}
_ADMIN_HINT = (
    "schedules are cluster configuration: use a token with the admin role "
    "(Qraft(..., token=...) or QRAFT_TOKEN)"
)


def _when(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms else None


@dataclass(frozen=True)
class Schedule:
    """A schedule as the cluster keeps it. Times are UTC datetimes (None: not yet, or never)."""

    name: str
    task: str
    queue: str
    cron: str | None
    #: The interval in seconds, for an ``every`` schedule.
    every: float | None
    tz: str | None
    misfire: str
    paused: bool
    next_run: datetime | None
    last_run: datetime | None
    last_task_id: str | None
    #: Runs submitted, and due times skipped by the misfire policy.
    runs: int
    missed: int
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_pb(cls, schedule: control_pb2.Schedule) -> Schedule:
        spec = schedule.spec
        try:
            args, kwargs = _encoding.decode_args(spec.task.args)
        except ValueError:  # added by another client with another encoding
            args, kwargs = [], {}
        return cls(
            name=spec.name,
            task=spec.task.name,
            queue=spec.task.queue or "default",
            cron=spec.cron or None,
            every=spec.every_ms / 1000 if spec.every_ms else None,
            tz=spec.time_zone or None,
            misfire=_MISFIRE_NAMES.get(spec.misfire, "skip"),
            paused=schedule.paused,
            next_run=_when(schedule.next_run_ms),
            last_run=_when(schedule.last_run_ms),
            last_task_id=schedule.last_task_id or None,
            runs=schedule.runs,
            missed=schedule.missed,
            args=args,
            kwargs=kwargs,
        )


def schedule_spec(
    app: Qraft,
    name: str,
    *,
    task: Task | str,
    cron: str | None = None,
    every: float | timedelta | None = None,
    args: tuple[Any, ...] | list[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    tz: str | None = None,
    misfire: str = "skip",
    catch_up_limit: int | None = None,
    grace: float | timedelta | None = None,
    options: TaskOptions | None = None,
) -> control_pb2.ScheduleSpec:
    """The ``ScheduleSpec`` of ``app.schedule(...)``, checked."""
    from .task import Task

    check_name(name, "schedule name")
    if isinstance(task, Task):
        registered: Task | None = task
        task_name = task.name
    elif isinstance(task, str):
        registered = app.tasks.get(task)
        task_name = task
    else:
        raise TypeError(f"task= is a task or a task name, not {task!r}")
    args, kwargs = tuple(args or ()), dict(kwargs or {})
    if registered is not None:
        registered.check_arguments(args, kwargs)
    spec_task = task_spec(
        task_name,
        _encoding.encode_args(args, kwargs),
        options,
        base=registered._template() if registered is not None else None,
        default_queue=app.default_queue,
        keyed=False,
        timed=False,
    )
    if (cron is None) == (every is None):
        raise errors.InvalidTask("give a schedule exactly one of cron=... or every=...")
    spec = control_pb2.ScheduleSpec(name=name, task=spec_task)
    if cron is not None:
        if not isinstance(cron, str) or not cron.strip():
            raise errors.InvalidTask(f"cron is a string like '0 0 3 * * *' (seconds first), not {cron!r}")
        spec.cron = cron
    else:
        interval = seconds(every, "every")
        if interval < 0.1:
            raise errors.InvalidTask(f"every must be at least 0.1 s, not {interval}")
        spec.every_ms = math.ceil(interval * 1000)
    if tz is not None:
        spec.time_zone = tz
    if misfire not in _MISFIRE:
        raise errors.InvalidTask(f'misfire is "skip" or "catch_up", not {misfire!r}')
    spec.misfire = _MISFIRE[misfire]
    if catch_up_limit is not None:
        if isinstance(catch_up_limit, bool) or not isinstance(catch_up_limit, int):
            raise TypeError(f"catch_up_limit must be an int, not {catch_up_limit!r}")
        if not 1 <= catch_up_limit <= 1000:
            raise errors.InvalidTask(f"catch_up_limit must be in 1..1000, not {catch_up_limit}")
        spec.catch_up_limit = catch_up_limit
    if grace is not None:
        spec.grace_ms = max(1, math.ceil(seconds(grace, "grace") * 1000))
    return spec


def _admin(error: errors.PermissionDenied) -> errors.PermissionDenied:
    return errors.PermissionDenied(f"{error.message} ({_ADMIN_HINT})", code=error.code)


def add_plan(spec: control_pb2.ScheduleSpec) -> Plan[Schedule]:
    # Adding replaces a schedule of the same name, so a resend after a lost answer is safe.
    request = control_pb2.AddScheduleRequest(spec=spec)
    try:
        answer = yield Call("Control", "AddSchedule", request, Kind.KEYED)
    except errors.PermissionDenied as error:
        raise _admin(error) from None
    return Schedule.from_pb(answer.schedule)


def remove_plan(name: str) -> Plan[bool]:
    # Removing twice removes once; a resend answers False, which is still "gone".
    try:
        answer = yield Call("Control", "RemoveSchedule", control_pb2.ScheduleRequest(name=name), Kind.KEYED)
    except errors.PermissionDenied as error:
        raise _admin(error) from None
    return bool(answer.removed)


def list_plan() -> Plan[list[Schedule]]:
    request = control_pb2.ListSchedulesRequest(linearizable=True)
    try:
        answer = yield Call("Control", "ListSchedules", request, Kind.READ)
    except errors.PermissionDenied as error:
        raise _admin(error) from None
    return [Schedule.from_pb(s) for s in answer.schedules]
