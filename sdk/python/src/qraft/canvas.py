"""Canvas: signatures, chains, groups and chords, with Celery's meaning, run by the cluster's
Flows (replicated, so a failover never stalls a flow or runs a callback twice)::

    chain(fetch.s(url), parse.s(), store.s(table="pages")).apply_async().get(timeout=60)
    (fetch.s(url) | parse.s()).delay()
    group(add.s(i, i) for i in range(10)).apply_async().get(timeout=30)   # [0, 2, 4, ...]
    chord(group(add.s(i, i) for i in range(10)), tsum.s()).apply_async().get(timeout=30)  # 90
    chord([add.s(1, 1), add.s(2, 2)])(tsum.s())

- A chain step after the first gets the previous step's return value as its first argument,
  then its own partial arguments (``.si()`` steps get only their own). The chain's value is the
  last step's.
- A group's value is the list of its members' values, in order.
- A chord's callback gets that list first, then its own partial arguments; the chord's value
  is the callback's.

What the cluster can run is one level: a chain of tasks, a group of tasks, or a chord of a group
of tasks and a callback task (``chain(group(...), cb.s())`` and ``group(...) | cb.s()`` are
such a chord). A group inside a chain, a chain inside a group, and other nestings are refused
with :class:`~qraft.InvalidTask`. A chord's callback cannot be immutable (``.si()``): it always
gets the members' values. Celery's ``link``/``link_error``, ``chunks``, ``map`` and ``starmap``
do not exist here.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import _encoding, errors
from ._options import EMPTY, TaskOptions, check_name, new_key, options_from, seconds, task_spec
from ._plan import Call, Plan, run, run_async
from ._transport import Kind
from .result import AsyncResult, FlowResult, GroupResult
from .v1 import flows_pb2

if TYPE_CHECKING:
    from .app import Qraft
    from .task import Task
    from .v1 import tasks_pb2

__all__ = ["Signature", "chain", "group", "chord", "signature"]

_SUPPORTED = (
    "qraft runs a chain of tasks, a group of tasks, or a chord (a group of tasks, then one "
    "callback task)"
)


def _resolve_app(app: Qraft | None) -> Qraft:
    if app is not None:
        return app
    from .app import Qraft

    return Qraft.current()


class Signature:
    """A task with (partial) arguments and options, to send later or compose
    (``add.s(2, 3)``, ``add.si(2, 3)``, ``app.signature("thumbnail", ("a.png",))``)::

        sig = add.s(2, 3).set(queue="math", priority=7)
        sig.delay()            # AsyncResult
        sig | mul.s(10)        # a chain
    """

    def __init__(
        self,
        name: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        app: Qraft | None = None,
        task: Task | None = None,
        immutable: bool = False,
        options: TaskOptions | None = None,
        payload: bytes | None = None,
    ) -> None:
        self.name = check_name(name)
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.app = app if app is not None else (task.app if task is not None else _resolve_app(None))
        #: The registered task, when this app knows it (its defaults then apply).
        self.task = task if task is not None else self.app.tasks.get(name)
        self.immutable = immutable
        self.options = options or EMPTY
        #: Raw args bytes instead of the encoded arguments (app.signature(..., payload=...)).
        self.payload = payload
        if payload is not None and (self.args or self.kwargs):
            raise TypeError("give args/kwargs or a raw payload, not both")

    # -- building ----------------------------------------------------------------------------

    def set(self, **options: Any) -> Signature:
        """Sets submit options (those of ``apply_async``) on this signature; returns it."""
        if "immutable" in options:
            self.immutable = bool(options.pop("immutable"))
        self.options = self.options.merged(options_from(options, where="Signature.set()"))
        return self

    def clone(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Signature:
        """A copy, with ``args`` prepended (unless immutable), ``kwargs`` and options merged."""
        sig = copy.copy(self)
        sig.args, sig.kwargs = self._merge(args, kwargs)
        if options:
            sig.options = self.options.merged(options_from(options, where="Signature.clone()"))
        return sig

    def _merge(
        self, args: tuple[Any, ...] | list[Any] | None, kwargs: Mapping[str, Any] | None
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        # As Celery: arguments given when applying come first; an immutable signature keeps its
        # own.
        if self.immutable:
            return self.args, self.kwargs
        return tuple(args or ()) + self.args, {**self.kwargs, **(kwargs or {})}

    # -- specs (the shared core of the twins) --------------------------------------------------

    def _spec_of(
        self, payload: bytes, options: TaskOptions | None, **how: Any
    ) -> tasks_pb2.TaskSpec:
        """The task's defaults, then this signature's options, then ``options``."""
        return task_spec(
            self.name,
            payload,
            self.options,
            options,
            base=self.task._template() if self.task is not None else None,
            default_queue=self.app.default_queue,
            **how,
        )

    def _check(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        if self.task is not None:
            self.task.check_arguments(args, kwargs)

    def _payload(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bytes:
        if self.payload is not None:
            if args or kwargs:
                raise TypeError(f"{self.name} has a raw payload: it takes no other arguments")
            return self.payload
        self._check(args, kwargs)
        return _encoding.encode_args(args, kwargs)

    def _spec(
        self,
        args: tuple[Any, ...] | list[Any] | None,
        kwargs: Mapping[str, Any] | None,
        options: TaskOptions | None,
    ) -> tasks_pb2.TaskSpec:
        """The spec of this signature sent as a task of its own."""
        args, kwargs = self._merge(args, kwargs)
        return self._spec_of(self._payload(args, kwargs), options)

    def _batch_spec(self) -> tasks_pb2.TaskSpec:
        return self._spec(None, None, None)

    def _step(self, role: str, options: TaskOptions) -> flows_pb2.FlowStep:
        """This signature as a flow part. ``role``: ``first`` (a chain's first step), ``step``
        (a later chain step), ``member`` (of a group or chord) or ``callback``."""
        if role == "callback" and self.immutable:
            raise errors.InvalidTask(
                f"a chord's callback always gets the members' values first, so {self!r} cannot "
                "be immutable (.si()): use .s() and ignore the first argument"
            )
        if (role == "step" and not self.immutable) or role == "callback":
            # The server hands this part the previous result (or every member's) as its args;
            # its own partial arguments travel in a header.
            if self.payload is not None:
                raise errors.InvalidTask(
                    f"{self!r} has a raw payload, but as a chain step or chord callback its args "
                    "are the previous result: make it immutable (immutable=True) or drop the payload"
                )
            self._check((None, *self.args), self.kwargs)
            canvas = _encoding.CHAIN_STEP if role == "step" else _encoding.CHORD_CALLBACK
            headers = {_encoding.CANVAS: canvas}
            if self.args or self.kwargs:
                headers[_encoding.PARTIAL_ARGS] = _encoding.partial_header(self.args, self.kwargs)
            spec = self._spec_of(b"", options, extra_headers=headers, keyed=False, timed=False)
            return flows_pb2.FlowStep(task=spec)
        spec = self._spec_of(self._payload(self.args, self.kwargs), options, keyed=False, timed=False)
        return flows_pb2.FlowStep(task=spec, immutable=self.immutable and role == "step")

    # -- sending -----------------------------------------------------------------------------

    def delay(self, *args: Any, **kwargs: Any) -> AsyncResult:
        """Sends it, with ``args`` prepended to its own (unless immutable)."""
        return self.apply_async(args, kwargs)

    def apply_async(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> AsyncResult:
        """Sends it as one task, with the options of ``Task.apply_async``."""
        return self.app._submit(self._spec(args, kwargs, options_from(options)))

    async def delay_async(self, *args: Any, **kwargs: Any) -> AsyncResult:
        return await self.apply_async_async(args, kwargs)

    async def apply_async_async(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> AsyncResult:
        """The asyncio twin of :meth:`apply_async`."""
        spec = self._spec(args, kwargs, options_from(options, where="apply_async_async()"))
        return await self.app._submit_async(spec)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the task here and now with the merged arguments, as Celery does."""
        if self.task is None:
            raise TypeError(f"{self.name} is not a task of this app, so it cannot run here")
        call_args, call_kwargs = self._merge(args, kwargs)
        return self.task(*call_args, **call_kwargs)

    # -- composing ---------------------------------------------------------------------------

    def __or__(self, other: object) -> chain:
        if isinstance(other, (Signature, chain)):
            return chain(self, other)
        if isinstance(other, (group, chord)):
            raise errors.InvalidTask(f"a group or chord after a task in a chain: {_SUPPORTED}")
        return NotImplemented

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(parts)}){'!' if self.immutable else ''}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signature):
            return NotImplemented
        return (self.name, self.args, self.kwargs, self.immutable, self.options) == (
            other.name, other.args, other.kwargs, other.immutable, other.options,
        )

    __hash__ = None  # type: ignore[assignment] - mutable (set())



def _flow_options(options: Mapping[str, Any], where: str) -> tuple[TaskOptions, str | None, Any]:
    """Splits a flow's ``apply_async`` options: the flow's own (idempotency key, result TTL)
    and those applied to every task."""
    options = dict(options)
    key = options.pop("idempotency_key", None)
    for timed in ("countdown", "eta"):
        if options.get(timed) is not None:
            raise errors.InvalidTask(
                f"{timed} is not supported for a flow: the flow decides when its tasks run "
                "(delay the first task with a schedule, or send the flow later)"
            )
    task_options = options_from(options, where=where)
    return task_options, key, task_options.result_ttl


def _submit_flow_plan(spec: flows_pb2.FlowSpec) -> Plan[flows_pb2.SubmitFlowResponse]:
    # Keyed: a resend after a lost answer returns the same flow.
    request = flows_pb2.SubmitFlowRequest(flow=spec)
    return (yield Call("Flows", "SubmitFlow", request, Kind.KEYED))  # type: ignore[no-any-return]


class _Flow(ABC):
    """What chain, group and chord share: build a ``FlowSpec``, submit it, wrap the answer."""

    app: Qraft
    _result_class: type[FlowResult] = FlowResult

    @abstractmethod
    def _flow_spec(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None, options: TaskOptions
    ) -> flows_pb2.FlowSpec:
        """The flow as the server takes it, with the caller's first args and options."""

    def _prepare(
        self,
        args: tuple[Any, ...] | list[Any] | None,
        kwargs: Mapping[str, Any] | None,
        options: Mapping[str, Any],
        where: str,
    ) -> flows_pb2.FlowSpec:
        task_options, key, result_ttl = _flow_options(options, where)
        spec = self._flow_spec(tuple(args or ()), kwargs, task_options)
        spec.idempotency_key = key if key is not None else new_key()
        if result_ttl is not None:
            spec.result_ttl_ms = max(1, math.ceil(seconds(result_ttl, "result_ttl") * 1000))
        return spec

    def _wrap(self, answer: flows_pb2.SubmitFlowResponse) -> FlowResult:
        result = self._result_class(answer.id, app=self.app)
        result.duplicate = answer.duplicate
        return result

    def apply_async(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """Submits the flow (one call, durable when it returns) and returns its result.
        ``idempotency_key``: a resubmit with the same key returns the first flow;
        ``result_ttl``: how long the flow and its results are kept; other options (queue,
        priority, max_retries, timeout, ...) apply to every task of the flow."""
        spec = self._prepare(args, kwargs, options, "apply_async()")
        return self._wrap(run(self.app.transport, _submit_flow_plan(spec)))

    async def apply_async_async(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """The asyncio twin of :meth:`apply_async`."""
        spec = self._prepare(args, kwargs, options, "apply_async_async()")
        return self._wrap(await run_async(self.app.async_transport(), _submit_flow_plan(spec)))

    def delay(self, *args: Any, **kwargs: Any) -> Any:
        return self.apply_async(args, kwargs)

    async def delay_async(self, *args: Any, **kwargs: Any) -> Any:
        return await self.apply_async_async(args, kwargs)


def _signatures(items: Iterable[Any], where: str) -> list[Signature]:
    out: list[Signature] = []
    for item in items:
        if not isinstance(item, Signature):
            raise errors.InvalidTask(
                f"{where} holds {type(item).__name__} {item!r}, but only task signatures "
                f"(task.s(...)) fit there: {_SUPPORTED}"
            )
        out.append(item)
    if not out:
        raise errors.InvalidTask(f"{where} needs at least one task")
    if len(out) > 1000:
        raise errors.InvalidTask(f"{where} holds at most 1000 tasks, not {len(out)}")
    return out


def _items(tasks: tuple[Any, ...]) -> list[Any]:
    # Celery accepts both chain(a, b, c) and chain([a, b, c]) (or a generator).
    if len(tasks) == 1 and not isinstance(tasks[0], (Signature, _Flow)):
        return list(tasks[0])
    return list(tasks)


class chain(_Flow):  # noqa: N801 - Celery's name
    """Tasks one after another, each after the first getting the previous value first::

        chain(add.s(2, 2), mul.s(10), add.si(1, 1)).apply_async().get(timeout=30)  # 2
        (add.s(2, 2) | mul.s(10)).delay().get(timeout=30)                          # 40

    ``chain(group(...), cb.s())`` is a chord (as in Celery).
    """

    def __init__(self, *tasks: Any, app: Qraft | None = None) -> None:
        items: list[Any] = []
        for item in _items(tasks):
            items.extend(item.tasks if isinstance(item, chain) else [item])
        if len(items) >= 2 and isinstance(items[0], group):
            self._chord: chord | None = chord(items[0], _chord_body(items[1:]))
        else:
            self._chord = None
            _signatures(items, "a chain")
        self.tasks: list[Any] = items
        first = items[0] if items else None
        self.app = app or (first.app if first is not None else _resolve_app(None))

    def _flow_spec(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None, options: TaskOptions
    ) -> flows_pb2.FlowSpec:
        if self._chord is not None:
            return self._chord._flow_spec(args, kwargs, options)
        steps = []
        for i, sig in enumerate(self.tasks):
            if i == 0:
                first = sig.clone(args, kwargs) if (args or kwargs) else sig
                steps.append(first._step("first", options))
            else:
                steps.append(sig._step("step", options))
        return flows_pb2.FlowSpec(kind=flows_pb2.CHAIN, steps=steps)

    def __or__(self, other: object) -> chain:
        if isinstance(other, (Signature, chain)):
            return chain(self, other)
        if isinstance(other, (group, chord)):
            raise errors.InvalidTask(f"a group or chord after a chain: {_SUPPORTED}")
        return NotImplemented

    def __repr__(self) -> str:
        return " | ".join(repr(t) for t in self.tasks)


def _chord_body(rest: list[Any]) -> Signature:
    if len(rest) != 1 or not isinstance(rest[0], Signature):
        raise errors.InvalidTask(
            f"after a group, a chain may have exactly one task (the chord's callback): {_SUPPORTED}"
        )
    return rest[0]


class group(_Flow):  # noqa: N801 - Celery's name
    """Tasks run in parallel; the value is the list of their values, in order::

        group(add.s(i, i) for i in range(10)).apply_async().get(timeout=30)
    """

    _result_class = GroupResult

    def __init__(self, *tasks: Any, app: Qraft | None = None) -> None:
        self.tasks: list[Signature] = _signatures(_items(tasks), "a group")
        self.app = app or self.tasks[0].app

    def _flow_spec(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None, options: TaskOptions
    ) -> flows_pb2.FlowSpec:
        return flows_pb2.FlowSpec(kind=flows_pb2.GROUP, steps=self._members(args, kwargs, options))

    def _members(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None, options: TaskOptions
    ) -> list[flows_pb2.FlowStep]:
        # As Celery: arguments given when applying are prepended to every member's.
        return [
            (sig.clone(args, kwargs) if (args or kwargs) else sig)._step("member", options)
            for sig in self.tasks
        ]

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> GroupResult:
        return super().apply_async(args, kwargs, **options)  # type: ignore[no-any-return]

    async def apply_async_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> GroupResult:
        return await super().apply_async_async(args, kwargs, **options)  # type: ignore[no-any-return]

    def __or__(self, other: object) -> chord:
        if isinstance(other, Signature):
            return chord(self, other)
        if isinstance(other, chain) and len(other.tasks) == 1 and isinstance(other.tasks[0], Signature):
            return chord(self, other.tasks[0])
        raise errors.InvalidTask(f"after a group, only one task (a chord's callback): {_SUPPORTED}")

    def __len__(self) -> int:
        return len(self.tasks)

    def __repr__(self) -> str:
        return f"group([{', '.join(repr(t) for t in self.tasks)}])"


class chord(_Flow):  # noqa: N801 - Celery's name
    """A group, then a callback that gets the list of the members' values first::

        chord(group(add.s(i, i) for i in range(10)), tsum.s()).apply_async().get(timeout=30)
        chord([add.s(1, 1), add.s(2, 2)])(tsum.s())      # Celery's call form: applies it

    ``on_failure``: ``"fail"`` (default: the chord fails as soon as a member fails, and the
    callback never runs) or ``"run_callback"`` (the callback runs once every member is done,
    with a failed member's place holding its exception).
    """

    def __init__(
        self,
        header: group | Iterable[Signature],
        body: Signature | None = None,
        *,
        on_failure: str = "fail",
        app: Qraft | None = None,
    ) -> None:
        self.header = header if isinstance(header, group) else group(header)
        if body is not None and not isinstance(body, Signature):
            raise errors.InvalidTask(f"a chord's callback is one task signature: {_SUPPORTED}")
        self.body = body
        if on_failure not in ("fail", "run_callback"):
            raise errors.InvalidTask(f'on_failure is "fail" or "run_callback", not {on_failure!r}')
        self.on_failure = on_failure
        self.app = app or self.header.app

    def __call__(self, body: Signature | None = None, **options: Any) -> FlowResult:
        """Applies the chord, with ``body`` as its callback if given (``chord(header)(cb)``)."""
        if body is not None:
            return chord(self.header, body, on_failure=self.on_failure, app=self.app).apply_async(**options)
        return self.apply_async(**options)  # type: ignore[no-any-return]

    def _flow_spec(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None, options: TaskOptions
    ) -> flows_pb2.FlowSpec:
        if self.body is None:
            raise errors.InvalidTask("a chord needs a callback: chord(header, callback.s())")
        return flows_pb2.FlowSpec(
            kind=flows_pb2.CHORD,
            steps=self.header._members(args, kwargs, options),
            callback=self.body._step("callback", options),
            on_failure=(
                flows_pb2.RUN_CALLBACK if self.on_failure == "run_callback" else flows_pb2.FAIL_CHORD
            ),
        )

    def __or__(self, other: object) -> Any:
        raise errors.InvalidTask(f"a chord cannot be followed by more tasks: {_SUPPORTED}")

    def __repr__(self) -> str:
        return f"chord({self.header!r}, {self.body!r})"


def signature(
    varies: Task | Signature | str,
    args: tuple[Any, ...] | list[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    *,
    app: Qraft | None = None,
    **options: Any,
) -> Signature:
    """A signature from a task, a task name or another signature (Celery's ``signature``)::

        signature(add, (2, 3), queue="math")
        signature("thumbnail", ("a.png",), app=app)
    """
    if isinstance(varies, Signature):
        return varies.clone(args, kwargs, **options)
    from .task import Task

    if isinstance(varies, Task):
        return varies.signature(args, kwargs, **options)
    if isinstance(varies, str):
        return _resolve_app(app).signature(varies, args, kwargs, **options)
    raise TypeError(f"signature() takes a task, a task name or a signature, not {varies!r}")
