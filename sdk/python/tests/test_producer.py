"""Sending tasks: ``.delay()``, ``apply_async()`` options as the cluster stores them,
idempotency and concurrency keys, ``send_task`` to the nodes' built-in handlers, ``send_batch``,
and bad input refused before anything is sent."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from cluster import Cluster
from producer_support import BUILTIN_QUEUE, idle_queue, now_ms, stored

import qraft
from qraft import Qraft
from qraft._transport import Kind
from qraft.v1 import admin_pb2, control_pb2, tasks_pb2


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> Iterator[Qraft]:
    with Qraft("producer-tests", cluster=cluster.addrs) as app:
        yield app


def test_delay_stores_the_encoded_arguments_and_the_task_defaults(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.mail.send", queue=queue, max_retries=5, timeout=30, priority=3)
    def send_mail(to: str, subject: str, body: str = "") -> None:
        raise AssertionError("never runs: no worker consumes the queue")

    r = send_mail.delay("ada@example.com", subject="hi")
    task = stored(app, r.id)
    assert (task.name, task.queue, task.priority) == ("tests.mail.send", queue, 3)
    assert json.loads(task.args) == {"args": ["ada@example.com"], "kwargs": {"subject": "hi"}}
    assert (task.max_retries, task.timeout_ms) == (5, 30_000)
    assert task.state == tasks_pb2.PENDING and r.state == "PENDING"
    # Every submit carries an idempotency key, so a resend after a lost answer is harmless.
    assert len(task.idempotency_key) == 32 and not r.duplicate


def test_apply_async_options_override_the_defaults(app: Qraft) -> None:
    queue, other = idle_queue(), idle_queue()

    @app.task(name="tests.options", queue=queue, max_retries=1)
    def work(x: int) -> int:
        return x

    before = now_ms()
    r = work.apply_async(
        (1,), queue=other, priority=7, expires=60, max_retries=4, timeout=2.5,
        headers={"trace": "abc"}, result_ttl=120,
    )
    task = stored(app, r.id)
    assert (task.queue, task.priority, task.max_retries, task.timeout_ms) == (other, 7, 4, 2500)
    assert task.headers["trace"] == "abc"
    assert before + 59_000 <= task.expires_at_ms <= now_ms() + 61_000


def test_countdown_and_eta_make_the_task_scheduled(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.later", queue=queue)
    def later() -> None: ...

    before = now_ms()
    by_countdown = stored(app, later.apply_async(countdown=60).id)
    assert by_countdown.state == tasks_pb2.SCHEDULED
    assert before + 59_000 <= by_countdown.eta_ms <= now_ms() + 61_000

    aware = datetime.now(timezone.utc) + timedelta(hours=1)
    by_eta = stored(app, later.apply_async(eta=aware).id)
    assert by_eta.state == tasks_pb2.SCHEDULED
    assert abs(by_eta.eta_ms - aware.timestamp() * 1000) < 2

    # A naive datetime is UTC, as in Celery.
    naive = aware.replace(tzinfo=None)
    r = later.apply_async(eta=naive)
    assert abs(stored(app, r.id).eta_ms - aware.timestamp() * 1000) < 2
    assert r.state == "SCHEDULED"


def test_an_idempotency_key_returns_the_first_task(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.once", queue=queue)
    def once(n: int) -> None: ...

    key = f"order-{queue}"
    first = once.apply_async((1,), idempotency_key=key)
    second = once.apply_async((1,), idempotency_key=key)
    assert second == first and second.duplicate and not first.duplicate
    assert json.loads(stored(app, first.id).args)["args"] == [1]
    assert stored(app, first.id).idempotency_key == key
    # The same key for other arguments is another task: refused, not silently the first one.
    with pytest.raises(qraft.InvalidTask):
        once.apply_async((2,), idempotency_key=key)


def test_a_concurrency_key_runs_one_task_at_a_time(app: Qraft) -> None:
    # builtin.sleep on the nodes' pools (8 slots each): without the key both would start at once.
    key = f"customer-{idle_queue()}"
    results = [
        app.send_task("builtin.sleep", payload=b'{"ms": 400}', queue=BUILTIN_QUEUE, concurrency_key=key)
        for _ in range(2)
    ]
    for r in results:
        assert r.get(timeout=30) == {"slept_ms": 400}
    first, second = sorted((stored(app, r.id) for r in results), key=lambda t: t.started_at_ms)
    assert second.started_at_ms >= first.finished_at_ms


def test_send_task_to_a_builtin_handler_returns_its_result(app: Qraft) -> None:
    r = app.send_task("builtin.echo", args=[1, "two"], kwargs={"three": 3.0})
    # builtin.echo returns its args payload: the SDK's encoding, as any language reads it.
    assert r.get(timeout=30) == {"args": [1, "two"], "kwargs": {"three": 3.0}}
    assert r.state == "SUCCESS" and r.successful() and r.ready() and not r.failed()


def test_send_task_with_a_raw_payload_and_retries(app: Qraft) -> None:
    # builtin.fail reads {"times": N} from the raw args and fails the first N attempts.
    r = app.send_task(
        "builtin.fail", payload=b'{"times":2}', max_retries=2, retry_delay=0.01, retry_jitter=False
    )
    assert r.get(timeout=30) == {"succeeded_on_attempt": 3}
    assert stored(app, r.id).attempts == 3 and r.retries == 2


def test_send_task_failing_for_good_raises_task_failed(app: Qraft) -> None:
    r = app.send_task("builtin.fail", payload=b'{"times":5}', max_retries=1, retry_delay=0.01)
    with pytest.raises(qraft.TaskFailed) as failed:
        r.get(timeout=30)
    assert failed.value.attempts == 2 and failed.value.task_id == r.id
    assert "failing on purpose" in failed.value.error
    assert r.state == "FAILURE" and r.failed() and "failing on purpose" in (r.traceback or "")
    assert isinstance(r.result, qraft.TaskFailed)
    assert isinstance(r.get(timeout=5, propagate=False), qraft.TaskFailed)


def test_send_batch_stores_every_task_in_order(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.batch", queue=queue)
    def item(i: int) -> int:
        return i

    results = app.send_batch(item.s(i).set(priority=i % 10) for i in range(2500))
    assert len({r.id for r in results}) == 2500
    for i in (0, 999, 1000, 2499):
        task = stored(app, results[i].id)
        assert json.loads(task.args)["args"] == [i] and task.priority == i % 10
    listed = app.transport.call(
        "Tasks", "ListTasks", tasks_pb2.ListTasksRequest(queue=queue, limit=10_000, linearizable=True),
        kind=Kind.READ,
    )
    assert len(listed.tasks) == 2500


def test_delay_from_many_threads_stores_each_task_once(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.threads", queue=queue)
    def item(thread: int, i: int) -> None: ...

    ids: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def produce(thread: int) -> None:
        start.wait(timeout=10)
        mine = [item.delay(thread, i).id for i in range(50)]
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(ids) == 800 and len(set(ids)) == 800
    listed = app.transport.call(
        "Tasks", "ListTasks", tasks_pb2.ListTasksRequest(queue=queue, limit=10_000, linearizable=True),
        kind=Kind.READ,
    )
    stored_args = sorted(tuple(json.loads(t.args)["args"]) for t in listed.tasks)
    assert stored_args == sorted((t, i) for t in range(16) for i in range(50))


def test_a_task_the_server_refuses_fails_alone_among_concurrent_calls(app: Qraft) -> None:
    # Over the node's 1 MiB payload limit: only the server knows, and it refuses the whole batch
    # it is in; the submitter resends the others.
    queue = idle_queue()

    @app.task(name="tests.sizes", queue=queue)
    def sized(blob: str) -> None: ...

    outcomes: dict[int, object] = {}
    start = threading.Barrier(12)

    def produce(n: int) -> None:
        start.wait(timeout=10)
        try:
            outcomes[n] = sized.delay("x" * (2_000_000 if n == 5 else 10)).id
        except qraft.QraftError as e:
            outcomes[n] = e

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert isinstance(outcomes[5], qraft.InvalidTask) and "limit" in str(outcomes[5])
    good = [v for n, v in outcomes.items() if n != 5]
    assert len(good) == 11 and all(isinstance(v, str) for v in good)
    for task_id in good:
        assert stored(app, task_id).queue == queue  # type: ignore[arg-type]


def test_unserialisable_arguments_raise_type_error_at_delay(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.json", queue=queue)
    def takes(value: object) -> None: ...

    for bad in (object(), {1, 2}, b"bytes", float("nan"), {1: "int key"}, datetime.now()):
        with pytest.raises(TypeError, match="JSON"):
            takes.delay(bad)
    with pytest.raises(TypeError, match="keyword argument names"):
        app.send_task("tests.unregistered", kwargs={1: "x"}, queue=queue)  # type: ignore[dict-item]
    # Arguments the function cannot take are refused too (Celery's typing=True).
    with pytest.raises(TypeError, match="unexpected keyword"):
        takes.delay(1, nope=2)
    listed = app.transport.call(
        "Tasks", "ListTasks", tasks_pb2.ListTasksRequest(queue=queue, linearizable=True), kind=Kind.READ
    )
    assert not listed.tasks, "a refused call must send nothing"


def test_invalid_names_and_options_raise_invalid_task(app: Qraft) -> None:
    with pytest.raises(qraft.InvalidTask, match="not valid"):
        app.task(name="has space")(lambda: None)
    with pytest.raises(qraft.InvalidTask, match="explicit name"):

        @app.task
        def nested() -> None: ...  # "<locals>" in its default name

    with pytest.raises(qraft.InvalidTask, match="0..9"):
        app.task(name="tests.prio", priority=10)(lambda: None)

    @app.task(name="tests.invalid", queue=idle_queue())
    def ok() -> None: ...

    with pytest.raises(qraft.InvalidTask, match="0..9"):
        ok.apply_async(priority=10)
    with pytest.raises(TypeError, match="priority"):
        ok.apply_async(priority="high")  # type: ignore[arg-type]
    with pytest.raises(qraft.InvalidTask, match="queue name"):
        ok.apply_async(queue="no such/queue!")
    with pytest.raises(qraft.InvalidTask, match="not both"):
        ok.apply_async(countdown=1, eta=datetime.now(timezone.utc))
    with pytest.raises(qraft.InvalidTask, match="expires"):
        ok.apply_async(expires=-1)
    with pytest.raises(qraft.InvalidTask):
        app.send_task("bad name!")
    with pytest.raises(TypeError, match="unknown option"):
        app.send_task("tests.invalid", countdwon=3)
    with pytest.raises(TypeError, match="time_limit: use timeout"):
        app.task(name="tests.celery", time_limit=3)(lambda: None)
    # The server's own checks answer InvalidTask as well.
    with pytest.raises(qraft.InvalidTask, match="eta"):
        ok.apply_async(eta=datetime.now(timezone.utc) + timedelta(days=800))


def test_two_functions_cannot_share_a_task_name(app: Qraft) -> None:
    @app.task(name="tests.twice")
    def one() -> None: ...

    with pytest.raises(ValueError, match="two tasks are named"):

        @app.task(name="tests.twice")
        def two() -> None: ...


def test_an_unreachable_cluster_raises_unavailable_quickly() -> None:
    from cluster import free_ports

    (port,) = free_ports(1)
    policy = qraft.RetryPolicy(attempts=5, deadline=1.0, initial_backoff=0.01)
    with Qraft("nowhere", cluster=f"127.0.0.1:{port}", retry_policy=policy) as app:
        started = datetime.now()
        with pytest.raises(qraft.Unavailable, match=str(port)):
            app.send_task("tests.nowhere")
        with pytest.raises(qraft.Unavailable):
            app.AsyncResult("01JBZ6V4G8Q2Y6T5X4W3V2S1T0").get(timeout=30)
        assert datetime.now() - started < timedelta(seconds=5)


def test_a_call_deadline_ends_its_retries_before_the_policy_would() -> None:
    from cluster import free_ports

    (port,) = free_ports(1)
    request = admin_pb2.NodeStatusRequest()
    # The default policy retries for 20 s; the call's own deadline (a monotonic instant) wins.
    with Qraft("nowhere", cluster=f"127.0.0.1:{port}") as app:
        started = time.monotonic()
        with pytest.raises(qraft.Unavailable, match=str(port)):
            app.transport.call(
                "Admin", "NodeStatus", request, kind=Kind.READ, deadline=started + 0.5
            )
        assert time.monotonic() - started < 2.0
        with pytest.raises(qraft.Unavailable, match="deadline passed before it could be sent"):
            app.transport.call("Admin", "NodeStatus", request, kind=Kind.READ, deadline=started)

        async def twin() -> float:
            began = time.monotonic()
            with pytest.raises(qraft.Unavailable, match=str(port)):
                await app.async_transport().call(
                    "Admin", "NodeStatus", request, kind=Kind.READ, deadline=began + 0.5
                )
            await app.close_async()
            return time.monotonic() - began

        assert asyncio.run(twin()) < 2.0


def test_a_task_submitted_through_one_node_is_seen_at_once_through_another(cluster: Cluster) -> None:
    # Read-your-writes across nodes: the state read is linearizable.
    addrs = cluster.addrs.split(",")
    with Qraft("one", cluster=addrs[0]) as a, Qraft("two", cluster=addrs[1]) as b:
        r = a.send_task("tests.anywhere", queue=idle_queue())
        assert b.AsyncResult(r.id).state == "PENDING"


def test_get_through_a_follower_only(cluster: Cluster) -> None:
    leader = cluster.leader()
    follower = next(node for i, node in cluster.nodes.items() if i != leader)
    with Qraft("follower", cluster=follower.addr) as app:
        r = app.send_task("builtin.echo", args=["via a follower"])
        assert r.get(timeout=30) == {"args": ["via a follower"], "kwargs": {}}


def test_task_metadata_and_helpers(app: Qraft) -> None:
    queue = idle_queue()

    @app.task(name="tests.meta", queue=queue, bind=True)
    def meta(self: qraft.Task, x: int) -> tuple[str, int]:
        return self.request.id, x

    assert meta(4) == ("", 4)  # a plain call runs here, with an empty request
    assert meta.name == "tests.meta" and meta.__name__ == "meta" and not meta.is_coroutine
    assert app.tasks["tests.meta"] is meta
    r = meta.delay(4)
    assert meta.AsyncResult(r.id) == r and hash(app.AsyncResult(r.id)) == hash(r)
    assert r.name == "tests.meta" and repr(r) == f"<AsyncResult: {r.id}>" and r == r.id


def test_a_full_queue_raises_limit_exceeded_and_stores_nothing(app: Qraft) -> None:
    queue = idle_queue()
    app.transport.call(
        "Control", "SetQueueCap",
        control_pb2.SetQueueCapRequest(scope=f"queue:{queue}", cap="max-length", value=1),
        kind=Kind.WRITE,
    )

    @app.task(name="tests.capped", queue=queue)
    def capped() -> None: ...

    first = capped.delay()
    started = time.monotonic()
    with pytest.raises(qraft.LimitExceeded, match=f'queue "{queue}" is full.*max-length of 1'):
        capped.delay()
    assert time.monotonic() - started < 2, "refused at once, not retried"
    listed = app.transport.call(
        "Tasks", "ListTasks", tasks_pb2.ListTasksRequest(queue=queue, linearizable=True), kind=Kind.READ
    )
    assert [t.id for t in listed.tasks] == [first.id], "the refused submit stored nothing"
