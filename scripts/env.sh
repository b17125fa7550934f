# Sourced by the other scripts: shared settings.
# The cargo target dir lives outside the clone so repeated runs (and CI) build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/qraft/target}"
QRAFT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export QRAFT_ROOT
# Snapshot tests find their files here, not where a shared target dir's binary was first built
# (another clone: its compiled-in path would be wrong).
export INSTA_WORKSPACE_ROOT="$QRAFT_ROOT"
# The Python SDK's tests and tools run in a venv here, never in the system Python.
export QRAFT_VENV="${QRAFT_VENV:-$HOME/.cache/qraft/venv}"
