"""The asyncio twins on grpc.aio: sending, waiting, revoking, canvas and schedules, and many
concurrent ``delay_async`` calls sharing batches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from cluster import Cluster
from producer_support import idle_queue, stored

import qraft
from qraft import Qraft, chain, chord, group

T = TypeVar("T")


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> Iterator[Qraft]:
    with Qraft("async-tests", cluster=cluster.addrs) as app:
        yield app


def run(coroutine: Coroutine[Any, Any, T], limit: float = 60.0) -> T:
    """Runs a test's coroutine on a loop of its own, bounded in time."""
    return asyncio.run(asyncio.wait_for(coroutine, limit))


def test_delay_async_and_get_async(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.async.add", queue=queue)
    async def add(x: int, y: int) -> int:
        return x + y

    assert add.is_coroutine

    async def main() -> None:
        r = await add.delay_async(2, 3)
        assert json.loads(stored(app, r.id).args) == {"args": [2, 3], "kwargs": {}}
        r2 = await add.apply_async_async((1,), {"y": 2}, priority=6, countdown=30)
        assert await r2.state_async() == "SCHEDULED" and stored(app, r2.id).priority == 6
        assert await r.revoke_async() == "REVOKED"
        with pytest.raises(qraft.TaskRevoked):
            await r.get_async(timeout=10)
        with pytest.raises(qraft.TimeoutError):
            await r2.get_async(timeout=0.3)
        await r2.revoke_async()
        await app.close_async()

    run(main())


def test_send_task_async_to_a_builtin(app: Qraft) -> None:
    async def main() -> None:
        r = await app.send_task_async("builtin.echo", args=["a"])
        assert await r.get_async(timeout=30) == {"args": ["a"], "kwargs": {}}
        failed = await app.send_task_async("builtin.fail", payload=b'{"times":1}', max_retries=0)
        with pytest.raises(qraft.TaskFailed) as error:
            await failed.get_async(timeout=30)
        assert error.value.attempts == 1

    run(main())


def test_many_concurrent_delay_async_calls(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.async.many", queue=queue)
    def item(i: int) -> None: ...

    async def main() -> list[str]:
        results = await asyncio.gather(*(item.delay_async(i) for i in range(500)))
        return [r.id for r in results]

    ids = run(main())
    assert len(set(ids)) == 500
    assert [json.loads(stored(app, ids[i]).args)["args"] for i in (0, 499)] == [[0], [499]]


def test_one_bad_call_among_concurrent_async_calls_fails_alone(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.async.sizes", queue=queue)
    def sized(blob: str) -> None: ...

    async def main() -> list[Any]:
        calls = [sized.delay_async("x" * (2_000_000 if i == 7 else 10)) for i in range(20)]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = run(main())
    assert isinstance(outcomes[7], qraft.InvalidTask)
    assert all(isinstance(o, qraft.AsyncResult) for i, o in enumerate(outcomes) if i != 7)


def test_canvas_async(app: Qraft) -> None:
    echo = app.signature("builtin.echo")

    async def main() -> None:
        c = await chain(echo.clone((1,)), echo.clone()).apply_async_async()
        assert await c.get_async(timeout=30) == {"args": [1], "kwargs": {}}
        g = await group(echo.clone((i,)) for i in range(3)).apply_async_async()
        assert await g.get_async(timeout=30) == [{"args": [i], "kwargs": {}} for i in range(3)]
        ch = await chord([echo.clone((1,)), echo.clone((2,))], echo.clone()).apply_async_async()
        assert len(await ch.get_async(timeout=30)) == 2
        r = await echo.clone((9,)).apply_async_async()
        assert await r.get_async(timeout=30) == {"args": [9], "kwargs": {}}

    run(main())


def test_each_event_loop_gets_its_own_transport(app: Qraft) -> None:
    async def transport() -> object:
        return app.async_transport()

    async def same_loop() -> bool:
        return app.async_transport() is app.async_transport()

    assert run(same_loop())
    assert run(transport()) is not run(transport())
