"""One core for the blocking and the asyncio API (the httpx way): every multi-step operation
(waiting for a result, following a flow, ...) is written once as a *plan*, a generator that
yields the calls it needs and receives their answers::

    def revoke_plan(task_id: str) -> Plan[str]:
        answer = yield Call("Tasks", "Revoke", tasks_pb2.RevokeRequest(id=task_id), Kind.KEYED)
        return state_name(answer.state)

    state = run(app.transport, revoke_plan(id))                  # blocking
    state = await run_async(app.async_transport(), revoke_plan(id))  # asyncio

A call that fails is thrown into the plan as its :mod:`qraft.errors` exception, so the plan
decides whether to go on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from ._transport import AsyncTransport, Kind, Transport

__all__ = ["Call", "Pause", "Plan", "run", "run_async"]

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One gRPC call: ``service.method(request)`` with the transport's retries."""

    service: str
    method: str
    request: Any
    kind: Kind
    #: Seconds one attempt may take (None: the transport's default).
    timeout: float | None = None


@dataclass(frozen=True)
class Pause:
    """Wait this long before the next step (blocking: ``time.sleep``; asyncio: ``sleep``)."""

    seconds: float


Step = Union[Call, Pause]
Plan = Generator[Step, Any, T]


def run(transport: Transport, plan: Plan[T]) -> T:
    """Runs ``plan`` with blocking calls; returns what it returns."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, Pause):
                time.sleep(step.seconds)
                step = plan.send(None)
                continue
            try:
                answer = transport.call(
                    step.service, step.method, step.request, kind=step.kind, timeout=step.timeout
                )
            except Exception as error:  # noqa: BLE001 - the plan decides
                step = plan.throw(error)
            else:
                step = plan.send(answer)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


async def run_async(transport: AsyncTransport, plan: Plan[T]) -> T:
    """Runs ``plan`` on ``grpc.aio``; returns what it returns."""
    try:
        step = next(plan)
        while True:
            if isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
                step = plan.send(None)
                continue
            try:
                answer = await transport.call(
                    step.service, step.method, step.request, kind=step.kind, timeout=step.timeout
                )
            except Exception as error:  # noqa: BLE001 - the plan decides
                step = plan.throw(error)
            else:
                step = plan.send(answer)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
