"""Real qraft clusters for the tests: ``qraft node`` processes from the built binary on free
loopback ports, in a temp dir, killed when the test is done. Waits are on conditions with a
deadline and a reason, never bare sleeps."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import grpc

from qraft.v1 import admin_pb2, admin_pb2_grpc

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[3]


def qraft_binary() -> str:
    """The `qraft` binary: $QRAFT_BIN, else the debug build in the cargo target dir."""
    explicit = os.environ.get("QRAFT_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/qraft/target")
    path = Path(target) / "debug" / "qraft"
    if not path.exists():
        raise RuntimeError(
            f"no qraft binary at {path}: build it (cargo build) or point QRAFT_BIN at one"
        )
    return str(path)


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports, all held until the last is picked."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for(what: str, limit: float, probe: Callable[[], T | None]) -> T:
    """Polls ``probe`` until it returns something other than None, or fails naming ``what``."""
    deadline = time.monotonic() + limit
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit} s waiting for {what}")
        # Polling interval, not synchronisation: the condition above decides.
        time.sleep(0.02)


class Node:
    def __init__(self, node_id: int, addr: str, data: Path, log: Path) -> None:
        self.id = node_id
        self.addr = addr
        self.data = data
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None


class Cluster:
    """``n`` nodes with the same ``--peers``; ``extra`` flags are given to every node."""

    def __init__(
        self, n: int = 3, extra: list[str] | None = None, token: str | None = None,
        ca: bytes | None = None,
    ) -> None:
        self.binary = qraft_binary()
        #: What this fixture presents to ask nodes for their status, on a cluster with tokens,
        #: and the CA it trusts on a TLS cluster.
        self.metadata = (("authorization", f"Bearer {token}"),) if token else None
        self.ca = ca
        self.dir = Path(tempfile.mkdtemp(prefix="qraft-py-"))
        self.extra = list(extra or [])
        ports = free_ports(2 * n)
        self.nodes = {
            i: Node(i, f"127.0.0.1:{ports[2 * (i - 1)]}", self.dir / f"n{i}", self.dir / f"n{i}.log")
            for i in range(1, n + 1)
        }
        self.metrics = {i: f"127.0.0.1:{ports[2 * (i - 1) + 1]}" for i in self.nodes}
        self.peers = ",".join(f"{i}@{node.addr}" for i, node in self.nodes.items())
        for i in self.nodes:
            self.start(i)

    @property
    def addrs(self) -> str:
        """Every node's address, comma-separated, as ``Qraft(cluster=...)`` takes them."""
        return ",".join(node.addr for node in self.nodes.values())

    def start(self, node_id: int) -> None:
        node = self.nodes[node_id]
        assert node.process is None, f"node {node_id} is already running"
        log = open(node.log, "ab")
        env = dict(os.environ, RUST_LOG="info,openraft=warn", QRAFT_METRICS_LISTEN=self.metrics[node_id])
        node.process = subprocess.Popen(
            [self.binary, "node", "--id", str(node_id), "--listen", node.addr,
             "--peers", self.peers, "--data", str(node.data), *self.extra],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
        )
        log.close()

    def kill(self, node_id: int) -> None:
        """``kill -9``: no chance to flush or hand anything over."""
        node = self.nodes[node_id]
        if node.process is not None:
            node.process.kill()
            node.process.wait()
            node.process = None

    def stop(self, node_id: int, limit: float = 30.0) -> int:
        """SIGTERM, then waits for the exit; returns the exit code."""
        node = self.nodes[node_id]
        if node.process is None:
            return 0
        node.process.send_signal(signal.SIGTERM)
        try:
            code = node.process.wait(timeout=limit)
        finally:
            if node.process.poll() is None:
                node.process.kill()
                node.process.wait()
            node.process = None
        return code

    def status(self, node_id: int) -> admin_pb2.NodeStatus | None:
        node = self.nodes[node_id]
        if node.process is None:
            return None
        channel = (
            grpc.secure_channel(node.addr, grpc.ssl_channel_credentials(root_certificates=self.ca))
            if self.ca is not None
            else grpc.insecure_channel(node.addr)
        )
        with channel:
            try:
                return admin_pb2_grpc.AdminStub(channel).NodeStatus(
                    admin_pb2.NodeStatusRequest(), timeout=1.0, metadata=self.metadata
                )
            except grpc.RpcError:
                return None

    def leader(self, limit: float = 20.0) -> int:
        """The id of a settled leader, waiting for one.

        Settled: one node leads, and every running node names it in the same term. A node that
        won an election and was deposed at once (two candidates of one term) is not returned.
        """

        def probe() -> int | None:
            answers = [s for s in (self.status(i) for i in self.nodes) if s is not None]
            leaders = [s for s in answers if s.role == admin_pb2.LEADER]
            if not leaders:
                return None
            leader = max(leaders, key=lambda s: s.term)
            if all(s.leader_id == leader.id and s.term == leader.term for s in answers):
                return leader.id
            return None

        return wait_for(f"a leader among {list(self.nodes)}", limit, probe)

    def logs(self) -> str:
        out = []
        for node_id, node in self.nodes.items():
            text = node.log.read_text(errors="replace") if node.log.exists() else ""
            out.append(f"----- node {node_id} log -----\n{text}")
        return "\n".join(out)

    def close(self) -> None:
        for node_id in self.nodes:
            self.kill(node_id)
        shutil.rmtree(self.dir, ignore_errors=True)
