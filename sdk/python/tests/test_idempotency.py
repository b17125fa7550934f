"""Idempotency keys hold for their whole window through the SDK: a task deleted by its result
TTL is not run again by a resend, and a key reused for different arguments is refused."""

from __future__ import annotations

import uuid

import pytest

import qraft
from cluster import Cluster, wait_for


def test_a_resend_after_the_result_ttl_gets_the_first_task(cluster: Cluster) -> None:
    app = qraft.Qraft("keys", cluster=cluster.addrs)
    key = f"order-{uuid.uuid4().hex}"
    first = app.send_task("builtin.echo", args=(42,), idempotency_key=key, result_ttl=1)
    assert first.get(timeout=20) == {"args": [42], "kwargs": {}}

    def gone() -> bool | None:
        try:
            app.AsyncResult(first.id).state  # noqa: B018 - a fresh read (a result keeps its final state)
        except qraft.NotFound:
            return True
        return None

    wait_for("the task deleted after its 1 s result TTL", 20, gone)
    again = app.send_task("builtin.echo", args=(42,), idempotency_key=key, result_ttl=1)
    assert again.id == first.id, "the resend found the first task, and nothing ran twice"


def test_a_key_reused_for_other_arguments_is_refused(cluster: Cluster) -> None:
    app = qraft.Qraft("keys", cluster=cluster.addrs)
    key = f"order-{uuid.uuid4().hex}"
    first = app.send_task("bench.noop.none", args=(1,), queue="keys-nobody", idempotency_key=key)
    with pytest.raises(qraft.InvalidTask) as refused:
        app.send_task("bench.noop.none", args=(2,), queue="keys-nobody", idempotency_key=key)
    assert "different task" in str(refused.value) and first.id in str(refused.value)
    assert app.send_task(
        "bench.noop.none", args=(1,), queue="keys-nobody", idempotency_key=key
    ).id == first.id
    first.revoke()
