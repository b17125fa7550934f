"""Canvas end to end with Python functions, run by ``qraft.worker.Worker`` in this process:
Celery's meaning of chain (previous value first, ``.si()`` ignores it), group (the list of
values) and chord (the callback gets that list), and a failing step's traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cluster import Cluster
from producer_support import idle_queue

import qraft
from qraft import Qraft, Task, chain, chord, group
from qraft.worker import Worker


@dataclass
class Tasks:
    app: Qraft
    add: Task
    mul: Task
    scale: Task
    tsum: Task
    boom: Task
    describe: Task


@pytest.fixture(scope="module")
def tasks(cluster: Cluster) -> Iterator[Tasks]:
    queue = idle_queue("canvas-py")
    app = Qraft("canvas-python", cluster=cluster.addrs, default_queue=queue)

    @app.task(name="py.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="py.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    @app.task(name="py.scale")
    def scale(x: int, *, factor: int = 1) -> int:
        return x * factor

    @app.task(name="py.tsum")
    def tsum(values: list[int], extra: int = 0) -> int:
        return sum(values) + extra

    @app.task(name="py.boom", max_retries=0)
    def boom(*args: Any) -> None:
        raise ValueError("boom on purpose")

    @app.task(name="py.describe")
    def describe(values: list[Any]) -> list[str]:
        return [type(v).__name__ if isinstance(v, Exception) else str(v) for v in values]

    worker = Worker(app, queues=[queue], concurrency=4).start()
    try:
        yield Tasks(app, add, mul, scale, tsum, boom, describe)
    finally:
        worker.stop(timeout=30)
        app.close()


def test_delay_and_get_a_python_task(tasks: Tasks) -> None:
    assert tasks.add.delay(2, 3).get(timeout=30) == 5


def test_a_chain_of_three_with_s_and_si(tasks: Tasks) -> None:
    t = tasks
    assert chain(t.add.s(2, 2), t.mul.s(10), t.add.s(1)).apply_async().get(timeout=30) == 41
    assert chain(t.add.s(2, 2), t.mul.s(10), t.add.si(1, 1)).apply_async().get(timeout=30) == 2
    assert (t.add.s(1, 1) | t.scale.s(factor=3) | t.mul.s(2)).delay().get(timeout=30) == 12
    # Arguments given to apply_async go to the first step, before its own.
    assert chain(t.add.s(1), t.mul.s(5)).apply_async((9,)).get(timeout=30) == 50


def test_a_group_gives_the_list_of_values(tasks: Tasks) -> None:
    result = group(tasks.add.s(i, i) for i in range(10)).apply_async()
    assert result.get(timeout=30) == [2 * i for i in range(10)]
    assert [r.get(timeout=5) for r in result.results] == [2 * i for i in range(10)]


def test_a_chord_hands_the_callback_the_list_of_values(tasks: Tasks) -> None:
    t = tasks
    assert chord(group(t.add.s(i, i) for i in range(5)), t.tsum.s()).apply_async().get(timeout=30) == 20
    assert chord([t.add.s(1, 1), t.mul.s(2, 3)])(t.tsum.s(100)).get(timeout=30) == 108
    assert (group(t.add.s(1, 2), t.add.s(3, 4)) | t.tsum.s()).delay().get(timeout=30) == 10


def test_a_chord_that_runs_its_callback_despite_a_failed_member(tasks: Tasks) -> None:
    t = tasks
    result = chord([t.add.s(1, 1), t.boom.s()], t.describe.s(), on_failure="run_callback").apply_async()
    assert result.get(timeout=30) == ["2", "TaskFailed"]
    failing = chord([t.add.s(1, 1), t.boom.s()], t.describe.s()).apply_async()
    with pytest.raises(qraft.TaskFailed, match="boom on purpose"):
        failing.get(timeout=30)


def test_a_failing_python_step_raises_its_traceback(tasks: Tasks) -> None:
    result = chain(tasks.add.s(1, 1), tasks.boom.s(), tasks.add.s(1)).apply_async()
    with pytest.raises(qraft.TaskFailed) as failed:
        result.get(timeout=30)
    assert "ValueError: boom on purpose" in failed.value.error and failed.value.attempts == 1
    assert len(result.parts()) == 2


def test_canvas_async_with_python_tasks(tasks: Tasks) -> None:
    t = tasks

    async def main() -> tuple[int, list[int], int]:
        r = await t.add.delay_async(20, 22)
        c = await (t.add.s(1, 2) | t.mul.s(3)).apply_async_async()
        g = await group(t.mul.s(i, 2) for i in range(3)).apply_async_async()
        return await r.get_async(timeout=30), await g.get_async(timeout=30), await c.get_async(timeout=30)

    assert asyncio.run(asyncio.wait_for(main(), 60)) == (42, [0, 2, 4], 9)
