"""Schedules (Celery beat inside the cluster): add, fire, list, replace, remove, and bad ones."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from cluster import Cluster, wait_for
from producer_support import idle_queue, stored

import qraft
from qraft import Qraft, Schedule


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> Iterator[Qraft]:
    with Qraft("schedule-tests", cluster=cluster.addrs) as app:
        yield app


def _named(app: Qraft, name: str) -> Schedule | None:
    return next((s for s in app.schedules() if s.name == name), None)


def test_an_interval_schedule_fires_its_task(app: Qraft) -> None:
    name = f"echo-{idle_queue()}"
    added = app.schedule(name, every=0.2, task="builtin.echo", args=("tick",), priority=2)
    assert (added.task, added.every, added.cron, added.args) == ("builtin.echo", 0.2, None, ["tick"])
    fired = wait_for("two runs", 20, lambda: s if (s := _named(app, name)) and s.runs >= 2 else None)
    assert fired.last_task_id is not None and fired.last_run is not None
    r = app.AsyncResult(fired.last_task_id)
    assert r.get(timeout=30) == {"args": ["tick"], "kwargs": {}}
    assert stored(app, r.id).priority == 2
    assert app.unschedule(name) is True
    assert _named(app, name) is None and app.unschedule(name) is False


def test_a_cron_schedule_of_a_registered_task_with_a_time_zone(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.report", queue=queue, max_retries=0)
    def report(kind: str) -> None: ...

    name = f"nightly-{queue}"
    added = app.schedule(name, cron="0 0 3 * * *", tz="Europe/Paris", task=report, args=("daily",))
    assert (added.cron, added.tz, added.queue, added.misfire) == ("0 0 3 * * *", "Europe/Paris", queue, "skip")
    assert added.next_run is not None
    now = datetime.now(timezone.utc)
    assert now < added.next_run <= now + timedelta(days=1, hours=1)
    # Adding the same name replaces it.
    replaced = app.schedule(name, every=timedelta(hours=1), task=report, args=("hourly",), misfire="catch_up")
    assert (replaced.every, replaced.cron, replaced.misfire, replaced.args) == (3600.0, None, "catch_up", ["hourly"])
    assert [s.name for s in app.schedules()].count(name) == 1
    assert app.unschedule(name)


def test_bad_schedules_are_refused(app: Qraft) -> None:
    with pytest.raises(qraft.InvalidTask, match="exactly one"):
        app.schedule("both", cron="* * * * * *", every=1, task="builtin.echo")
    with pytest.raises(qraft.InvalidTask, match="exactly one"):
        app.schedule("neither", task="builtin.echo")
    with pytest.raises(qraft.InvalidTask, match="0.1"):
        app.schedule("fast", every=0.01, task="builtin.echo")
    with pytest.raises(qraft.InvalidTask, match="misfire"):
        app.schedule("m", every=1, task="builtin.echo", misfire="later")
    with pytest.raises(qraft.InvalidTask, match="not valid"):
        app.schedule("bad name", every=1, task="builtin.echo")
    with pytest.raises(qraft.InvalidTask, match="countdown"):
        app.schedule("timed", every=1, task="builtin.echo", countdown=3)
    with pytest.raises(TypeError, match="unknown option"):
        app.schedule("typo", every=1, task="builtin.echo", prority=3)
    # The server checks the cron expression and the time zone.
    with pytest.raises(qraft.InvalidTask):
        app.schedule("badcron", cron="every tuesday", task="builtin.echo")
    with pytest.raises(qraft.InvalidTask):
        app.schedule("badtz", cron="0 0 3 * * *", tz="Mars/Olympus", task="builtin.echo")


def test_schedules_async(app: Qraft) -> None:
    name = f"async-{idle_queue()}"

    async def main() -> None:
        added = await app.schedule_async(name, every=60, task="builtin.noop", queue=idle_queue())
        assert added.name == name
        assert name in [s.name for s in await app.schedules_async()]
        assert await app.unschedule_async(name)

    asyncio.run(asyncio.wait_for(main(), 30))
