"""A secured cluster (TLS and tokens): the SDK connects with the cluster's CA, each role gets
exactly its calls, and a wrong or missing token is a PermissionDenied that says what to do."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import subprocess

import pytest

import qraft
from cluster import Cluster, qraft_binary

TOKENS = {"producer": "secret-producer", "worker": "secret-worker", "admin": "secret-admin"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    dir: Path = tmp_path_factory.mktemp("secured")
    certs = dir / "certs"
    subprocess.run([qraft_binary(), "certs", "init", str(certs)], check=True, capture_output=True)
    config = dir / "node.toml"
    entries = [
        f'[tls]\nca = "{certs / "ca.pem"}"\ncert = "{certs / "node.pem"}"\nkey = "{certs / "node.key"}"\n'
    ] + [
        f'[[tokens]]\nname = "{role}-1"\nrole = "{role}"\n'
        f'sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n'
        for role, token in TOKENS.items()
    ]
    config.write_text("\n".join(entries))
    ca = (certs / "ca.pem").read_bytes()
    c = Cluster(3, extra=["--config", str(config)], token=TOKENS["worker"], ca=ca)
    try:
        c.leader()
        yield c
    finally:
        c.close()


def test_a_producer_token_submits_and_waits(secured: Cluster) -> None:
    app = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["producer"], ca=secured.ca)
    result = app.send_task("builtin.echo", args=("hi",))
    assert result.get(timeout=20) == {"args": ["hi"], "kwargs": {}}


def test_no_token_or_a_wrong_one_is_refused_with_a_hint(secured: Cluster) -> None:
    for token in (None, "not-a-token"):
        app = qraft.Qraft("secure", cluster=secured.addrs, token=token, ca=secured.ca)
        with pytest.raises(qraft.PermissionDenied) as refused:
            app.send_task("builtin.echo", args=("hi",))
        assert "QRAFT_TOKEN" in str(refused.value) or "token" in str(refused.value).lower()


def test_a_role_gets_only_its_calls(secured: Cluster) -> None:
    worker_token = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["worker"], ca=secured.ca)
    with pytest.raises(qraft.PermissionDenied):
        worker_token.send_task("builtin.echo", args=("hi",))

    producer = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["producer"], ca=secured.ca)
    with pytest.raises(qraft.PermissionDenied):
        producer.schedule("nightly", every=60, task="builtin.echo")

    admin = qraft.Qraft("secure", cluster=secured.addrs, token=TOKENS["admin"], ca=secured.ca)
    admin.schedule("nightly", every=3600, task="builtin.echo")
    assert "nightly" in [s.name for s in admin.schedules()]
    admin.unschedule("nightly")


def test_without_the_ca_a_tls_cluster_is_unavailable_with_a_hint(secured: Cluster) -> None:
    app = qraft.Qraft(
        "secure", cluster=secured.addrs, token=TOKENS["producer"],
        retry_policy=qraft.RetryPolicy(attempts=3, deadline=3.0),
    )
    with pytest.raises(qraft.QraftError):
        app.send_task("builtin.echo", args=("hi",))
