"""The shipped gRPC stubs (qraft/v1) are exactly what scripts/gen-python-stubs.sh makes from
proto/ now: a .proto change without regenerated stubs fails here."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

from cluster import ROOT

SHIPPED = ROOT / "sdk/python/src/qraft/v1"


def _files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.is_file()}


def test_shipped_stubs_match_the_protos(tmp_path: Path) -> None:
    subprocess.run(
        [str(ROOT / "scripts/gen-python-stubs.sh"), str(tmp_path)],
        check=True,
        timeout=120,
        capture_output=True,
        env={**os.environ, "QRAFT_PYTHON": sys.executable},
    )
    fresh = tmp_path / "qraft/v1"
    assert _files(fresh) == _files(SHIPPED), "stub files added or removed: run scripts/gen-python-stubs.sh"
    stale = [name for name in sorted(_files(fresh)) if not filecmp.cmp(fresh / name, SHIPPED / name, shallow=False)]
    assert not stale, f"stale stubs {stale}: run scripts/gen-python-stubs.sh and commit the result"
