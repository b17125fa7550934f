#!/usr/bin/env bash
# Benchmarks a fresh local 3-node cluster: builds release, starts the nodes in a temp dir, runs
# `qraft bench` in each mode, prints one table, and tears everything down.
#
#   scripts/bench.sh [--runs N] [--quick] [--no-scale] [--scale-tasks N] [--scale-runs K]
#                    [--soak SECONDS]
#
# QRAFT_BENCH_BIN=path/to/qraft benchmarks that binary instead of building one (to compare an
# older build against a newer one, alternating).
#
# --runs N         repeat every mode N times (default 1), each on a fresh cluster, and add
#                  medians; 0 runs the scale test alone
# --quick          smaller sizes (for a smoke test of the script itself)
# --no-scale       skip the scale test
# --scale-tasks N  tasks the scale test queues (default 10,000,000; 20,000 with --quick)
# --scale-runs K   repeat the scale test K times (default 1), each on a fresh cluster, and add
#                  medians
# --soak SECONDS   instead of all the above, keep one fresh cluster under e2e load for SECONDS
#                  and report the tasks it ran and how often the leader changed (it should not)
#
# Every run also reports how often the leader changed while it ran (the term went up), and
# measures a queue at its max-length: how long a refused submit takes, and how fast another
# queue is served beside a producer that keeps submitting into the full one.
#
# The scale test queues N tasks with 100-byte args and prints each node's resident memory and
# its bytes per queued task; then kills node 1 with kill -9, restarts it and times until it
# answers and until it has caught up; then kills node 3 and wipes its data, hands the lead to
# node 2 and waits for its snapshot of the fill (from 5,000 entries on, when one can be due),
# starts node 4 with --join in its place, times until node 4 has caught up, reads its
# peak resident memory (VmHWM) and removes node 3 from the membership. Each wait gives up after
# 600 s ("never").
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$QRAFT_ROOT"

runs=1
quick=0
scale=1
scale_tasks=""
scale_runs=1
soak_s=0
while (($#)); do
    case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-scale) scale=0; shift ;;
    --scale-tasks) scale_tasks="${2:?--scale-tasks needs a number}"; shift 2 ;;
    --scale-runs) scale_runs="${2:?--scale-runs needs a number}"; shift 2 ;;
    --soak) soak_s="${2:?--soak needs a number of seconds}"; shift 2 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
    esac
done

if ((quick)); then
    submit_n=5000 batch_n=20000 e2e_n=10000 latency_n=1000 scale_n=20000
else
    submit_n=60000 batch_n=300000 e2e_n=200000 latency_n=5000 scale_n=10000000
fi
scale_n="${scale_tasks:-$scale_n}"
for number in "$runs" "$scale_n" "$scale_runs" "$soak_s"; do
    case "$number" in
    '' | *[!0-9]*) echo "bench.sh: $number is not a number (try --help)" >&2; exit 2 ;;
    esac
done
if ((scale_n < 1)); then echo "bench.sh: --scale-tasks must be at least 1" >&2; exit 2; fi

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
trap 'if [ -n "${producer:-}" ]; then kill "$producer" 2>/dev/null || true; fi; stop_cluster; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A fresh cluster per run, so that no run pays for the tasks an earlier one left behind.
# No-op tasks take microseconds: 128 slots per node keep the pools from waiting on round trips
# (the default, 8, suits tasks that do real work; see docs/performance.md). The cluster-wide
# caps are raised past what any mode stores: a benchmark measures speed, not admission.
peers="" base=0 cluster_dir=""
raised_caps=()
if "$bin" node --help | grep -q -- --max-tasks; then
    raised_caps=(--max-tasks 1000000000 --max-stored-bytes 1000000000000)
fi
# start_node ID [ARGS...]: with no ARGS the node is one of --peers; ARGS replace that (--join).
start_node() {
    local id="$1"
    shift
    local membership=(--peers "$peers")
    if (($#)); then membership=("$@"); fi
    "$bin" node --id "$id" --listen "127.0.0.1:$((base + id))" "${membership[@]}" --data "$cluster_dir/n$id" \
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
    # Below 32768, where Linux starts handing out ephemeral ports: a node whose port a client
    # took as its own end of a connection could not listen (seen: a scale run whose node 1
    # never started).
    base=$((17000 + RANDOM % 15000))
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

# Prints "APPLIED SNAPSHOT ROLE" of node $1 (empty while it does not answer). Asked through the
# node itself; `status` lists every member it knows of, so the node is picked by its id.
node_progress() {
    "$bin" status --cluster "127.0.0.1:$((base + $1))" --json 2>/dev/null |
        python3 -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    if n["id"] == int(sys.argv[1]) and n["reachable"]:
        print(n["applied_index"] or 0, n["snapshot_index"] or 0, n["role"])' "$1" 2>/dev/null || true
}

# Prints the applied index of node $1 (empty while it does not answer).
applied_index() { local progress; progress="$(node_progress "$1")"; echo "${progress%% *}"; }

# Prints the term of the leader the nodes of $QRAFT_CLUSTER name (empty if none).
leader_term() {
    "$bin" status --json 2>/dev/null |
        python3 -c 'import json,sys; l=json.load(sys.stdin)["leader"]; print(l["term"] if l else "")' 2>/dev/null || true
}

# Prints how often the leader changed since term $1 ("?" if either term is unknown).
leader_changes() {
    local now
    now="$(leader_term)"
    if [ -n "$1" ] && [ -n "$now" ]; then echo $((now - $1)); else echo "?"; fi
}

# Prints the id of the leader the nodes of $QRAFT_CLUSTER name (empty if none).
leader_id() {
    "$bin" status --json 2>/dev/null |
        python3 -c 'import json,sys; l=json.load(sys.stdin)["leader"]; print(l["id"] if l else "")' 2>/dev/null || true
}

# Seconds from $1 to $2 (both from `date +%s%N`), with two decimals.
seconds_since() { local cs=$((($2 - $1) / 10000000)); printf '%d.%02d' $((cs / 100)) $((cs % 100)); }

# A /proc/PID/status field of process $1, in KiB: $2 VmRSS (resident now) or VmHWM (peak).
proc_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || true; }

# Every wait of the scale test gives up after this long.
scale_wait_s=600
scale_payload=()
if "$bin" bench submit --help | grep -q -- --payload-bytes; then scale_payload=(--payload-bytes 100); fi

# Memory and recovery at scale: queue many tasks, read each node's resident memory, then kill -9
# one node, start it again and time until it answers and until it has caught up; then replace
# another node by a new one (wiped data, new id, --join) and time its catch-up. Appends one JSON
# object per run to $work/scale.jsonl; the report prints them.
scale_test() {
    local run="$1"
    start_cluster "scale$run"
    "$bin" bench submit -n "$scale_n" -c 4 -b 1000 "${scale_payload[@]}" --queue scale --json >"$work/scale.json"
    local target deadline id submit_errors
    submit_errors="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$work/scale.json")"
    target="$("$bin" status --json | python3 -c 'import json,sys; print(max(n["last_log_index"] or 0 for n in json.load(sys.stdin)["nodes"]))')"
    deadline=$((SECONDS + scale_wait_s))
    for id in 1 2 3; do
        until [ "$(applied_index "$id")" -ge "$target" ] 2>/dev/null; do
            if ((SECONDS >= deadline)); then
                echo "bench: scale: node $id has not applied index $target within $scale_wait_s s; its log:" >&2
                tail -n 5 "$cluster_dir/n$id.log" >&2
                break
            fi
            sleep 0.2
        done
    done
    local rss=()
    for id in 1 2 3; do rss+=("$(proc_kib "${pids[id]}" VmRSS)"); done

    # Node 1: kill -9 and restart with its data.
    kill -KILL "${pids[1]}"
    wait "${pids[1]}" 2>/dev/null || true
    local started serving="" caught="" now applied
    started="$(date +%s%N)"
    start_node 1
    deadline=$((SECONDS + scale_wait_s))
    while ((SECONDS < deadline)); do
        applied="$(applied_index 1)"
        now="$(date +%s%N)"
        if [ -n "$applied" ] && [ -z "$serving" ]; then serving="$(seconds_since "$started" "$now")"; fi
        if [ -n "$applied" ] && [ "$applied" -ge "$target" ]; then caught="$(seconds_since "$started" "$now")"; break; fi
        sleep 0.05
    done
    local restarted_kib loaded_ms
    restarted_kib="$(proc_kib "${pids[1]}" VmRSS)"
    # Of the restart, the time the node took to read its queue state back (its log says).
    loaded_ms="$(grep -o 'queue state loaded.* ms=[0-9]*' "$cluster_dir/n1.log" | tail -n 1 | sed 's/.* ms=//' || true)"

    # Node 3: kill -9 and wipe; node 4, new, joins through node 2 in its place, catches up and
    # becomes a voter; then node 3 leaves the membership (README: "Replace a machine").
    kill -KILL "${pids[3]}"
    wait "${pids[3]}" 2>/dev/null || true
    unset 'pids[3]'
    rm -rf "$cluster_dir/n3"
    # A machine is replaced after the failover, not during it: wait until 1 or 2 leads, so that
    # the time measured is node 4's catch-up and not an election.
    export QRAFT_CLUSTER="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))"
    deadline=$((SECONDS + scale_wait_s))
    until [[ "$(leader_id)" == [12] ]]; do
        if ((SECONDS >= deadline)); then echo "bench: scale: no leader among nodes 1 and 2" >&2; break; fi
        sleep 0.1
    done
    # Replaced by snapshot, the way a wiped node catches up once the log is compacted: node 2
    # leads, and node 4 joins once node 2's snapshot covers the fill (due as soon as the fill is
    # over and the log is quiet). No snapshot is due before 5,000 entries (the default --snapshot-every):
    # after a smaller fill node 4 replays the log, and the line says so.
    if ((target >= 5000)); then
        timeout "$scale_wait_s" "$bin" cluster transfer-leader 2 --json >>"$cluster_dir/transfer.log" 2>&1 || true
        local n2_snapshot=0
        deadline=$((SECONDS + scale_wait_s))
        while ((SECONDS < deadline)); do
            read -r _ n2_snapshot _ <<<"$(node_progress 2)"
            if ((${n2_snapshot:-0} >= target)); then break; fi
            sleep 0.5
        done
        if ((${n2_snapshot:-0} < target)); then
            echo "bench: scale: node 2 has no snapshot of index $target after $scale_wait_s s; node 4 may replay the log" >&2
        fi
    fi
    QRAFT_CLUSTER="$QRAFT_CLUSTER,127.0.0.1:$((base + 4))"
    local progress snapshot role n4_caught="" n4_voter="" n4_peak_kib="" n4_method="" n4_rss_kib="" removed=false
    started="$(date +%s%N)"
    start_node 4 --join "127.0.0.1:$((base + 2))"
    deadline=$((SECONDS + scale_wait_s))
    while ((SECONDS < deadline)); do
        progress="$(node_progress 4)"
        now="$(date +%s%N)"
        if [ -n "$progress" ]; then
            read -r applied snapshot role <<<"$progress"
            if [ -z "$n4_caught" ] && [ "$applied" -ge "$target" ]; then
                n4_caught="$(seconds_since "$started" "$now")"
                n4_peak_kib="$(proc_kib "${pids[4]}" VmHWM)"
                if ((snapshot > 0)); then n4_method=snapshot; else n4_method="log replay"; fi
            fi
            if [ -z "$n4_voter" ] && [ "$role" != learner ]; then n4_voter="$(seconds_since "$started" "$now")"; fi
            if [ -n "$n4_caught" ] && [ -n "$n4_voter" ]; then break; fi
        fi
        sleep 0.05
    done
    if [ -n "$n4_voter" ] &&
        timeout "$scale_wait_s" "$bin" cluster remove-node 3 --json >>"$cluster_dir/remove-n3.log" 2>&1; then
        removed=true
    fi
    n4_rss_kib="$(proc_kib "${pids[4]}" VmRSS)"
    if [ -z "$n4_peak_kib" ]; then n4_peak_kib="$(proc_kib "${pids[4]}" VmHWM)"; fi
    # Of the replacement, how long node 2 took to build its snapshot and node 4 to install it
    # (their logs say; an older binary's do not).
    local built_ms installed_ms
    built_ms="$(grep -o 'snapshot built.* ms=[0-9]*' "$cluster_dir/n2.log" | tail -n 1 | sed 's/.* ms=//' || true)"
    installed_ms="$(grep -o 'snapshot installed.* ms=[0-9]*' "$cluster_dir/n4.log" | tail -n 1 | sed 's/.* ms=//' || true)"

    python3 - "$scale_n" "$submit_errors" "${#scale_payload[@]}" "${rss[@]}" "${serving:-}" "${caught:-}" "${restarted_kib:-}" "${loaded_ms:-}" \
        "$n4_method" "$n4_caught" "$n4_voter" "${n4_peak_kib:-}" "${n4_rss_kib:-}" "$removed" "${built_ms:-}" "${installed_ms:-}" \
        >>"$work/scale.jsonl" <<'PY'
import json, sys
errors = int(sys.argv.pop(2))
a = sys.argv[1:]
num = lambda s: float(s) if s else None
mib = lambda s: int(s) / 1024 if s else None
print(json.dumps({
    "tasks": int(a[0]), "submit_errors": errors, "payload_bytes": 100 if a[1] != "0" else 0,
    "rss_mib": [mib(x) for x in a[2:5]],
    "restart": {"answering_s": num(a[5]), "caught_up_s": num(a[6]), "rss_mib": mib(a[7]),
                "state_loaded_s": num(a[8]) / 1000 if a[8] else None},
    "replace": {"method": a[9] or None, "caught_up_s": num(a[10]), "voter_s": num(a[11]),
                "peak_mib": mib(a[12]), "rss_mib": mib(a[13]), "removed": a[14] == "true",
                "snapshot_built_s": num(a[15]) / 1000 if a[15] else None,
                "snapshot_installed_s": num(a[16]) / 1000 if a[16] else None},
}))
PY
    if [ -z "$n4_voter" ]; then
        echo "bench: scale: node 4 did not become a voter within $scale_wait_s s; its log:" >&2
        tail -n 5 "$cluster_dir/n4.log" >&2
    elif ! $removed; then
        echo "bench: scale: node 3 was not removed from the membership:" >&2
        tail -n 5 "$cluster_dir/remove-n3.log" >&2
    fi
    if [ -n "$n4_voter" ] && grep -q "this node was removed from the cluster" "$cluster_dir/n4.log"; then
        echo "bench: scale: node 4 logged \"this node was removed from the cluster\" (its worker pool stopped) while it joined, yet it is a voter" >&2
    fi
    stop_cluster
    rm -rf "$cluster_dir"
}

# --soak: e2e rounds on one cluster until the time is up, then one line and nothing else.
if ((soak_s > 0)); then
    start_cluster soak
    soak_term="$(leader_term)"
    soak_started=$SECONDS soak_tasks=0 soak_errors=0
    while ((SECONDS - soak_started < soak_s)); do
        # A round with errors exits non-zero; its errors are counted from its report.
        timeout $((soak_s + 120)) "$bin" bench e2e -n "$e2e_n" -c 4 -b 100 --json >"$work/soak.json" || true
        read -r done_n failed_n <<<"$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["tasks"], r["errors"])' "$work/soak.json")"
        soak_tasks=$((soak_tasks + done_n)) soak_errors=$((soak_errors + failed_n))
    done
    soak_elapsed=$((SECONDS - soak_started))
    echo
    echo "qraft bench: 3 nodes and the load generator on one machine ($(nproc) cores, $(uname -sr)), fsync before ack"
    echo "soak: $soak_elapsed s of e2e load: $soak_tasks tasks ($((soak_tasks / (soak_elapsed > 0 ? soak_elapsed : 1))) tasks/s), $soak_errors errors; leader changes: $(leader_changes "$soak_term")"
    ((soak_errors == 0))
    exit
fi

# Submits into queue bench-other while a producer (the arguments) submits into bench-full, a
# queue at its max-length; appends the report of the bench-other run, labelled $1.
producer=""
beside_full() {
    local label="$1"
    shift
    "$bin" bench submit "$@" --queue bench-full --json >/dev/null 2>&1 &
    producer=$!
    "$bin" bench submit -n "$submit_n" -c 64 --queue bench-other --json |
        python3 -c 'import json,sys; r=json.load(sys.stdin); r["label"]=sys.argv[1]; print(json.dumps(r))' "$label" >>"$work/full.jsonl"
    kill "$producer" 2>/dev/null || true
    wait "$producer" 2>/dev/null || true
    producer=""
}

# A queue at its max-length: how long a refused submit takes (one client, one after another),
# and how fast another queue is served beside a producer at a steady 1,000/s and beside 16
# clients that submit again the moment they are refused. The producers are bounded in count
# (at most a minute at the fastest refusals seen) and stopped when the other queue is done.
full_queue() {
    "$bin" limit set queue:bench-full max-length 100 --json >/dev/null
    "$bin" bench submit -n 100 -c 4 --queue bench-full --json >/dev/null
    "$bin" bench submit -n 2000 -c 1 --queue bench-full --json 2>/dev/null |
        python3 -c 'import json,sys; r=json.load(sys.stdin); r["label"]="refused"; print(json.dumps(r))' >>"$work/full.jsonl" || true
    beside_full "beside-steady" -n "$((submit_n * 2))" -c 16 --rate 1000
    beside_full "beside-hammer" -n "$((submit_n * 40))" -c 16
}

results="$work/results.jsonl"
: >"$results"
: >"$work/full.jsonl"
: >"$work/changes"
for run in $(seq 1 "$runs"); do
    start_cluster "run$run"
    run_term="$(leader_term)"
    "$bin" bench latency -n "$latency_n" -r 1000 --json >>"$results"
    "$bin" bench e2e -n "$e2e_n" -c 4 -b 100 --json >>"$results"
    "$bin" bench submit -n "$submit_n" -c 64 --json >>"$results"
    "$bin" bench submit -n "$submit_n" -c 64 --http "$http" --json >>"$results"
    "$bin" bench submit -n "$batch_n" -c 8 -b 100 --json >>"$results"
    # Older builds (compared alternating) have no --rate.
    if "$bin" bench submit --help | grep -q -- --rate; then full_queue; fi
    leader_changes "$run_term" >>"$work/changes"
    stop_cluster
    rm -rf "$cluster_dir"
done
if ((scale)); then
    : >"$work/scale.jsonl"
    for run in $(seq 1 "$scale_runs"); do scale_test "$run"; done
fi

echo
echo "qraft bench: 3 nodes and the load generator on one machine ($(nproc) cores, $(uname -sr)), fsync before ack"
table_status=0
[ ! -s "$results" ] || python3 - "$results" "$runs" <<'PY' || table_status=$?
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
if [ -s "$work/full.jsonl" ]; then
    python3 - "$work/full.jsonl" "$results" <<'PY' || table_status=$?
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
alone = [r["tasks_per_s"] for r in map(json.loads, open(sys.argv[2]))
         if r["mode"] == "submit" and r["clients"] == 64 and r["batch"] == 1]
def of(label):
    return [r for r in rows if r["label"] == label]
def rates(values):
    """Each run's tasks/s, and their median when there are several."""
    if not values:
        return "?"
    each = " / ".join(f"{v:.0f}" for v in values)
    return f"{each} (median {statistics.median(values):.0f})" if len(values) > 1 else each
refused = of("refused")
per_call = [r["elapsed_s"] * 1000 / r["errors"] for r in refused if r["errors"]]
taken = sum(r["tasks"] for r in refused)
print(f"full queue (max-length 100): a refused submit takes {statistics.median(per_call) if per_call else float('nan'):.2f} ms"
      f" (one client, {sum(r['errors'] for r in refused)} refused, {taken} taken)")
steady, hammer = [r["tasks_per_s"] for r in of("beside-steady")], [r["tasks_per_s"] for r in of("beside-hammer")]
print(f"another queue (submit, 64 clients), tasks/s: alone {rates(alone)}; "
      f"beside 1,000/s into the full queue {rates(steady)}; "
      f"beside 16 clients resubmitting at once {rates(hammer)}")
sys.exit(1 if taken or any(r["errors"] for r in of("beside-steady") + of("beside-hammer")) else 0)
PY
fi
if [ -s "$work/changes" ]; then
    echo "leader changes while the modes ran, per run: $(paste -sd' ' "$work/changes")"
fi
if [ -s "$work/scale.jsonl" ]; then
    python3 - "$work/scale.jsonl" <<'PY' || table_status=$?
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
def secs(v):
    return "never" if v is None else f"{v:.2f} s"
def mib(v):
    return "?" if v is None else f"{v:.0f} MiB"
def lines(label, r):
    n = r["tasks"]
    args = f"{r['payload_bytes']}-byte args" if r["payload_bytes"] else "empty args (this binary has no --payload-bytes)"
    nodes = ", ".join(
        f"n{i} {mib(m)} ({m * 1048576 / n:.0f} B/task)" if m is not None else f"n{i} ?"
        for i, m in enumerate(r["rss_mib"], 1))
    s, p = r["restart"], r["replace"]
    how = p["method"] or "?"
    errors = f" ({r['submit_errors']} submits failed)" if r.get("submit_errors") else ""
    yield f"{label}: {n} queued tasks{errors}, {args}; resident memory {nodes}"
    loaded = f" (its state read back in {secs(s['state_loaded_s'])})" if s.get("state_loaded_s") is not None else ""
    yield (f"{label}: n1 killed (-9) and restarted: answering after {secs(s['answering_s'])}{loaded}, "
           f"caught up after {secs(s['caught_up_s'])}, then {mib(s['rss_mib'])}")
    removed = "n3 removed" if p["removed"] is True else "n3 NOT removed" if p["removed"] is False else f"n3 removed in {p['removed']}"
    caught = f"caught up by {how} after {secs(p['caught_up_s'])}" if p["caught_up_s"] is not None else "caught up never"
    if how == "snapshot" and p.get("snapshot_installed_s") is not None:
        caught += f" (built in {secs(p.get('snapshot_built_s'))} on n2, installed in {secs(p['snapshot_installed_s'])})"
    voter = f"a voter after {secs(p['voter_s'])}" if p["voter_s"] is not None else "a voter never"
    yield (f"{label}: n3 wiped, replaced by n4 (--join): {caught}, peak {mib(p['peak_mib'])}; "
           f"{voter}, then {mib(p['rss_mib'])}; {removed}")
for i, r in enumerate(rows, 1):
    for l in lines("scale" if len(rows) == 1 else f"scale run {i}", r):
        print(l)
if len(rows) > 1:
    methods = sorted({r["replace"]["method"] or "?" for r in rows})
    removed = sum(r["replace"]["removed"] for r in rows)
    m = {
        "tasks": rows[0]["tasks"], "payload_bytes": rows[0]["payload_bytes"],
        "submit_errors": sum(r["submit_errors"] for r in rows),
        "rss_mib": [med(r["rss_mib"][i] for r in rows) for i in range(3)],
        "restart": {k: med(r["restart"].get(k) for r in rows)
                    for k in ("answering_s", "caught_up_s", "rss_mib", "state_loaded_s")},
        "replace": {**{k: med(r["replace"].get(k) for r in rows) for k in ("caught_up_s", "voter_s", "peak_mib", "rss_mib",
                                                                   "snapshot_built_s", "snapshot_installed_s")},
                    "method": " or ".join(methods), "removed": f"{removed} of {len(rows)} runs"},
    }
    for l in lines(f"scale median of {len(rows)}", m):
        print(l)
sys.exit(0 if all(r["replace"]["removed"] and r["replace"]["caught_up_s"] is not None
                  and r["restart"]["caught_up_s"] is not None for r in rows) else 1)
PY
fi
exit "$table_status"
