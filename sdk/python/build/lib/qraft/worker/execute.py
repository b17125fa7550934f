"""Running one attempt in this process: the arguments, ``self.request``, the call, and what its
return value or exception means (Celery's rules).

- The return value is the result, as JSON; one that is not JSON fails the attempt for good
  with the ``TypeError`` that says why.
- ``self.retry(countdown=...)`` (raising :class:`~qraft._context.Retry`) and an exception listed
  in the task's ``autoretry_for`` fail the attempt so that the retry policy runs it again (after
  exactly ``countdown`` when given); when no retry is left the cluster fails it for good.
- Any other exception fails the attempt **for good** with its traceback as the error, even when
  the task has retries left: as in Celery, only a retry that was asked for is made.

Every pool calls :meth:`Executor.run_sync` or :meth:`Executor.run_async`; the process pool's
children do too, so a task behaves the same in every pool.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from typing import Any

from .._context import Retry, current_request
from .._encoding import call_arguments, encode_result
from .job import FAILURE, RETRY, SUCCESS, Job, Outcome

__all__ = ["Executor", "time_limit_error"]


def time_limit_error(timeout: float) -> str:
    """The error of an attempt stopped at its hard time limit."""
    return f"hard time limit ({timeout:g}s) exceeded"


#: Frames of the SDK itself (the executor, Task.run) are left out of a task's traceback: the
#: user's code is what matters.
_SDK = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _traceback(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_SDK):
            break
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()


def _brief(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Executor:
    """Runs the tasks of one app: ``tasks`` maps a task name to its :class:`~qraft.task.Task`;
    ``hostname`` is the worker id shown in ``self.request.hostname``."""

    def __init__(self, tasks: dict[str, Any], hostname: str) -> None:
        self.tasks = tasks
        self.hostname = hostname

    def is_coroutine(self, name: str) -> bool:
        task = self.tasks.get(name)
        return bool(task is not None and getattr(task, "is_coroutine", False))

    def _prepare(self, job: Job) -> tuple[Any, list[Any], dict[str, Any]] | Outcome:
        task = self.tasks.get(job.name)
        if task is None:
            names = sorted(self.tasks)
            known = ", ".join(names[:20])
            if len(names) > 20:
                known += f" and {len(names) - 20} more"
            return Outcome.failure(
                f"this worker has no task named {job.name!r} (it runs: {known}); "
                "register it with @app.task(name=...) in the app the worker loads"
            )
        try:
            args, kwargs = call_arguments(job.payload, job.headers)
        except (ValueError, TypeError, AttributeError) as e:
            return Outcome.failure(
                f"cannot decode the arguments of {job.name}: {e} (qraft tasks take "
                '{"args": [...], "kwargs": {...}} as UTF-8 JSON; see qraft._encoding)'
            )
        return task, args, kwargs

    def run_sync(self, job: Job) -> Outcome:
        """Runs a plain-function task to its outcome (never raises for the task's sake)."""
        prepared = self._prepare(job)
        if isinstance(prepared, Outcome):
            return prepared
        task, args, kwargs = prepared
        token = current_request.set(job.request(args, kwargs, self.hostname))
        try:
            value = task.run(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - a task's failure is an outcome, even SystemExit
            if isinstance(exc, KeyboardInterrupt):
                raise
            return self.classify(task, exc)
        finally:
            current_request.reset(token)
        return self._success(value)

    async def run_async(self, job: Job) -> Outcome:
        """Runs an ``async def`` task to its outcome; cancelling it propagates."""
        prepared = self._prepare(job)
        if isinstance(prepared, Outcome):
            return prepared
        task, args, kwargs = prepared
        # Each asyncio task runs in a copy of the context: this request is its own.
        token = current_request.set(job.request(args, kwargs, self.hostname))
        try:
            value = await task.run(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            return self.classify(task, exc)
        finally:
            current_request.reset(token)
        return self._success(value)

    @staticmethod
    def _success(value: Any) -> Outcome:
        try:
            return Outcome(SUCCESS, result=encode_result(value))
        except TypeError as e:
            return Outcome.failure(f"TypeError: {e}")

    @staticmethod
    def classify(task: Any, exc: BaseException) -> Outcome:
        """The outcome of an attempt that raised ``exc``."""
        if isinstance(exc, Retry):
            cause = exc.exc
            error = _traceback(cause) if cause is not None and cause.__traceback__ else str(exc)
            if exc.countdown is not None:
                retry_in_ms = max(0, round(exc.countdown * 1000))
                note = f"retry in {exc.countdown:g}s: {exc}"
            else:
                retry_in_ms = None
                note = f"retry: {exc}"
            return Outcome(RETRY, error=error, retry_in_ms=retry_in_ms, note=note)
        retry_for = getattr(task, "autoretry_for", ()) or ()
        if retry_for and isinstance(exc, tuple(retry_for)):
            return Outcome(RETRY, error=_traceback(exc), note=f"retry: {_brief(exc)}")
        return Outcome(FAILURE, error=_traceback(exc), note=f"failed: {_brief(exc)}")
