"""Connection settings: from arguments first, then ``QRAFT_*`` environment variables, then
defaults (the addresses ``qraft dev`` uses)."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_CLUSTER = "127.0.0.1:7071,127.0.0.1:7072,127.0.0.1:7073"


@dataclass(frozen=True)
class Settings:
    """Where the cluster is and how to speak to it."""

    addrs: tuple[str, ...]
    token: str | None = None
    #: PEM bytes of the cluster's CA: connect with TLS when set.
    ca: bytes | None = None
    #: PEM bytes of a client certificate and its key, for clusters that ask for one.
    cert: bytes | None = None
    key: bytes | None = None

    @classmethod
    def resolve(
        cls,
        cluster: str | list[str] | tuple[str, ...] | None = None,
        *,
        token: str | None = None,
        ca: str | bytes | None = None,
        cert: str | bytes | None = None,
        key: str | bytes | None = None,
    ) -> Settings:
        """Settings from the arguments, falling back to ``QRAFT_CLUSTER``, ``QRAFT_TOKEN``,
        ``QRAFT_CA``, ``QRAFT_CERT`` and ``QRAFT_KEY``. ``ca``, ``cert`` and ``key`` are file
        paths or PEM bytes."""
        if cluster is None:
            cluster = os.environ.get("QRAFT_CLUSTER") or DEFAULT_CLUSTER
        addrs = parse_addrs(cluster)
        token = token if token is not None else os.environ.get("QRAFT_TOKEN") or None
        ca_pem = _pem("ca", ca if ca is not None else os.environ.get("QRAFT_CA"))
        cert_pem = _pem("cert", cert if cert is not None else os.environ.get("QRAFT_CERT"))
        key_pem = _pem("key", key if key is not None else os.environ.get("QRAFT_KEY"))
        if (cert_pem is None) != (key_pem is None):
            raise ValueError("a client certificate needs both cert and key")
        if cert_pem is not None and ca_pem is None:
            raise ValueError("a client certificate is for TLS: give the cluster's CA too (ca=...)")
        return cls(addrs=addrs, token=token, ca=ca_pem, cert=cert_pem, key=key_pem)


def parse_addrs(cluster: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"10.0.0.1:7071, 10.0.0.2:7071"`` (or a list of them) as bare ``host:port`` strings."""
    parts = cluster.split(",") if isinstance(cluster, str) else list(cluster)
    addrs: list[str] = []
    for part in parts:
        addr = normalize(part)
        if not addr:
            continue
        if ":" not in addr:
            raise ValueError(f"node address {part!r} needs a port, e.g. {addr}:7071")
        if addr not in addrs:
            addrs.append(addr)
    if not addrs:
        raise ValueError("no node address given: pass cluster='host:port,...' or set QRAFT_CLUSTER")
    return tuple(addrs)


def normalize(addr: str) -> str:
    """``http://10.0.0.1:7071/`` -> ``10.0.0.1:7071``."""
    addr = addr.strip()
    for scheme in ("http://", "https://"):
        if addr.startswith(scheme):
            addr = addr[len(scheme) :]
    return addr.rstrip("/")


def _pem(what: str, value: str | bytes | None) -> bytes | None:
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, bytes):
        return value
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    try:
        with open(value, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"cannot read the {what} file {value!r}: {e.strerror}") from None
