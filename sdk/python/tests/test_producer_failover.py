"""Failover is invisible to producers: a kill -9 of the leader in the middle of many concurrent
``.delay()`` calls leaves every call answered and every task stored exactly once (resends of
batches whose answer was lost carry the same idempotency keys)."""

from __future__ import annotations

import json
import threading

from cluster import Cluster, wait_for
from producer_support import idle_queue

from qraft import Qraft
from qraft._transport import Kind
from qraft.v1 import tasks_pb2


def test_a_leader_killed_during_concurrent_delays_loses_and_doubles_nothing(fresh_cluster: Cluster) -> None:
    queue = idle_queue("failover")
    app = Qraft("failover", cluster=fresh_cluster.addrs)

    @app.task(name="tests.failover", queue=queue)
    def item(thread: int, i: int) -> None: ...

    threads, per_thread = 16, 125
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    halfway = threading.Event()

    def produce(thread: int) -> None:
        try:
            for i in range(per_thread):
                task_id = item.delay(thread, i).id
                with lock:
                    ids.append(task_id)
                    if len(ids) == threads * per_thread // 3:
                        halfway.set()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    workers = [threading.Thread(target=produce, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    assert halfway.wait(timeout=60), "the producers never got a third of the way"
    killed = fresh_cluster.leader()
    fresh_cluster.kill(killed)
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors[:3]
    assert len(ids) == threads * per_thread and len(set(ids)) == len(ids)

    def listed() -> list[tasks_pb2.Task] | None:
        answer = app.transport.call(
            "Tasks", "ListTasks",
            tasks_pb2.ListTasksRequest(queue=queue, limit=10_000, linearizable=True),
            kind=Kind.READ,
        )
        return list(answer.tasks)

    tasks = wait_for("the new leader to list the queue", 30, listed)
    stored = sorted(tuple(json.loads(t.args)["args"]) for t in tasks)
    assert stored == sorted((t, i) for t in range(threads) for i in range(per_thread))
    assert {t.id for t in tasks} == set(ids)
    fresh_cluster.start(killed)
    app.close()
