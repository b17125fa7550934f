#!/usr/bin/env bash
# The chaos suite: real qraft nodes (each in its own network namespace where this machine
# allows it), real faults, and a checker that no acknowledged task is lost.
#
#   scripts/chaos.sh [--duration 60s] [--scenario NAME|all] [--nodes 3|5] [other qraft-chaos flags]
#
# Builds release, runs the scenarios one after another, prints the table and writes report.json
# (the output directory is printed). Exits non-zero on any violation. `--list` names the
# scenarios. Network namespaces need root; without them the network scenarios are skipped.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$QRAFT_ROOT"

bash scripts/setup.sh
echo "chaos: building (release)"
cargo build --release --locked --bin qraft --bin qraft-chaos
exec "$CARGO_TARGET_DIR/release/qraft-chaos" "$@"
