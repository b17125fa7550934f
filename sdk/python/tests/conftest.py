"""Fixtures: real 3-node clusters started from the built `qraft` binary.

- ``cluster``: one cluster shared by the whole session, for tests that only add tasks.
- ``fresh_cluster``: a cluster of the test's own, for tests that kill nodes or need a clean slate.

A failing test prints the node logs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from cluster import Cluster  # noqa: E402


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    c = Cluster(3)
    try:
        c.leader()
        yield c
    finally:
        c.close()


@pytest.fixture
def fresh_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    c = Cluster(3)
    try:
        c.leader()
        yield c
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(c.logs(), file=sys.stderr)
        c.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
