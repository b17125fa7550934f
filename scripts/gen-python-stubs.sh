#!/usr/bin/env bash
# Generates the Python SDK's gRPC stubs (sdk/python/src/qraft/v1) from proto/. The stubs are
# committed and shipped inside the package; sdk/python/tests/test_stubs.py fails when they are
# stale. The generator is pinned: the generated code requires grpcio and protobuf at least as new
# as the ones it was generated with, so an old generator keeps the SDK's requirements low.
set -euo pipefail
source "$(dirname "$0")/env.sh"
python="${QRAFT_PYTHON:-$QRAFT_VENV/bin/python}"
out="${1:-$QRAFT_ROOT/sdk/python/src}"
cd "$QRAFT_ROOT/proto/proto"
mkdir -p "$out/qraft/v1"
"$python" -m grpc_tools.protoc -I . \
    --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    qraft/v1/tasks.proto qraft/v1/worker.proto qraft/v1/admin.proto qraft/v1/control.proto \
    qraft/v1/flows.proto
# The SDK is a client: drop the server side grpc_tools writes too (servicer base classes whose
# every method raises NotImplementedError, and their add_*_to_server), which nothing here uses.
"$python" - "$out"/qraft/v1/*_pb2_grpc.py <<'PY'
import ast
import sys

for path in sys.argv[1:]:
    text = open(path).read()
    lines = text.splitlines(keepends=True)
    drop = set()
    for node in ast.parse(text).body:
        server_side = (isinstance(node, ast.ClassDef) and node.name.endswith("Servicer")) or (
            isinstance(node, ast.FunctionDef) and node.name.startswith("add_") and node.name.endswith("_to_server")
        )
        if server_side:
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            drop.update(range(first - 1, node.end_lineno))
    kept = "".join(line for i, line in enumerate(lines) if i not in drop)
    open(path, "w").write(kept)
PY
cat > "$out/qraft/v1/__init__.py" <<'PY'
"""qraft's wire protocol (qraft.v1), generated from proto/ by scripts/gen-python-stubs.sh.

Do not edit: regenerate. Most code needs only the `qraft` package's own API.
"""
PY
