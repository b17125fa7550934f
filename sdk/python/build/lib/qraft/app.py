"""The application object: where the cluster is, and the tasks it knows.

::

    from qraft import Qraft

    app = Qraft("shop", cluster="10.0.0.1:7071,10.0.0.2:7071", token="...", ca="ca.pem")

    @app.task(name="mail.send", queue="mail", max_retries=3)
    def send_mail(to, subject, body=""):
        ...

    send_mail.delay("ada@example.com", subject="hi")
    app.send_task("thumbnail", args=("img/42.png",), queue="images")   # implemented elsewhere

Every setting not passed falls back to ``QRAFT_CLUSTER``, ``QRAFT_TOKEN``, ``QRAFT_CA``,
``QRAFT_CERT`` and ``QRAFT_KEY``. The app holds the connections (made on first use, shared by
threads) and the task registry; there is no other global state.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, overload

from . import _encoding
from ._config import Settings
from ._options import check_name, options_from, task_spec
from ._plan import run, run_async
from ._submitter import AsyncSubmitter, Submitter
from ._transport import AsyncTransport, RetryPolicy, Transport
from .result import AsyncResult, result_from_answer
from .schedules import Schedule, add_plan, list_plan, remove_plan, schedule_spec
from .task import Task

if TYPE_CHECKING:
    from .canvas import Signature
    from .v1 import tasks_pb2

__all__ = ["Qraft"]

# Celery task options a migrating user may pass, and what to use instead.
_CELERY_TASK_OPTIONS = {
    "time_limit": "timeout=... (seconds; the hard limit of one attempt)",
    "soft_time_limit": "timeout=... (there is no soft limit: the hard one stops the attempt)",
    "default_retry_delay": "retry_delay=...",
    "rate_limit": "a cluster-wide limit: `qraft limit set task:NAME COUNT PER` (the Control API)",
    "acks_late": "nothing: a task is always answered after it ran (its lease is extended)",
    "ignore_result": "nothing: results are kept for result_ttl (set result_ttl=... to shorten)",
    "serializer": "nothing: arguments and results are JSON (see qraft._encoding)",
    "retry_kwargs": "max_retries=... and retry_delay=... on the task",
}


class Qraft:
    """A qraft application (Celery's ``Celery`` object).

    ``cluster`` is ``"host:port,host:port"`` (or a list); ``token`` a bearer token; ``ca``,
    ``cert``, ``key`` file paths or PEM bytes for TLS. ``default_queue`` is where tasks go when
    they name none. ``retry_policy`` says how long a call rides out failovers before raising
    :class:`~qraft.Unavailable` (the default: up to 20 s).
    """

    _current: weakref.ref[Qraft] | None = None

    def __init__(
        self,
        name: str,
        cluster: str | list[str] | tuple[str, ...] | None = None,
        *,
        token: str | None = None,
        ca: str | bytes | None = None,
        cert: str | bytes | None = None,
        key: str | bytes | None = None,
        default_queue: str = "default",
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.name = name
        self.settings = Settings.resolve(cluster, token=token, ca=ca, cert=cert, key=key)
        self.default_queue = check_name(default_queue, "queue name")
        self.retry_policy = retry_policy or RetryPolicy()
        #: The registry: task name -> Task.
        self.tasks: dict[str, Task] = {}
        self._lock = threading.Lock()
        self._transport: Transport | None = None
        self._submitter: Submitter | None = None
        # One grpc.aio transport (and submitter) per event loop: aio channels belong to a loop.
        self._async: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[AsyncTransport, AsyncSubmitter]
        ] = weakref.WeakKeyDictionary()
        # The app AsyncResult(id) uses when given none (Celery's current_app).
        Qraft._current = weakref.ref(self)

    def __repr__(self) -> str:
        return f"<Qraft {self.name} {','.join(self.settings.addrs)}>"

    # -- connections -----------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        """The blocking transport, built on first use and shared by every thread."""
        transport = self._transport
        if transport is None:
            with self._lock:
                if self._transport is None:
                    self._transport = Transport(self.settings, self.retry_policy)
                transport = self._transport
        return transport

    def async_transport(self) -> AsyncTransport:
        """The ``grpc.aio`` transport of the running event loop (one per loop)."""
        return self._async_pair()[0]

    def _async_pair(self) -> tuple[AsyncTransport, AsyncSubmitter]:
        loop = asyncio.get_running_loop()
        with self._lock:
            pair = self._async.get(loop)
        if pair is None:
            book = self.transport.book  # outside the lock: it takes the lock itself
            transport = AsyncTransport(self.settings, book, self.retry_policy)
            pair = (transport, AsyncSubmitter(transport))
            with self._lock:
                pair = self._async.setdefault(loop, pair)
        return pair

    def close(self) -> None:
        """Closes the blocking connections (they reopen on next use)."""
        with self._lock:
            transport, self._transport = self._transport, None
            submitter, self._submitter = self._submitter, None
        if submitter is not None:
            submitter.close()
        if transport is not None:
            transport.close()

    async def close_async(self) -> None:
        """Closes the running loop's ``grpc.aio`` connections."""
        loop = asyncio.get_running_loop()
        with self._lock:
            pair = self._async.pop(loop, None)
        if pair is not None:
            await pair[0].close()

    def __enter__(self) -> Qraft:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def current(cls) -> Qraft:
        """The most recently created app still alive (what ``AsyncResult(id)`` uses)."""
        app = cls._current() if cls._current is not None else None
        if app is None:
            raise RuntimeError("no Qraft app exists: create one, or pass app=... explicitly")
        return app

    # -- tasks -----------------------------------------------------------------------------

    @overload
    def task(self, fun: Callable[..., Any], /) -> Task: ...

    @overload
    def task(self, fun: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], Task]: ...

    def task(
        self,
        fun: Callable[..., Any] | None = None,
        /,
        *,
        name: str | None = None,
        queue: str | None = None,
        max_retries: int = 3,
        retry_delay: float = 1.0,
        retry_backoff: float = 2.0,
        retry_backoff_max: float = 600.0,
        retry_jitter: bool = True,
        timeout: float | None = None,
        priority: int | None = None,
        expires: float | None = None,
        result_ttl: float | None = None,
        bind: bool = False,
        autoretry_for: tuple[type[BaseException], ...] = (),
        concurrency_key: str | None = None,
        concurrency_limit: int | None = None,
        delivery_limit: int | None = None,
        typing: bool = True,
        **celery_options: Any,
    ) -> Task | Callable[[Callable[..., Any]], Task]:
        """Registers a function as a task; use as ``@app.task`` or ``@app.task(...)``::

            @app.task(name="mail.send", queue="mail", max_retries=3, retry_delay=1.0,
                      timeout=30, bind=True, autoretry_for=(ConnectionError,))
            def send_mail(self, to, subject, body=""):
                ...

        The default name is ``module.qualname``. A plain exception fails the task for good;
        ``self.retry()`` or an exception in ``autoretry_for`` retries it, up to
        ``max_retries`` times, ``retry_delay`` seconds first, growing by ``retry_backoff``
        up to ``retry_backoff_max``, spread by ``retry_jitter``.
        """
        if celery_options:
            hints = "; ".join(
                f"{key}: use {_CELERY_TASK_OPTIONS[key]}" if key in _CELERY_TASK_OPTIONS
                else f"{key}: unknown option"
                for key in sorted(celery_options)
            )
            raise TypeError(f"app.task() does not take {', '.join(sorted(celery_options))} ({hints})")

        def decorate(f: Callable[..., Any]) -> Task:
            if not callable(f):
                raise TypeError(f"@app.task decorates a function, not {f!r}")
            task_name = name or f"{f.__module__}.{f.__qualname__}"
            task = Task(
                self, f, name=task_name, queue=queue, max_retries=max_retries,
                retry_delay=retry_delay, retry_backoff=retry_backoff,
                retry_backoff_max=retry_backoff_max, retry_jitter=retry_jitter,
                timeout=timeout, priority=priority, expires=expires, result_ttl=result_ttl,
                bind=bind, autoretry_for=autoretry_for, concurrency_key=concurrency_key,
                concurrency_limit=concurrency_limit, delivery_limit=delivery_limit,
                typing=typing,
            )
            self._register(task)
            return task

        return decorate(fun) if fun is not None else decorate

    def _register(self, task: Task) -> None:
        with self._lock:
            existing = self.tasks.get(task.name)
            if existing is not None and _origin(existing.fun) != _origin(task.fun):
                raise ValueError(
                    f"two tasks are named {task.name!r}: {_origin(existing.fun)} and "
                    f"{_origin(task.fun)}; give one of them another name=..."
                )
            # The same function again (a module imported twice) replaces its older self.
            self.tasks[task.name] = task

    # -- sending ---------------------------------------------------------------------------

    def send_task(
        self,
        name: str,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        payload: bytes | None = None,
        **options: Any,
    ) -> AsyncResult:
        """Sends a task by name, implemented anywhere (Python, Rust, an exec handler, Go...),
        with the same options as :meth:`Task.apply_async`. A task this app registered gets its
        defaults; for any other only the options given (and the cluster's defaults) apply::

            r = app.send_task("thumbnail", args=("img/42.png",), queue="images", max_retries=2)
            r = app.send_task("builtin.sleep", payload=b'{"ms": 50}')

        The arguments travel as ``{"args": [...], "kwargs": {...}}`` (see ``qraft._encoding``).
        ``payload`` sends these raw bytes instead, for a handler that reads its own format
        (the node's ``builtin.*`` handlers, exec programs).
        """
        return self._submit(self._send_spec(name, args, kwargs, payload, options, "send_task()"))

    async def send_task_async(
        self,
        name: str,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        payload: bytes | None = None,
        **options: Any,
    ) -> AsyncResult:
        """The asyncio twin of :meth:`send_task`."""
        return await self._submit_async(
            self._send_spec(name, args, kwargs, payload, options, "send_task_async()")
        )

    def _send_spec(
        self,
        name: str,
        args: tuple[Any, ...] | list[Any] | None,
        kwargs: Mapping[str, Any] | None,
        payload: bytes | None,
        options: Mapping[str, Any],
        where: str,
    ) -> tasks_pb2.TaskSpec:
        given = options_from(options, where=where)
        # A task this app registered: its defaults apply, as with task.apply_async().
        task = self.tasks.get(name)
        return task_spec(
            name,
            _payload(task, args, kwargs, payload),
            given,
            base=task._template() if task is not None else None,
            default_queue=self.default_queue,
        )

    def send_batch(self, signatures: Iterable[Signature]) -> list[AsyncResult]:
        """Sends many tasks with few calls (``SubmitBatch``, 1000 a call): the fastest way to
        enqueue a lot. Returns their results in order; each is durable when this returns::

            results = app.send_batch(add.s(i, i) for i in range(10_000))

        Each signature keeps its own options (``add.s(1, 2).set(priority=9)``). Not atomic
        across chunks of 1000: if a chunk fails, the earlier chunks stay submitted (resending
        the same signatures is safe: each carries an idempotency key, kept in the signature).
        """
        specs = [sig._batch_spec() for sig in signatures]
        answers = self._submitter_for_batches().submit_many(specs)
        return [result_from_answer(answer, self) for answer in answers]

    def signature(
        self,
        name: str,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        payload: bytes | None = None,
        **options: Any,
    ) -> Signature:
        """A signature of a task by name (``app.signature("thumbnail", ("a.png",))``), for
        canvases of tasks implemented elsewhere; ``payload`` as in :meth:`send_task`."""
        from .canvas import Signature

        sig = Signature(
            name, tuple(args or ()), dict(kwargs or {}), app=self, task=self.tasks.get(name),
            payload=payload,
        )
        return sig.set(**options) if options else sig

    def AsyncResult(self, task_id: str) -> AsyncResult:  # noqa: N802 - Celery's name
        """The result of a task by id: ``app.AsyncResult(id).get(timeout=10)``."""
        return AsyncResult(task_id, app=self)

    def _submit(self, spec: tasks_pb2.TaskSpec) -> AsyncResult:
        return result_from_answer(self._submitter_for_batches().submit(spec), self)

    async def _submit_async(self, spec: tasks_pb2.TaskSpec) -> AsyncResult:
        answer = await self._async_pair()[1].submit(spec)
        return result_from_answer(answer, self)

    def _submitter_for_batches(self) -> Submitter:
        submitter = self._submitter
        if submitter is None:
            transport = self.transport  # outside the lock: it takes the lock itself
            with self._lock:
                if self._submitter is None:
                    self._submitter = Submitter(transport)
                submitter = self._submitter
        return submitter

    # -- schedules (Celery beat, inside the cluster) ----------------------------------------

    def schedule(
        self,
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
        **options: Any,
    ) -> Schedule:
        """Adds (or replaces) a periodic schedule that the cluster fires, exactly once per due
        time whichever node leads (Celery beat, built in)::

            app.schedule("nightly-report", cron="0 0 3 * * *", tz="Europe/Paris",
                         task=report, args=("daily",))
            app.schedule("heartbeat", every=30, task="ops.ping", queue="ops")

        ``cron`` has seconds first (``"sec min hour dom month dow [year]"``); ``every`` is an
        interval (at least 0.1 s). ``misfire``: ``"skip"`` (runs missed while the cluster was
        down are skipped) or ``"catch_up"`` (the latest ``catch_up_limit`` of them run at
        once). ``grace``: how late a run may be and still count as on time (default 10 s).
        Options are those of ``apply_async`` except countdown, eta and idempotency_key.

        On a secured cluster this needs a token with the ``admin`` role.
        """
        spec = schedule_spec(
            self, name, task=task, cron=cron, every=every, args=args, kwargs=kwargs, tz=tz,
            misfire=misfire, catch_up_limit=catch_up_limit, grace=grace,
            options=options_from(options, where="schedule()"),
        )
        return run(self.transport, add_plan(spec))

    def unschedule(self, name: str) -> bool:
        """Removes a schedule; False when there was none. Needs an ``admin`` token."""
        return run(self.transport, remove_plan(check_name(name, "schedule name")))

    def schedules(self) -> list[Schedule]:
        """Every schedule, with its next and last run."""
        return run(self.transport, list_plan())

    async def schedule_async(self, name: str, **kwargs: Any) -> Schedule:
        """The asyncio twin of :meth:`schedule`."""
        options = {k: kwargs.pop(k) for k in list(kwargs) if k not in _SCHEDULE_ARGS}
        spec = schedule_spec(self, name, options=options_from(options, where="schedule_async()"), **kwargs)
        return await run_async(self.async_transport(), add_plan(spec))

    async def unschedule_async(self, name: str) -> bool:
        return await run_async(self.async_transport(), remove_plan(check_name(name, "schedule name")))

    async def schedules_async(self) -> list[Schedule]:
        return await run_async(self.async_transport(), list_plan())


_SCHEDULE_ARGS = frozenset(
    {"task", "cron", "every", "args", "kwargs", "tz", "misfire", "catch_up_limit", "grace"}
)


def _payload(
    task: Task | None,
    args: tuple[Any, ...] | list[Any] | None,
    kwargs: Mapping[str, Any] | None,
    payload: bytes | None,
) -> bytes:
    """The args payload: the encoded arguments (checked against a known task), or raw bytes."""
    if payload is not None:
        if args or kwargs:
            raise TypeError("give args/kwargs or a raw payload, not both")
        if not isinstance(payload, (bytes, bytearray)):
            raise TypeError(f"payload is raw bytes, not {type(payload).__name__}")
        return bytes(payload)
    if task is not None:
        task.check_arguments(tuple(args or ()), dict(kwargs or {}))
    return _encoding.encode_args(args, kwargs)


def _origin(fun: Callable[..., Any]) -> str:
    return f"{getattr(fun, '__module__', '?')}.{getattr(fun, '__qualname__', repr(fun))}"


