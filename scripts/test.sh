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
echo "== chaos (short: every scenario for 20 s, then two on a TLS cluster with tokens)"
# The binaries as `cargo test` built them: building only the bins would resolve features without
# the dev-dependencies and compile rocksdb a second time on a cold machine.
cargo build --workspace --all-targets --locked
chaos_out="$(mktemp -d "${TMPDIR:-/tmp}/qraft-chaos-ci.XXXXXX")"
"$CARGO_TARGET_DIR/debug/qraft-chaos" --duration 20s --scenario all --out "$chaos_out/plain"
"$CARGO_TARGET_DIR/debug/qraft-chaos" --tls --duration 20s --scenario kill-leader,membership --out "$chaos_out/tls"
rm -rf "$chaos_out"
echo "== all checks passed"
