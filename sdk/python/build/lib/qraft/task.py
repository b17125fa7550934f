"""A task: a Python function registered on an app, callable locally and sendable to the cluster.

::

    @app.task(name="mail.send", queue="mail", max_retries=3, timeout=30)
    def send_mail(to: str, subject: str, body: str = "") -> str:
        ...

    send_mail("ada@example.com", "hi")            # runs here, now (a plain call)
    r = send_mail.delay("ada@example.com", subject="hi")   # runs on a worker; r is an AsyncResult
    send_mail.apply_async(args=("ada@example.com",), countdown=10, priority=7)
    send_mail.s("ada@example.com") | log_sent.s()            # canvas (see qraft.canvas)
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from . import _encoding, errors
from ._context import Request, Retry, current_request
from ._options import TaskOptions, check_name, check_priority, task_spec
from .canvas import Signature
from .result import AsyncResult

if TYPE_CHECKING:
    from .app import Qraft
    from .v1 import tasks_pb2

__all__ = ["Task"]


class Task:
    """A registered task (made by :meth:`qraft.Qraft.task`; not built directly).

    The attributes are the task's defaults for every submit; ``apply_async`` options override
    them per call. Durations are in seconds.
    """

    def __init__(
        self,
        app: Qraft,
        fun: Callable[..., Any],
        *,
        name: str,
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
    ) -> None:
        self.app = app
        self.fun = fun
        self.name = check_name(name)
        #: The queue its submits go to by default.
        self.queue = check_name(queue or app.default_queue, "queue name")
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        #: Growth factor of the delay between retries (Celery's ``retry_backoff`` is a bool or
        #: the first delay; here the first delay is ``retry_delay``).
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.retry_jitter = retry_jitter
        #: Hard time limit of one attempt, seconds (Celery's ``time_limit``).
        self.timeout = timeout
        self.priority = None if priority is None else check_priority(priority)
        self.expires = expires
        self.result_ttl = result_ttl
        self.bind = bind
        self.autoretry_for = tuple(autoretry_for)
        self.concurrency_key = concurrency_key
        self.concurrency_limit = concurrency_limit
        self.delivery_limit = delivery_limit
        #: Check the arguments of ``.delay()`` against the function's signature (as Celery).
        self.typing = typing
        self.is_coroutine = inspect.iscoroutinefunction(fun)
        functools.update_wrapper(self, fun)  # type: ignore[arg-type]
        self._template_cache: tuple[tuple[Any, ...], tasks_pb2.TaskSpec] | None = None
        # The defaults are checked now, so a bad decorator fails at import, not at first submit.
        self._template()

    # -- running it here -------------------------------------------------------------------

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Calls the function (with the task first when ``bind=True``)."""
        if self.bind:
            return self.fun(self, *args, **kwargs)
        return self.fun(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calling the task runs it locally, as calling the function would."""
        return self.run(*args, **kwargs)

    @property
    def request(self) -> Request:
        """The attempt being run, in a ``bind=True`` task (``self.request.id``, ``.retries``);
        outside a worker, an empty request with no id."""
        request = current_request.get()
        if request is None:
            return Request(id="", name=self.name, queue=self.queue)
        return request

    def retry(self, exc: BaseException | None = None, countdown: float | None = None) -> NoReturn:
        """Fails this attempt and runs the task again, after ``countdown`` seconds if given
        (else the retry policy's backoff), while ``max_retries`` allows::

            @app.task(bind=True, max_retries=5)
            def fetch(self, url):
                try:
                    return get(url)
                except ConnectionError as e:
                    raise self.retry(exc=e, countdown=10)

        Outside a worker (a plain call) it raises ``exc`` itself, as Celery does.
        """
        if current_request.get() is None and exc is not None:
            raise exc
        raise Retry(exc, countdown) from exc

    # -- sending it ------------------------------------------------------------------------

    def options(self) -> TaskOptions:
        """The task's defaults as submit options."""
        return TaskOptions(
            queue=self.queue,
            priority=self.priority,
            max_retries=self.max_retries,
            retry_delay=self.retry_delay,
            retry_backoff=self.retry_backoff,
            retry_backoff_max=self.retry_backoff_max,
            retry_jitter=self.retry_jitter,
            timeout=self.timeout,
            expires=self.expires,
            result_ttl=self.result_ttl,
            concurrency_key=self.concurrency_key,
            concurrency_limit=self.concurrency_limit,
            delivery_limit=self.delivery_limit,
        )

    def _template(self) -> tasks_pb2.TaskSpec:
        """The spec of the task's defaults, built once and again only when an attribute
        changed: each submit copies it and sets its own arguments and options on top."""
        key = (
            self.name, self.queue, self.app.default_queue, self.priority, self.max_retries,
            self.retry_delay, self.retry_backoff, self.retry_backoff_max, self.retry_jitter,
            self.timeout, self.expires, self.result_ttl, self.concurrency_key,
            self.concurrency_limit, self.delivery_limit,
        )
        cached = self._template_cache
        if cached is None or cached[0] != key:
            spec = task_spec(
                self.name, b"", self.options(), default_queue=self.app.default_queue, keyed=False
            )
            self._template_cache = cached = (key, spec)
        return cached[1]

    def check_arguments(self, args: tuple[Any, ...] | list[Any], kwargs: Mapping[str, Any]) -> None:
        """``TypeError`` when the function cannot be called with these arguments."""
        if not self.typing:
            return
        signature, positional = _signature(self.fun, self.bind)
        if signature is None:
            return
        # The common case, positional arguments only to a plain function, without bind().
        if positional is not None and not kwargs and positional[0] <= len(args) <= positional[1]:
            return
        try:
            signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.name}{signature}: {e}") from None

    def delay(self, *args: Any, **kwargs: Any) -> AsyncResult:
        """Sends the task with these arguments; returns once it is stored on a majority::

            r = add.delay(2, 3)
            r.get(timeout=10)   # 5
        """
        return self.app._submit(self._spec(args, kwargs, None))

    def apply_async(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        countdown: float | timedelta | None = None,
        eta: datetime | None = None,
        expires: float | timedelta | datetime | None = None,
        priority: int | None = None,
        queue: str | None = None,
        idempotency_key: str | None = None,
        concurrency_key: str | None = None,
        concurrency_limit: int | None = None,
        headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        timeout: float | timedelta | None = None,
        result_ttl: float | timedelta | None = None,
    ) -> AsyncResult:
        """Sends the task with per-call options; returns once it is stored on a majority::

            add.apply_async((2, 3), countdown=10, priority=7, queue="urgent",
                            idempotency_key="order-42")

        ``countdown`` (seconds) or ``eta`` (a datetime, naive = UTC): not before then.
        ``expires`` (seconds or a datetime): never started after then (state EXPIRED).
        ``priority`` 0..9, 9 first. ``idempotency_key``: a second submit with the same key
        returns the first task. ``concurrency_key``: at most ``concurrency_limit`` (default 1)
        tasks with this key run at once in the whole cluster. ``timeout``: hard limit of one
        attempt. ``result_ttl``: how long the result is kept.
        """
        spec = self._spec(
            args,
            kwargs,
            TaskOptions(
                countdown=countdown,
                eta=eta,
                expires=expires,
                priority=priority,
                queue=queue,
                idempotency_key=idempotency_key,
                concurrency_key=concurrency_key,
                concurrency_limit=concurrency_limit,
                headers=headers,
                max_retries=max_retries,
                timeout=timeout,
                result_ttl=result_ttl,
            ),
        )
        return self.app._submit(spec)

    async def delay_async(self, *args: Any, **kwargs: Any) -> AsyncResult:
        """The asyncio twin of :meth:`delay`: ``r = await add.delay_async(2, 3)``."""
        return await self.apply_async_async(args, kwargs)

    async def apply_async_async(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> AsyncResult:
        """The asyncio twin of :meth:`apply_async`, with the same options."""
        from ._options import options_from

        spec = self._spec(args, kwargs, options_from(options, where="apply_async_async()"))
        return await self.app._submit_async(spec)

    def _spec(
        self,
        args: tuple[Any, ...] | list[Any] | None,
        kwargs: Mapping[str, Any] | None,
        options: TaskOptions | None,
    ) -> tasks_pb2.TaskSpec:
        args = tuple(args or ())
        kwargs = dict(kwargs or {})
        self.check_arguments(args, kwargs)
        payload = _encoding.encode_args(args, kwargs)
        return task_spec(self.name, payload, options, base=self._template())

    # -- canvas ----------------------------------------------------------------------------

    def s(self, *args: Any, **kwargs: Any) -> Signature:
        """A signature with partial arguments: in a chain, the previous step's result comes
        first (``add.s(10)`` after a step returning 5 runs ``add(5, 10)``)."""
        return Signature(self.name, args, kwargs, app=self.app, task=self)

    def si(self, *args: Any, **kwargs: Any) -> Signature:
        """An immutable signature: runs with exactly these arguments, ignoring the previous
        step's result."""
        return Signature(self.name, args, kwargs, app=self.app, task=self, immutable=True)

    def signature(
        self,
        args: tuple[Any, ...] | list[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        immutable: bool = False,
        **options: Any,
    ) -> Signature:
        """Celery's long form of :meth:`s`: ``add.signature((2,), {}, queue="urgent")``."""
        sig = Signature(
            self.name, tuple(args or ()), dict(kwargs or {}), app=self.app, task=self,
            immutable=immutable,
        )
        return sig.set(**options) if options else sig

    def AsyncResult(self, task_id: str) -> AsyncResult:  # noqa: N802 - Celery's name
        """The result of an earlier submit of this task, by id."""
        return AsyncResult(task_id, app=self.app)

    # -- plumbing ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<@task: {self.name} of {self.app.name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by reference (module and attribute), as functions are, so a task can be
        # handed to a process pool; the app and its connections stay behind.
        return (_find_task, (self.fun.__module__, self.fun.__qualname__, self.name))


def _find_task(module: str, qualname: str, name: str) -> Task:
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    if not isinstance(found, Task) or found.name != name:
        raise errors.QraftError(
            f"{module}.{qualname} is not the task {name!r} in this process: import the task "
            "at module level so it can be found by name"
        )
    return found


@functools.lru_cache(maxsize=4096)
def _signature(
    fun: Callable[..., Any], bind: bool
) -> tuple[inspect.Signature | None, tuple[int, int] | None]:
    """The signature to check calls against (without ``self`` for a bound task), and, when
    every parameter may be given by position, how many positional arguments it takes."""
    try:
        signature = inspect.signature(fun)
    except (TypeError, ValueError):  # a builtin or C function with no introspectable signature
        return None, None
    if bind:
        parameters = list(signature.parameters.values())[1:]
        signature = signature.replace(parameters=parameters)
    kinds = [p.kind for p in signature.parameters.values()]
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not all(kind in plain for kind in kinds):
        return signature, None
    required = sum(1 for p in signature.parameters.values() if p.default is inspect.Parameter.empty)
    return signature, (required, len(kinds))
