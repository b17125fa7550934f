#!/usr/bin/env bash
# Benchmarks a fresh local 3-node cluster: builds release, starts the nodes in a temp dir, runs
# `qraft bench` in each mode, prints one table, and tears everything down.
#
#   scripts/bench.sh [--runs N] [--quick] [--no-scale]
#
# QRAFT_BENCH_BIN=path/to/qraft benchmarks that binary instead of building one (to compare an
# older build against a newer one, alternating).
#
# --runs N     repeat every mode N times (default 1), each on a fresh cluster, and add medians
# --quick      smaller sizes (for a smoke test of the script itself)
# --no-scale   skip the scale test (1,000,000 queued tasks: memory per node, restart time)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$QRAFT_ROOT"

runs=1
quick=0
scale=1
while (($#)); do
    case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-scale) scale=0; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

if ((quick)); then
    submit_n=5000 batch_n=20000 e2e_n=10000 latency_n=1000 scale_n=20000
else
    submit_n=60000 batch_n=300000 e2e_n=200000 latency_n=5000 scale_n=1000000
fi

if [ -n "${QRAFT_BENCH_BIN:-}" ]; then
    bin="$QRAFT_BENCH_BIN"
else
    bash scripts/setup.sh
    echo "bench: building (release)" >&2
    cargo build --release --locked --bin qraft >&2
    bin="$CARGO_TARGET_DIR/release/qraft"
fi

work="$(mktemp -d -t qraft-bench.XXXXXX)"
pids=()
stop_cluster() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    pids=()
}
trap 'stop_cluster; rm -rf "$work"' EXIT INT TERM

# A fresh cluster per run, so that no run pays for the tasks an earlier one left behind.
# No-op tasks take microseconds: 128 slots per node keep the pools from waiting on round trips
# (the default, 8, suits tasks that do real work; see docs/performance.md). The cluster-wide
# caps are raised past what any mode stores: a benchmark measures speed, not admission.
peers="" base=0 cluster_dir=""
raised_caps=()
if "$bin" node --help | grep -q -- --max-tasks; then
    raised_caps=(--max-tasks 1000000000 --max-stored-bytes 1000000000000)
fi
start_node() {
    local id="$1"
    "$bin" node --id "$id" --listen "127.0.0.1:$((base + id))" --peers "$peers" --data "$cluster_dir/n$id" \
        --http-listen "127.0.0.1:$((base + 100 + id))" --concurrency "${QRAFT_BENCH_CONCURRENCY:-128}" \
        "${raised_caps[@]}" \
        >>"$cluster_dir/n$id.log" 2>&1 </dev/null &
    pids[id]="$!"
}

start_cluster() {
    local cluster=""
    http=""
    cluster_dir="$work/$1"
    mkdir -p "$cluster_dir"
    base=$((17000 + RANDOM % 20000))
    peers=""
    for id in 1 2 3; do
        peers="$peers${peers:+,}$id@127.0.0.1:$((base + id))"
        cluster="$cluster${cluster:+,}127.0.0.1:$((base + id))"
        http="$http${http:+,}127.0.0.1:$((base + 100 + id))"
    done
    for id in 1 2 3; do start_node "$id"; done
    export QRAFT_CLUSTER="$cluster"
    echo "bench: $1: waiting for the cluster at $cluster" >&2
    for _ in $(seq 1 60); do
        if "$bin" submit --queue warmup bench.warmup --json >/dev/null 2>&1; then return; fi
        sleep 0.5
    done
    echo "bench: the cluster did not accept a submit within 30 s; node logs:" >&2
    tail -n 20 "$cluster_dir"/n*.log >&2
    exit 1
}

# Prints the applied index of node $1 (empty while it does not answer).
applied_index() {
    "$bin" status --cluster "127.0.0.1:$((base + $1))" --json 2>/dev/null |
        python3 -c 'import json,sys; n=json.load(sys.stdin)["nodes"][0]; print(n["applied_index"] if n["reachable"] else "")' 2>/dev/null || true
}

# Seconds from $1 to $2 (both from `date +%s%N`), with two decimals.
seconds_since() { local cs=$((($2 - $1) / 10000000)); printf '%d.%02d' $((cs / 100)) $((cs % 100)); }

rss_mib() { echo $(($(awk '/VmRSS/ {print $2}' "/proc/$1/status") / 1024)); }

# Memory and recovery at scale: queue many tasks, read each node's resident memory, then kill -9
# one node, start it again and time until it answers and until it has caught up.
scale_test() {
    start_cluster scale
    "$bin" bench submit -n "$scale_n" -c 4 -b 1000 --queue scale --json >"$work/scale.json"
    local target
    target="$("$bin" status --json | python3 -c 'import json,sys; print(max(n["last_log_index"] or 0 for n in json.load(sys.stdin)["nodes"]))')"
    for id in 1 2 3; do
        until [ "$(applied_index "$id")" -ge "$target" ] 2>/dev/null; do sleep 0.2; done
    done
    local rss=() id
    for id in 1 2 3; do rss+=("$(rss_mib "${pids[id]}")"); done
    kill -KILL "${pids[1]}"
    wait "${pids[1]}" 2>/dev/null || true
    local started serving="" caught="" now applied
    started="$(date +%s%N)"
    start_node 1
    for _ in $(seq 1 1200); do
        applied="$(applied_index 1)"
        now="$(date +%s%N)"
        if [ -n "$applied" ] && [ -z "$serving" ]; then serving="$(seconds_since "$started" "$now")"; fi
        if [ -n "$applied" ] && [ "$applied" -ge "$target" ]; then caught="$(seconds_since "$started" "$now")"; break; fi
        sleep 0.05
    done
    printf 'scale: %s queued tasks; resident memory n1 %s MiB, n2 %s MiB, n3 %s MiB\n' "$scale_n" "${rss[@]}" >"$work/scale.txt"
    printf 'scale: n1 killed (-9) and restarted: answering after %s s, caught up after %s s, then %s MiB\n' \
        "${serving:-never}" "${caught:-never}" "$(rss_mib "${pids[1]}")" >>"$work/scale.txt"
    stop_cluster
    rm -rf "$cluster_dir"
}

results="$work/results.jsonl"
: >"$results"
for run in $(seq 1 "$runs"); do
    start_cluster "run$run"
    "$bin" bench latency -n "$latency_n" -r 1000 --json >>"$results"
    "$bin" bench e2e -n "$e2e_n" -c 4 -b 100 --json >>"$results"
    "$bin" bench submit -n "$submit_n" -c 64 --json >>"$results"
    "$bin" bench submit -n "$submit_n" -c 64 --http "$http" --json >>"$results"
    "$bin" bench submit -n "$batch_n" -c 8 -b 100 --json >>"$results"
    stop_cluster
    rm -rf "$cluster_dir"
done
if ((scale)); then scale_test; fi

echo
echo "qraft bench: 3 nodes and the load generator on one machine ($(nproc) cores, $(uname -sr)), fsync before ack"
table_status=0
python3 - "$results" "$runs" <<'PY' || table_status=$?
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
runs = int(sys.argv[2])
head = f"{'MODE':<11} {'TASKS':>8} {'CLIENTS':>7} {'BATCH':>5} {'RATE':>6} {'TASKS/S':>9} {'P50 MS':>8} {'P90 MS':>8} {'P99 MS':>8} {'MAX MS':>8} {'ERRORS':>6}"
def line(label, r):
    offered = r.get("offered_per_s") or "-"
    l = r["latency_ms"]
    return (f"{label:<11} {r['tasks']:>8} {r['clients']:>7} {r['batch']:>5} {offered:>6} {r['tasks_per_s']:>9.0f} "
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
if [ -f "$work/scale.txt" ]; then cat "$work/scale.txt"; fi
exit "$table_status"
