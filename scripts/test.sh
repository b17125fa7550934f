#!/usr/bin/env bash
# The one gate: setup, format check, clippy with warnings as errors, every test.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$QRAFT_ROOT"

bash scripts/setup.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked -- --test-threads 2
echo "== Python SDK (pytest against real 3-node clusters of the binary cargo test built)"
QRAFT_BIN="$CARGO_TARGET_DIR/debug/qraft" "$QRAFT_VENV/bin/python" -m pytest sdk/python/tests -q
echo "== fuzz (short: request validation, decoders, config parser; longer runs: README)"
PROPTEST_CASES=2000 cargo test -p qraft-node --locked --lib fuzz_
echo "== chaos (short: every scenario for 20 s, then two on a TLS cluster with tokens, then the canary)"
# The binaries as `cargo test` built them: building only the bins would resolve features without
# the dev-dependencies and compile rocksdb a second time on a cold machine.
cargo build --workspace --all-targets --locked
chaos_out="$(mktemp -d "${TMPDIR:-/tmp}/qraft-chaos-ci.XXXXXX")"
"$CARGO_TARGET_DIR/debug/qraft-chaos" --duration 20s --scenario all --out "$chaos_out/plain"
"$CARGO_TARGET_DIR/debug/qraft-chaos" --tls --duration 20s --scenario kill-leader,membership --out "$chaos_out/tls"
echo "== chaos canary (nodes that skip the WAL sync: power-loss must find acknowledged tasks lost)"
if "$CARGO_TARGET_DIR/debug/qraft-chaos" --duration 20s --scenario power-loss --canary-skip-wal-sync \
    --out "$chaos_out/canary" > "$chaos_out/canary.txt" 2>&1; then
    tail -n 20 "$chaos_out/canary.txt"
    echo "FAIL: the canary passed: power-loss cannot see a missing fsync" >&2
    exit 1
fi
grep -E "^  lost: " "$chaos_out/canary.txt" | head -n 3
grep -qE "^  lost: " "$chaos_out/canary.txt" || {
    tail -n 20 "$chaos_out/canary.txt"
    echo "FAIL: the canary run failed without finding lost tasks" >&2
    exit 1
}
rm -rf "$chaos_out"
echo "== all checks passed"
