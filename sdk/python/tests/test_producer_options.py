"""How task options map to the ``TaskSpec`` a submit carries, for the fields the cluster does
not show back on a task (the retry policy) and the edge cases of the conversions. What the
cluster stores is checked in test_producer.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import qraft
from qraft import Qraft
from qraft._options import TaskOptions, task_spec


@pytest.fixture
def app() -> Qraft:
    # No call is made: building a spec needs no cluster.
    return Qraft("options", cluster="127.0.0.1:1")


def test_the_retry_policy_maps_to_milliseconds_and_flags(app: Qraft) -> None:
    @app.task(name="t.retry", max_retries=4, retry_delay=0.25, retry_backoff=3, retry_backoff_max=60,
              retry_jitter=False, timeout=1.5, result_ttl=timedelta(hours=1), delivery_limit=7)
    def work() -> None: ...

    spec = work._spec((), {}, TaskOptions())
    assert (spec.max_retries, spec.retry_delay_ms, spec.retry_factor, spec.retry_max_delay_ms) == (4, 250, 3.0, 60_000)
    assert spec.retry_no_jitter and spec.timeout_ms == 1500 and spec.result_ttl_ms == 3_600_000
    assert spec.delivery_limit == 7 and spec.queue == "default"


def test_the_defaults_are_celerys(app: Qraft) -> None:
    @app.task(name="t.defaults")
    def work() -> None: ...

    spec = work._spec((), {}, TaskOptions())
    assert (spec.max_retries, spec.retry_delay_ms, spec.retry_factor, spec.retry_max_delay_ms) == (3, 1000, 2.0, 600_000)
    assert not spec.retry_no_jitter and spec.timeout_ms == 0 and spec.priority == 0


def test_a_zero_retry_delay_is_sent_as_zero(app: Qraft) -> None:
    # The field is optional: present and 0 means "retry at once", not the server's default.
    @app.task(name="t.nodelay", retry_delay=0)
    def work() -> None: ...

    spec = work._spec((), {}, TaskOptions())
    assert spec.HasField("retry_delay_ms") and spec.retry_delay_ms == 0


def test_times_and_expiry() -> None:
    at = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert task_spec("t", b"", TaskOptions(eta=at)).eta_ms == int(at.timestamp() * 1000)
    assert task_spec("t", b"", TaskOptions(eta=at.replace(tzinfo=None))).eta_ms == int(at.timestamp() * 1000)
    paris = at.astimezone(timezone(timedelta(hours=1)))
    assert task_spec("t", b"", TaskOptions(eta=paris)).eta_ms == int(at.timestamp() * 1000)
    assert task_spec("t", b"", TaskOptions(countdown=0.0004)).countdown_ms == 1
    assert task_spec("t", b"", TaskOptions(countdown=timedelta(minutes=2))).countdown_ms == 120_000
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 29_000 <= task_spec("t", b"", TaskOptions(expires=soon)).expires_in_ms <= 30_000
    past = datetime.now(timezone.utc) - timedelta(seconds=30)
    assert task_spec("t", b"", TaskOptions(expires=past)).expires_in_ms == 1
    with pytest.raises(TypeError, match="datetime"):
        task_spec("t", b"", TaskOptions(eta=12345))  # type: ignore[arg-type]


def test_idempotency_keys_are_fresh_unless_given() -> None:
    keys = {task_spec("t", b"", TaskOptions()).idempotency_key for _ in range(100)}
    assert len(keys) == 100 and all(len(k) == 32 for k in keys)
    assert task_spec("t", b"", TaskOptions(idempotency_key="order-1")).idempotency_key == "order-1"
    with pytest.raises(qraft.InvalidTask, match="idempotency_key"):
        task_spec("t", b"", TaskOptions(idempotency_key="x" * 201))


def test_concurrency_and_header_options() -> None:
    spec = task_spec("t", b"", TaskOptions(concurrency_key="customer-9"))
    assert (spec.concurrency_key, spec.concurrency_limit) == ("customer-9", 1)
    spec = task_spec("t", b"", TaskOptions(concurrency_key="c", concurrency_limit=3, headers={"h": "v"}))
    assert spec.concurrency_limit == 3 and dict(spec.headers) == {"h": "v"}
    with pytest.raises(qraft.InvalidTask, match="concurrency_key"):
        task_spec("t", b"", TaskOptions(concurrency_limit=2))
    with pytest.raises(TypeError, match="str to str"):
        task_spec("t", b"", TaskOptions(headers={"n": 1}))  # type: ignore[dict-item]
    with pytest.raises(qraft.InvalidTask, match="retry_backoff"):
        task_spec("t", b"", TaskOptions(retry_backoff=0.5))
    with pytest.raises(qraft.InvalidTask, match="max_retries"):
        task_spec("t", b"", TaskOptions(max_retries=1001))


def test_per_call_options_merge_over_the_task_defaults(app: Qraft) -> None:
    @app.task(name="t.merge", queue="q1", priority=2)
    def work() -> None: ...

    spec = work._spec((), {}, TaskOptions(priority=9, headers={"a": "1"}))
    assert (spec.queue, spec.priority, dict(spec.headers)) == ("q1", 9, {"a": "1"})
    sig = work.s().set(queue="q2", headers={"b": "2"})
    spec = sig._spec(None, None, TaskOptions(headers={"c": "3"}))
    assert spec.queue == "q2" and dict(spec.headers) == {"b": "2", "c": "3"}
