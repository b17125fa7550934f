#!/usr/bin/env bash
# Sets up a fresh machine, builds qraft in release mode, and runs a local 3-node cluster.
# Extra arguments go to `qraft dev` (e.g. --nodes 5, --data ./demo-data).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$QRAFT_ROOT"

bash scripts/setup.sh
echo "demo: building (release; the first build compiles RocksDB and takes several minutes)"
cargo build --release --locked --bin qraft
echo "demo: the qraft binary is $CARGO_TARGET_DIR/release/qraft"
exec "$CARGO_TARGET_DIR/release/qraft" dev "$@"
