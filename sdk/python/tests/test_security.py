"""A cluster with tokens: each role gets exactly its calls from the SDK, and a wrong or missing
token is a PermissionDenied that says what to do."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import qraft
from cluster import Cluster

TOKENS = {"producer": "secret-producer", "worker": "secret-worker", "admin": "secret-admin"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    config: Path = tmp_path_factory.mktemp("secured") / "node.toml"
    entries = [
        f'[[tokens]]\nname = "{role}-1"\nrole = "{role}"\n'
        f'sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n'
        for role, token in TOKENS.items()
    ]
    config.write_text("\n".join(entries))
    c = Cluster(3, extra=["--config", str(config)], token=TOKENS["worker"])
    try:
        c.leader()
        yield c
    finally:
        c.close()


def test_a_producer_token_submits_and_waits(secured: Cluster) -> None:
    app = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["producer"])
    result = app.send_task("builtin.echo", args=("hi",))
    assert result.get(timeout=20) == {"args": ["hi"], "kwargs": {}}


def test_no_token_or_a_wrong_one_is_refused_with_a_hint(secured: Cluster) -> None:
    for token in (None, "not-a-token"):
        app = qraft.Qraft("secure", cluster=secured.addrs, token=token)
        with pytest.raises(qraft.PermissionDenied) as refused:
            app.send_task("builtin.echo", args=("hi",))
        assert "QRAFT_TOKEN" in str(refused.value) or "token" in str(refused.value).lower()


def test_a_role_gets_only_its_calls(secured: Cluster) -> None:
    worker_token = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["worker"])
    with pytest.raises(qraft.PermissionDenied):
        worker_token.send_task("builtin.echo", args=("hi",))

    producer = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["producer"])
    with pytest.raises(qraft.PermissionDenied):
        producer.schedule("nightly", every=60, task="builtin.echo")

    admin = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["admin"])
    admin.schedule("nightly", every=3600, task="builtin.echo")
    assert "nightly" in [s.name for s in admin.schedules()]
    admin.unschedule("nightly")
