"""``qraft-worker`` and ``python -m qraft worker`` as a user runs them: ``--help``, bad ``-A``
values (one clear line, no traceback, non-zero exit), and a real run against a cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from apps import shop
from cluster import Cluster, wait_for
from worker_support import TESTS, bound, stop_process, unique_queue, worker_process

import qraft
from qraft._transport import Kind
from qraft.v1 import admin_pb2

WORKER = str(Path(sys.executable).parent / "qraft-worker")


@pytest.fixture
def app(cluster: Cluster) -> Iterator[qraft.Qraft]:
    with bound(shop.app, cluster) as app:
        yield app


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WORKER, *args], cwd=TESTS, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, QRAFT_CLUSTER="127.0.0.1:1"),
    )


def test_help_explains_every_option() -> None:
    done = run("--help")
    assert done.returncode == 0
    for option in ("-A", "-Q", "-c", "--pool", "--loglevel", "--worker-id", "--grace", "--lease",
                   "--max-tasks", "--cluster", "--token", "--ca", "threads", "processes",
                   "asyncio", "SIGTERM"):
        assert option in done.stdout, option


def test_python_m_qraft_lists_and_runs_the_worker_command() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "qraft", "--help"], capture_output=True, text=True, timeout=60
    )
    assert listing.returncode == 0 and "worker" in listing.stdout
    help_text = subprocess.run(
        [sys.executable, "-m", "qraft", "worker", "--help"], capture_output=True, text=True,
        timeout=60,
    )
    assert help_text.returncode == 0
    assert "python -m qraft worker" in help_text.stdout and "--concurrency" in help_text.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "qraft", "wroker"], capture_output=True, text=True, timeout=60
    )
    assert unknown.returncode == 2 and "unknown command 'wroker'" in unknown.stderr


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("nosuchmodule:app", "no module named 'nosuchmodule'"),
        ("apps.shop:nothing", "has no attribute 'nothing'"),
        ("apps.shop:add", "is a Task, not a qraft.Qraft app"),
        ("apps.empty:not_an_app", "is a int, not a qraft.Qraft app"),
        ("apps.empty", "the app has no tasks registered"),
        ("apps.broken", "RuntimeError: the settings file is missing"),
        ("not a spec", "is not of the form module.path:attribute"),
    ],
)
def test_a_bad_app_exits_with_one_clear_line(spec: str, says: str) -> None:
    done = run("-A", spec)
    assert done.returncode == 1
    assert says in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("qraft-worker: error: ")


def test_bad_options_exit_with_usage() -> None:
    for args, says in (
        (("-A", "apps.shop:app", "--pool", "gevent"), "unknown pool 'gevent'"),
        (("-A", "apps.shop:app", "-c", "0"), "must be at least 1"),
        (("-A", "apps.shop:app", "--loglevel", "LOUD"), "unknown log level 'LOUD'"),
        ((), "-A/--app"),
    ):
        done = run(*args)
        assert done.returncode == 2, args
        assert says in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_the_cli_runs_tasks_and_exits_after_max_tasks(
    app: qraft.Qraft, cluster: Cluster, tmp_path: Path
) -> None:
    q = unique_queue()
    log = tmp_path / "worker.log"
    process = worker_process(
        cluster, "-A", "apps.shop:app", "-Q", q, "-c", "4", "--max-tasks", "3",
        "--worker-id", "cli-test", log=log,
    )
    try:
        results = [shop.add.apply_async((i, 1), queue=q) for i in range(3)]
        assert [r.get(timeout=30) for r in results] == [1, 2, 3]
        assert stop_process(process, 30) == 0
    finally:
        if process.poll() is None:
            stop_process(process, 0.1)
    text = log.read_text()
    assert "qraft-worker cli-test ready" in text
    assert f"queues:      {q}" in text and "shop.add" in text
    for r in results:
        assert f"shop.add[{r.id}] succeeded in " in text
    assert "stopped after 3 task(s)" in text


def test_python_m_qraft_worker_with_a_module_spec_registers_and_leaves(
    app: qraft.Qraft, cluster: Cluster, tmp_path: Path
) -> None:
    q = unique_queue()
    log = tmp_path / "worker.log"
    process = worker_process(
        cluster, "-A", "apps.shop", "-Q", q, "--max-tasks", "1", "-n", "cli-module",
        module=True, log=log,
    )

    def listed() -> admin_pb2.WorkerStatus | None:
        workers = app.transport.call(
            "Admin", "ListWorkers", admin_pb2.ListWorkersRequest(), kind=Kind.READ
        ).workers
        return next((w for w in workers if w.id == "cli-module"), None)

    try:
        seen = wait_for("the worker to register", 30, listed)
        assert list(seen.queues) == [q] and seen.concurrency == 16 and seen.kind == "remote"
        assert shop.add.apply_async((40, 2), queue=q).get(timeout=30) == 42
        assert stop_process(process, 30) == 0
    finally:
        if process.poll() is None:
            stop_process(process, 0.1)
    wait_for("the worker to leave", 10, lambda: listed() is None or None)
