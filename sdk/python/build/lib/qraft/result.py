"""Results: :class:`AsyncResult` for one task, :class:`FlowResult` for a chain or chord,
:class:`GroupResult` for a group. Each waits with the cluster's long-polling ``Wait`` (no busy
polling) and has asyncio twins::

    r = add.delay(2, 3)
    r.state            # "PENDING", "STARTED", ..., "SUCCESS"
    r.get(timeout=10)  # 5, or raises TaskFailed / TaskRevoked / TaskExpired / qraft.TimeoutError
    await r.get_async(timeout=10)

States are Celery's names, plus qraft's ``SCHEDULED`` (waiting for its countdown or eta; Celery
says PENDING) and ``EXPIRED`` (not started before ``expires``; Celery says REVOKED).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import _encoding, errors
from ._plan import Call, Pause, Plan, run, run_async
from ._transport import Kind
from .v1 import flows_pb2, tasks_pb2

if TYPE_CHECKING:
    from .app import Qraft

__all__ = ["AsyncResult", "FlowResult", "GroupResult", "READY_STATES"]

#: The final states: a task in one of them never changes again.
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED", "EXPIRED"})
#: The longest one ``Wait`` call may wait (the server's bound).
MAX_WAIT = 600.0
#: Longest wait on one chord member before the chord is read again (another may have failed).
CHORD_SLICE = 2.0
#: Extra seconds an attempt may take beyond the wait it asks for (network, a busy node).
WAIT_MARGIN = 5.0


def state_name(state: int) -> str:
    """A ``TaskState`` as Celery's name; an unknown or unset state reads as PENDING."""
    if state == tasks_pb2.TASK_STATE_UNSPECIFIED:
        return "PENDING"
    try:
        return tasks_pb2.TaskState.Name(state)
    except ValueError:
        return "PENDING"


def _resolve_app(app: Qraft | None) -> Qraft:
    if app is not None:
        return app
    from .app import Qraft

    return Qraft.current()


def result_from_answer(answer: tasks_pb2.SubmitResponse, app: Qraft) -> AsyncResult:
    """The result of a submit's answer."""
    result = AsyncResult(answer.id, app=app)
    result.duplicate = answer.duplicate
    return result


# -- plans: the calls, written once for both twins ---------------------------------------------


def get_task_plan(task_id: str) -> Plan[tasks_pb2.Task]:
    # Linearizable: a task submitted a moment ago through another node is seen.
    request = tasks_pb2.GetTaskRequest(id=task_id, linearizable=True)
    answer = yield Call("Tasks", "GetTask", request, Kind.READ)
    return answer.task


def revoke_plan(task_id: str) -> Plan[str]:
    # Revoking twice is harmless, so a lost answer may be resent.
    answer = yield Call("Tasks", "Revoke", tasks_pb2.RevokeRequest(id=task_id), Kind.KEYED)
    return state_name(answer.state)


def wait_plan(task_id: str, timeout: float | None, give_up_after: float) -> Plan[tasks_pb2.Task]:
    """The task once final; :class:`~qraft.TimeoutError` when ``timeout`` (seconds; None:
    forever) runs out first. Long waits are a loop of ``Wait`` calls of at most 10 min.

    ``give_up_after`` is the transport's retry deadline: a ``Wait`` that failed sooner than
    that found no node at all; one that failed later may have been a long wait cut by a
    failover, and is asked again once.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    failures = 0
    first = True
    while True:
        remaining = MAX_WAIT if deadline is None else min(deadline - time.monotonic(), MAX_WAIT)
        if first:
            # get(timeout=0) still looks once: a task already finished is returned.
            remaining, first = max(remaining, 0.001), False
        elif remaining <= 0:
            raise errors.TimeoutError(
                f"task {task_id} did not finish within {timeout} s; it goes on: ask again "
                "later with AsyncResult(id).get()"
            )
        started = time.monotonic()
        request = tasks_pb2.WaitRequest(id=task_id, timeout_ms=max(1, math.ceil(remaining * 1000)))
        try:
            answer = yield Call("Tasks", "Wait", request, Kind.READ, timeout=remaining + WAIT_MARGIN)
        except errors.OutcomeUnknown:
            raise
        except errors.Unavailable:
            failures += 1
            if time.monotonic() - started < give_up_after or failures >= 2:
                raise
            continue
        failures = 0
        if answer.finished:
            return answer.task  # type: ignore[no-any-return]


def outcome(task: tasks_pb2.Task, propagate: bool) -> Any:
    """A final task's value, or its error raised (``propagate``) or returned."""
    state = state_name(task.state)
    if state == "SUCCESS":
        return _encoding.decode_result(task.result)
    error = _error_of(task)
    if error is None:
        return None
    if propagate:
        raise error
    return error


def _error_of(task: tasks_pb2.Task) -> errors.QraftError | None:
    state = state_name(task.state)
    if state == "FAILURE":
        return errors.TaskFailed(task.id, task.error, task.attempts)
    if state == "REVOKED":
        return errors.TaskRevoked(task.id)
    if state == "EXPIRED":
        return errors.TaskExpired(task.id)
    return None


# -- one task ----------------------------------------------------------------------------------


class AsyncResult:
    """The result of one task, by id (Celery's ``AsyncResult``)::

        r = AsyncResult(task_id, app=app)     # or app.AsyncResult(task_id)
        r.ready(), r.successful(), r.failed(), r.state, r.result, r.traceback
        r.get(timeout=10)
        r.revoke()

    Every property reads the task from the cluster (a linearizable read: it sees every submit
    that returned); once the task is final the answer is kept. ``app`` defaults to the most
    recently created :class:`~qraft.Qraft`. A task unknown to the cluster (never submitted, or
    its result expired after ``result_ttl``) raises :class:`~qraft.NotFound` (Celery would say
    PENDING forever).
    """

    def __init__(self, id: str, app: Qraft | None = None) -> None:  # noqa: A002 - Celery's name
        if not isinstance(id, str) or not id:
            raise TypeError(f"a task id is a non-empty str, not {id!r}")
        self.id = id
        self.app = _resolve_app(app)
        #: True when the submit found an earlier task with the same idempotency key.
        self.duplicate = False
        self._final: tasks_pb2.Task | None = None

    @property
    def task_id(self) -> str:
        """Celery's other name for :attr:`id`."""
        return self.id

    # -- reading -----------------------------------------------------------------------------

    def _keep(self, task: tasks_pb2.Task) -> tasks_pb2.Task:
        if state_name(task.state) in READY_STATES:
            self._final = task
        return task

    def _task(self) -> tasks_pb2.Task:
        if self._final is not None:
            return self._final
        return self._keep(run(self.app.transport, get_task_plan(self.id)))

    async def _task_async(self) -> tasks_pb2.Task:
        if self._final is not None:
            return self._final
        return self._keep(await run_async(self.app.async_transport(), get_task_plan(self.id)))

    @property
    def state(self) -> str:
        """``PENDING``, ``SCHEDULED``, ``STARTED``, ``RETRY``, ``SUCCESS``, ``FAILURE``,
        ``REVOKED`` or ``EXPIRED``."""
        return state_name(self._task().state)

    #: Celery's other name for :attr:`state`.
    status = state

    async def state_async(self) -> str:
        """The asyncio twin of :attr:`state`."""
        return state_name((await self._task_async()).state)

    def ready(self) -> bool:
        """True once the task is final (succeeded, failed, revoked or expired)."""
        return self.state in READY_STATES

    def successful(self) -> bool:
        return self.state == "SUCCESS"

    def failed(self) -> bool:
        return self.state == "FAILURE"

    @property
    def result(self) -> Any:
        """The return value once SUCCESS; the exception (TaskFailed, TaskRevoked, TaskExpired)
        once it ended otherwise; None while it runs. Never waits."""
        task = self._task()
        if state_name(task.state) not in READY_STATES:
            return None
        return outcome(task, propagate=False)

    #: Celery's other name for :attr:`result`.
    info = result

    @property
    def traceback(self) -> str | None:
        """The error text of the last failed attempt (a Python task's traceback), if any."""
        error = self._task().error
        return error or None

    @property
    def date_done(self) -> datetime | None:
        """When the task finished (cluster time, UTC), if it has."""
        ms = self._task().finished_at_ms
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms else None

    @property
    def name(self) -> str:
        """The task's name."""
        return self._task().name

    @property
    def retries(self) -> int:
        """Failed attempts retried so far."""
        return self._task().retries

    # -- waiting -----------------------------------------------------------------------------

    def get(self, timeout: float | None = None, propagate: bool = True) -> Any:
        """Waits for the task and returns its value::

            add.delay(2, 3).get(timeout=10)   # 5

        Raises :class:`~qraft.TaskFailed` (the remote error text and the attempts),
        :class:`~qraft.TaskRevoked` or :class:`~qraft.TaskExpired` when it ended otherwise
        (returned instead when ``propagate=False``), and :class:`~qraft.TimeoutError` when
        ``timeout`` seconds pass first (None: wait as long as it takes).
        """
        if self._final is None:
            plan = wait_plan(self.id, timeout, self.app.retry_policy.deadline)
            self._keep(run(self.app.transport, plan))
        assert self._final is not None
        return outcome(self._final, propagate)

    #: Celery's other name for :meth:`get`.
    wait = get

    async def get_async(self, timeout: float | None = None, propagate: bool = True) -> Any:
        """The asyncio twin of :meth:`get`: ``await r.get_async(timeout=10)``."""
        if self._final is None:
            plan = wait_plan(self.id, timeout, self.app.retry_policy.deadline)
            self._keep(await run_async(self.app.async_transport(), plan))
        assert self._final is not None
        return outcome(self._final, propagate)

    # -- revoking ----------------------------------------------------------------------------

    def revoke(self) -> str:
        """Revokes the task: a waiting one never runs; a running one is stopped by its worker
        (Celery's ``terminate=True`` is always on). Returns ``REVOKED``, or the final state it
        had already reached."""
        return run(self.app.transport, revoke_plan(self.id))

    async def revoke_async(self) -> str:
        """The asyncio twin of :meth:`revoke`."""
        return await run_async(self.app.async_transport(), revoke_plan(self.id))

    # -- identity ----------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AsyncResult):
            return self.id == other.id
        if isinstance(other, str):
            return self.id == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<AsyncResult: {self.id}>"

    def __str__(self) -> str:
        return self.id


# -- flows -------------------------------------------------------------------------------------

_FLOW_STATES = {
    flows_pb2.FLOW_RUNNING: "STARTED",
    flows_pb2.FLOW_SUCCEEDED: "SUCCESS",
    flows_pb2.FLOW_FAILED: "FAILURE",
}
_KINDS = {flows_pb2.CHAIN: "chain", flows_pb2.GROUP: "group", flows_pb2.CHORD: "chord"}


def get_flow_plan(flow_id: str) -> Plan[flows_pb2.Flow]:
    request = flows_pb2.GetFlowRequest(id=flow_id, linearizable=True)
    return (yield Call("Flows", "GetFlow", request, Kind.READ))  # type: ignore[no-any-return]


def _final_part(part: flows_pb2.FlowPart) -> bool:
    return state_name(part.state) in READY_STATES


def _running_part(flow: flows_pb2.Flow) -> flows_pb2.FlowPart | None:
    """The part to wait on next: the first one enqueued and not yet final."""
    parts = list(flow.parts)
    if flow.HasField("callback"):
        parts.append(flow.callback)
    for part in parts:
        if part.task_id and not _final_part(part):
            return part
    return None


def flow_wait_plan(flow_id: str, timeout: float | None, give_up_after: float) -> Plan[flows_pb2.Flow]:
    """The flow once finished: reads it, waits (``Wait``) on the part running now, and again."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.02
    while True:
        flow = yield from get_flow_plan(flow_id)
        if flow.state != flows_pb2.FLOW_RUNNING:
            return flow
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise errors.TimeoutError(
                f"{_KINDS.get(flow.kind, 'flow')} {flow_id} did not finish within {timeout} s "
                f"({flow.done} of {flow.total} parts done); it goes on"
            )
        part = _running_part(flow)
        if part is None:
            # Every enqueued part has ended and the flow moves on in the same apply, so this is
            # only a replica catching up: look again shortly.
            yield Pause(pause if remaining is None else min(pause, remaining))
            pause = min(pause * 2, 0.5)
            continue
        if flow.kind == flows_pb2.CHORD and part.task_id != flow.callback.task_id:
            # A chord fails as soon as any member fails, not only the one waited on: look at
            # the flow again every few seconds while its members run.
            remaining = CHORD_SLICE if remaining is None else min(remaining, CHORD_SLICE)
        try:
            yield from wait_plan(part.task_id, remaining, give_up_after)
        except errors.TimeoutError:
            continue  # the flow's own timeout message, on the next pass
        except errors.NotFound:
            # The part's task is gone (its result expired): the flow record says how it ended.
            yield Pause(pause)
            pause = min(pause * 2, 0.5)


def flow_outcome_plan(flow: flows_pb2.Flow, propagate: bool) -> Plan[Any]:
    """A finished flow's value (the list of member values for a group), or its error."""
    kind = _KINDS.get(flow.kind, "flow")
    if flow.state == flows_pb2.FLOW_SUCCEEDED:
        if kind == "group":
            return _encoding.member_results(flow.result)
        return _encoding.decode_result(flow.result)
    if kind == "group":
        values = _encoding.member_results(flow.result)
        failed = next((v for v in values if isinstance(v, errors.QraftError)), None)
        if propagate and failed is not None:
            raise (yield from _with_attempts(failed))
        return values
    error = yield from _flow_error(flow)
    if propagate:
        raise error
    return error


def _with_attempts(error: errors.QraftError) -> Plan[errors.QraftError]:
    """A member's TaskFailed with its real attempt count (the flow record has none)."""
    if not isinstance(error, errors.TaskFailed) or not error.task_id:
        return error
    try:
        task = yield from get_task_plan(error.task_id)
    except errors.NotFound:
        return error
    return errors.TaskFailed(error.task_id, error.error, task.attempts)


def _flow_error(flow: flows_pb2.Flow) -> Plan[errors.QraftError]:
    parts = list(flow.parts)
    if flow.HasField("callback"):
        parts.append(flow.callback)
    for part in parts:
        state = state_name(part.state)
        if state == "REVOKED":
            return errors.TaskRevoked(part.task_id)
        if state == "EXPIRED":
            return errors.TaskExpired(part.task_id)
        if state == "FAILURE":
            failed = errors.TaskFailed(part.task_id, part.error or flow.error, 0)
            return (yield from _with_attempts(failed))
    return errors.QraftError(flow.error or f"flow {flow.id} failed")


def revoke_flow_plan(flow_id: str) -> Plan[None]:
    flow = yield from get_flow_plan(flow_id)
    for part in _enqueued(flow):
        if not _final_part(part):
            yield from revoke_plan(part.task_id)


def _enqueued(flow: flows_pb2.Flow) -> list[flows_pb2.FlowPart]:
    parts = list(flow.parts)
    if flow.HasField("callback"):
        parts.append(flow.callback)
    return [part for part in parts if part.task_id]


def _get_plan(flow_id: str, timeout: float | None, propagate: bool, give_up: float) -> Plan[Any]:
    flow = yield from flow_wait_plan(flow_id, timeout, give_up)
    return (yield from flow_outcome_plan(flow, propagate))


class FlowResult:
    """The result of a chain or a chord (``apply_async()`` of one): its id is the flow's.

    ``get()`` returns the last step's value (chain) or the callback's (chord). Celery returns
    the last task's ``AsyncResult`` instead; here the last task is made only when its turn
    comes, so the flow stands for it. :meth:`parts` gives the tasks enqueued so far.
    """

    def __init__(self, id: str, app: Qraft | None = None) -> None:  # noqa: A002
        self.id = id
        self.app = _resolve_app(app)
        #: True when the submit found an earlier flow with the same idempotency key.
        self.duplicate = False

    def _flow(self) -> flows_pb2.Flow:
        return run(self.app.transport, get_flow_plan(self.id))

    @property
    def kind(self) -> str:
        """``chain``, ``group`` or ``chord``."""
        return _KINDS.get(self._flow().kind, "flow")

    @property
    def state(self) -> str:
        """``STARTED`` while it runs, then ``SUCCESS`` or ``FAILURE``."""
        return _FLOW_STATES.get(self._flow().state, "PENDING")

    def ready(self) -> bool:
        return self._flow().state != flows_pb2.FLOW_RUNNING

    def successful(self) -> bool:
        return self._flow().state == flows_pb2.FLOW_SUCCEEDED

    def failed(self) -> bool:
        return self._flow().state == flows_pb2.FLOW_FAILED

    def parts(self) -> list[AsyncResult]:
        """The results of its tasks enqueued so far, in order (the callback last)."""
        return [AsyncResult(part.task_id, app=self.app) for part in _enqueued(self._flow())]

    def get(self, timeout: float | None = None, propagate: bool = True) -> Any:
        """Waits for the flow and returns its value; raises the error of the part that failed
        (or returns it, with ``propagate=False``), or :class:`~qraft.TimeoutError`."""
        plan = _get_plan(self.id, timeout, propagate, self.app.retry_policy.deadline)
        return run(self.app.transport, plan)

    async def get_async(self, timeout: float | None = None, propagate: bool = True) -> Any:
        """The asyncio twin of :meth:`get`."""
        plan = _get_plan(self.id, timeout, propagate, self.app.retry_policy.deadline)
        return await run_async(self.app.async_transport(), plan)

    def revoke(self) -> None:
        """Revokes every enqueued part not yet finished; the flow then fails (a chord whose
        ``on_failure`` is ``"run_callback"`` still runs its callback)."""
        run(self.app.transport, revoke_flow_plan(self.id))

    async def revoke_async(self) -> None:
        await run_async(self.app.async_transport(), revoke_flow_plan(self.id))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FlowResult):
            return self.id == other.id
        if isinstance(other, str):
            return self.id == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.id}>"


class GroupResult(FlowResult):
    """The result of a group: ``get()`` is the list of the members' values, in order (raising
    the first failed member's error when ``propagate``; with ``propagate=False`` a failed
    member's place holds its exception)::

        g = group(add.s(i, i) for i in range(10)).apply_async()
        g.get(timeout=30)   # [0, 2, 4, ...]
        len(g), g.completed_count(), g.results
    """

    @property
    def results(self) -> list[AsyncResult]:
        """The members' results, in order."""
        return self.parts()

    #: Celery's other name for :attr:`results`.
    @property
    def children(self) -> list[AsyncResult]:
        return self.parts()

    def completed_count(self) -> int:
        """Members that succeeded."""
        return sum(1 for part in self._flow().parts if state_name(part.state) == "SUCCESS")

    def waiting(self) -> bool:
        """True while a member has not finished."""
        return not self.ready()

    def __len__(self) -> int:
        return len(self._flow().parts)

    def __iter__(self) -> Iterator[AsyncResult]:
        return iter(self.parts())

    #: Celery's other name for :meth:`get`.
    join = FlowResult.get
