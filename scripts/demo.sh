#!/usr/bin/env bash
# The demo: sets up a fresh machine, builds qraft and its console (release), starts a local
# 3-node cluster, a producer submitting a realistic mix of tasks, and the console (qraft-tui).
# Quit the console with `q` (or Ctrl-C) and everything started here is stopped.
#
#   scripts/demo.sh [--chaos] [--tls] [--nodes N] [--rate TASKS_PER_S] [--for DURATION]
#
#   --chaos   also kill -9 a random node every ~20 s and restart it 5 s later, to watch failover
#   --tls     secure the cluster: TLS with a CA made for the demo, and an admin token
#   --nodes   cluster size (default 3)
#   --rate    demo tasks submitted per second (default 20)
#   --for     how long the producer and the chaos run at most (default 30m)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$QRAFT_ROOT"

chaos=0 tls=0 nodes=3 rate=20 duration=30m
while [ $# -gt 0 ]; do
    case "$1" in
    --chaos) chaos=1 ;;
    --tls) tls=1 ;;
    --nodes) nodes="${2:?--nodes needs a number}"; shift ;;
    --rate) rate="${2:?--rate needs a number}"; shift ;;
    --for) duration="${2:?--for needs a duration such as 30m}"; shift ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# 90s, 30m or 2h, in seconds.
to_seconds() {
    case "$1" in
    *[0-9]h) echo $((${1%h} * 3600)) ;;
    *[0-9]m) echo $((${1%m} * 60)) ;;
    *[0-9]s) echo "${1%s}" ;;
    *) echo "demo: --for takes a duration like 90s, 30m or 2h, not $1" >&2; exit 2 ;;
    esac
}
duration_s="$(to_seconds "$duration")"
case "$nodes$rate" in *[!0-9]*) echo "demo: --nodes and --rate take whole numbers" >&2; exit 2 ;; esac

bash scripts/setup.sh
echo "demo: building (release; the first build compiles RocksDB and takes several minutes)"
cargo build --release --locked --bin qraft --bin qraft-tui

export QRAFT_BIN="$CARGO_TARGET_DIR/release/qraft"
export QRAFT_CLUSTER_DIR
QRAFT_CLUSTER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/qraft-demo.XXXXXX")"
# Every node's pool works every demo queue.
export QRAFT_WORKER_QUEUES="default,emails,reports,billing"
base_port="${QRAFT_BASE_PORT:-7071}"
cluster=""
for id in $(seq 1 "$nodes"); do cluster="$cluster${cluster:+,}127.0.0.1:$((base_port + id - 1))"; done

background=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${background[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${background[@]}"; do wait "$pid" 2>/dev/null || true; done
    bash scripts/cluster.sh down >/dev/null || true
    echo "demo: stopped; logs are in $QRAFT_CLUSTER_DIR"
}
trap cleanup EXIT INT TERM

if [ "$tls" = 1 ]; then
    # Certificates and an admin token for this demo; nodes read them from a config file (by
    # QRAFT_CONFIG), the producer and the console from QRAFT_CA and QRAFT_TOKEN.
    "$QRAFT_BIN" certs init "$QRAFT_CLUSTER_DIR/certs" >/dev/null
    token="$("$QRAFT_BIN" token new --role admin --name demo --json)"
    field() { printf '%s' "$token" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
    export QRAFT_TOKEN QRAFT_CA="$QRAFT_CLUSTER_DIR/certs/ca.pem" QRAFT_CONFIG="$QRAFT_CLUSTER_DIR/secure-node.toml"
    QRAFT_TOKEN="$(field token)"
    {
        printf '[tls]\nca = "%s"\ncert = "%s"\nkey = "%s"\n\n' \
            "$QRAFT_CA" "$QRAFT_CLUSTER_DIR/certs/node.pem" "$QRAFT_CLUSTER_DIR/certs/node.key"
        printf '[[tokens]]\nname = "demo"\nrole = "admin"\nsha256 = "%s"\n' "$(field sha256)"
    } >"$QRAFT_CONFIG"
    printf 'export QRAFT_CA=%s\nexport QRAFT_TOKEN=%s\n' "$QRAFT_CA" "$QRAFT_TOKEN" >"$QRAFT_CLUSTER_DIR/client.env"
    echo "demo: TLS and tokens on; for other terminals: source $QRAFT_CLUSTER_DIR/client.env"
fi

bash scripts/cluster.sh up "$nodes"
"$QRAFT_BIN" demo --cluster "$cluster" --rate "$rate" --for "$duration" \
    >"$QRAFT_CLUSTER_DIR/producer.log" 2>&1 &
background+=($!)

if [ "$chaos" = 1 ]; then
    (
        # Bounded like the producer: at most --for, one fault every ~20 s.
        end=$((SECONDS + duration_s))
        while [ "$SECONDS" -lt "$end" ]; do
            sleep $((15 + RANDOM % 10))
            victim=$((1 + RANDOM % nodes))
            echo "chaos: kill -9 node $victim at $(date +%T)"
            bash scripts/cluster.sh kill "$victim"
            sleep 5
            echo "chaos: restart node $victim at $(date +%T)"
            bash scripts/cluster.sh start "$victim"
        done
    ) >"$QRAFT_CLUSTER_DIR/chaos.log" 2>&1 &
    background+=($!)
fi

"$CARGO_TARGET_DIR/release/qraft-tui" --cluster "$cluster" --log-file "$QRAFT_CLUSTER_DIR/console.log"
