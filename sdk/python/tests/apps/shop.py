"""The worker tests' app: one task per behaviour under test.

The cluster comes from ``QRAFT_CLUSTER`` (the tests set it, and rebind the app to the cluster
of the test at hand).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from qraft import Qraft

app = Qraft("shop")


@app.task(name="shop.add")
def add(a: int, b: int) -> int:
    return a + b


@app.task(name="shop.echo")
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@app.task(name="shop.whoami", bind=True)
def whoami(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    r = self.request
    return {
        "id": r.id, "name": r.name, "queue": r.queue, "args": r.args, "kwargs": r.kwargs,
        "attempts": r.attempts, "retries": r.retries, "delivery": r.delivery,
        "deadline_ms": r.deadline_ms, "timeout": r.timeout, "hostname": r.hostname,
        "task": self.name,
    }


@app.task(name="shop.flaky", bind=True, max_retries=3)
def flaky(self: Any, succeed_on: int) -> int:
    """Asks for a retry until its ``succeed_on``-th attempt."""
    if self.request.attempts < succeed_on:
        raise self.retry(exc=RuntimeError(f"attempt {self.request.attempts}"), countdown=0.05)
    return self.request.attempts


@app.task(name="shop.always_retry", bind=True, max_retries=2)
def always_retry(self: Any) -> None:
    raise self.retry(exc=ConnectionError("still down"), countdown=0.05)


@app.task(name="shop.auto", max_retries=1, retry_delay=0.05, autoretry_for=(ConnectionError,))
def auto() -> None:
    raise ConnectionError("the mail server hung up")


@app.task(name="shop.boom", max_retries=3)
def boom(what: str) -> None:
    raise ValueError(f"boom: {what}")


@app.task(name="shop.not_json")
def not_json() -> Any:
    return object()


@app.task(name="shop.sleepy")
def sleepy(seconds: float, path: str | None = None, started: str | None = None) -> str:
    """Sleeps, then (if given) writes ``path``: a file that appears only if the task ran on.
    ``started`` is written first, when the function begins."""
    if started:
        Path(started).write_text(str(os.getpid()))
    time.sleep(seconds)
    if path:
        Path(path).write_text("ran to the end")
    return "slept"


@app.task(name="shop.limited", timeout=1)
def limited(seconds: float, path: str | None = None) -> int:
    time.sleep(seconds)
    if path:
        Path(path).write_text("ran past the limit")
    return os.getpid()


@app.task(name="shop.pid")
def pid() -> int:
    return os.getpid()


@app.task(name="shop.async_add")
async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0.01)
    return a + b


@app.task(name="shop.async_whoami", bind=True)
async def async_whoami(self: Any) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"id": self.request.id, "attempts": self.request.attempts}


@app.task(name="shop.async_sleepy")
async def async_sleepy(seconds: float, path: str | None = None) -> str:
    """Like sleepy; when cancelled it writes ``path + ".cancelled"`` first."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        if path:
            Path(path + ".cancelled").write_text("cancelled")
        raise
    if path:
        Path(path).write_text("ran to the end")
    return "slept"


@app.task(name="shop.record", queue="shop-failover", bind=True, max_retries=0)
def record(self: Any, path: str, value: int) -> int:
    """Appends its id to ``path`` (to count executions), returns ``value * 2``."""
    with open(path, "a") as f:
        f.write(self.request.id + "\n")
    return value * 2


@app.task(name="shop.exit_hard")
def exit_hard(code: int) -> None:
    """Ends its process at once, as a crash would."""
    os._exit(code)


@app.task(name="shop.big")
def big(size: int) -> str:
    return "x" * size
