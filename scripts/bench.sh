#!/usr/bin/env bash
# Benchmarks a fresh local 3-node cluster: builds release, starts the nodes in a temp dir, runs
# `qraft bench` in each mode, prints one table, and tears everything down.
#
#   scripts/bench.sh [--runs N] [--quick]
#
# --runs N   repeat every mode N times (default 1) and add the median of each column
# --quick    smaller sizes (for a smoke test of the script itself)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$QRAFT_ROOT"

runs=1
quick=0
while (($#)); do
    case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --quick) quick=1; shift ;;
    -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

if ((quick)); then
    submit_n=5000 batch_n=20000 e2e_n=30000 latency_n=1000
else
    submit_n=60000 batch_n=300000 e2e_n=200000 latency_n=5000
fi

bash scripts/setup.sh
echo "bench: building (release)" >&2
cargo build --release --locked --bin qraft >&2
bin="$CARGO_TARGET_DIR/release/qraft"

work="$(mktemp -d -t qraft-bench.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

base=$((17000 + RANDOM % 20000))
peers="" cluster=""
for id in 1 2 3; do
    peers="$peers${peers:+,}$id@127.0.0.1:$((base + id))"
    cluster="$cluster${cluster:+,}127.0.0.1:$((base + id))"
done
for id in 1 2 3; do
    "$bin" node --id "$id" --listen "127.0.0.1:$((base + id))" --peers "$peers" --data "$work/n$id" \
        --concurrency "${QRAFT_BENCH_CONCURRENCY:-128}" \
        >"$work/n$id.log" 2>&1 </dev/null &
    pids+=("$!")
done
export QRAFT_CLUSTER="$cluster"

echo "bench: waiting for the cluster at $cluster" >&2
ready=0
for _ in $(seq 1 60); do
    if "$bin" submit --queue warmup bench.warmup --json >/dev/null 2>&1; then ready=1; break; fi
    sleep 0.5
done
if ((!ready)); then
    echo "bench: the cluster did not accept a submit within 30 s; node logs:" >&2
    tail -n 20 "$work"/n*.log >&2
    exit 1
fi

results="$work/results.jsonl"
for run in $(seq 1 "$runs"); do
    echo "bench: run $run of $runs" >&2
    "$bin" bench latency -n "$latency_n" -r 1000 --json >>"$results"
    "$bin" bench e2e -n "$e2e_n" -c 4 -b 100 --json >>"$results"
    "$bin" bench submit -n "$submit_n" -c 64 --json >>"$results"
    "$bin" bench submit -n "$batch_n" -c 8 -b 100 --json >>"$results"
done

echo
echo "qraft bench: 3 nodes and the load generator on one machine ($(nproc) cores, $(uname -sr)), fsync before ack"
python3 - "$results" "$runs" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
runs = int(sys.argv[2])
head = f"{'MODE':<8} {'TASKS':>8} {'CLIENTS':>7} {'BATCH':>5} {'RATE':>6} {'TASKS/S':>9} {'P50 MS':>8} {'P90 MS':>8} {'P99 MS':>8} {'MAX MS':>8} {'ERRORS':>6}"
def line(label, r):
    offered = r.get("offered_per_s") or "-"
    l = r["latency_ms"]
    return (f"{label:<8} {r['tasks']:>8} {r['clients']:>7} {r['batch']:>5} {offered:>6} {r['tasks_per_s']:>9.0f} "
            f"{l['p50']:>8.2f} {l['p90']:>8.2f} {l['p99']:>8.2f} {l['max']:>8.2f} {r['errors']:>6}")
print(head)
groups = {}
for r in rows:
    groups.setdefault((r["mode"], r["clients"], r["batch"], r.get("offered_per_s")), []).append(r)
for key, group in groups.items():
    if runs > 1:
        for r in group:
            print(line(r["mode"], r))
    med = dict(group[0])
    med["tasks_per_s"] = statistics.median(r["tasks_per_s"] for r in group)
    med["errors"] = sum(r["errors"] for r in group)
    med["latency_ms"] = {q: statistics.median(r["latency_ms"][q] for r in group) for q in ("p50", "p90", "p99", "max")}
    print(line("median" if runs > 1 else med["mode"], med))
errors = sum(r["errors"] for r in rows)
sys.exit(1 if errors else 0)
PY
