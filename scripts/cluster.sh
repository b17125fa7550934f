#!/usr/bin/env bash
# A local cluster in the background, for operators and scripts.
#
#   scripts/cluster.sh up [N]      start N nodes (default 3) on ports BASE..BASE+N-1
#   scripts/cluster.sh down        stop every node (SIGTERM, then SIGKILL after 10 s)
#   scripts/cluster.sh status      qraft status against the cluster
#   scripts/cluster.sh kill ID     kill -9 node ID
#   scripts/cluster.sh stop ID     SIGTERM node ID
#   scripts/cluster.sh start ID    start node ID again with its data
#   scripts/cluster.sh restart ID  stop, then start node ID
#
# Node N serves gRPC on BASE+N-1, the HTTP/JSON API on BASE+1000+N-1 (/v1, /metrics) and
# Prometheus metrics alone on BASE+2000+N-1 (/metrics).
# Settings: QRAFT_CLUSTER_DIR (default ./.qraft-cluster: pid files, logs, data),
# QRAFT_BASE_PORT (default 7071), QRAFT_BIN (default: the release build, else the debug build);
# other QRAFT_* variables (e.g. QRAFT_WORKER_QUEUES) reach the nodes as their settings.
set -euo pipefail
source "$(dirname "$0")/env.sh"

dir="${QRAFT_CLUSTER_DIR:-$PWD/.qraft-cluster}"
base_port="${QRAFT_BASE_PORT:-7071}"

qraft_bin() {
    if [ -n "${QRAFT_BIN:-}" ]; then echo "$QRAFT_BIN"; return; fi
    for profile in release debug; do
        if [ -x "$CARGO_TARGET_DIR/$profile/qraft" ]; then echo "$CARGO_TARGET_DIR/$profile/qraft"; return; fi
    done
    (cd "$QRAFT_ROOT" && cargo build --locked --bin qraft >&2)
    echo "$CARGO_TARGET_DIR/debug/qraft"
}

node_count() { cat "$dir/nodes" 2>/dev/null || echo 3; }
addr_of() { echo "127.0.0.1:$((base_port + $1 - 1))"; }
metrics_addr_of() { echo "127.0.0.1:$((base_port + 2000 + $1 - 1))"; }
http_addr_of() { echo "127.0.0.1:$((base_port + 1000 + $1 - 1))"; }
pid_of() { cat "$dir/n$1.pid" 2>/dev/null || true; }
running() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

peers() {
    local n list=""
    n="$(node_count)"
    for id in $(seq 1 "$n"); do list="$list${list:+,}$id@$(addr_of "$id")"; done
    echo "$list"
}

cluster_addrs() {
    local n list=""
    n="$(node_count)"
    for id in $(seq 1 "$n"); do list="$list${list:+,}$(addr_of "$id")"; done
    echo "$list"
}

start_node() {
    local id="$1" bin
    if running "$id"; then echo "node $id is already running (pid $(pid_of "$id"))"; return; fi
    bin="$(qraft_bin)"
    mkdir -p "$dir"
    nohup "$bin" node --id "$id" --listen "$(addr_of "$id")" --peers "$(peers)" --data "$dir/n$id" \
        --metrics-listen "$(metrics_addr_of "$id")" --http-listen "$(http_addr_of "$id")" \
        >>"$dir/n$id.log" 2>&1 </dev/null &
    echo $! >"$dir/n$id.pid"
    echo "node $id started: $(addr_of "$id"), HTTP http://$(http_addr_of "$id")/v1, metrics http://$(metrics_addr_of "$id")/metrics, pid $!, log $dir/n$id.log"
}

stop_node() {
    local id="$1" signal="${2:-TERM}" pid
    pid="$(pid_of "$id")"
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo "node $id is not running"; rm -f "$dir/n$id.pid"; return; fi
    kill "-$signal" "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "node $id did not stop in 10 s; killing it"
        kill -KILL "$pid"
    fi
    rm -f "$dir/n$id.pid"
    echo "node $id stopped ($signal)"
}

cmd="${1:-}"
case "$cmd" in
up)
    n="${2:-3}"
    mkdir -p "$dir"
    echo "$n" >"$dir/nodes"
    for id in $(seq 1 "$n"); do start_node "$id"; done
    echo "cluster: $(cluster_addrs)   (export QRAFT_CLUSTER=$(cluster_addrs))"
    ;;
down)
    for id in $(seq 1 "$(node_count)"); do stop_node "$id"; done
    ;;
status)
    exec "$(qraft_bin)" status --cluster "$(cluster_addrs)" "${@:2}"
    ;;
kill)
    stop_node "${2:?usage: cluster.sh kill ID}" KILL
    ;;
stop)
    stop_node "${2:?usage: cluster.sh stop ID}"
    ;;
start)
    start_node "${2:?usage: cluster.sh start ID}"
    ;;
restart)
    stop_node "${2:?usage: cluster.sh restart ID}"
    start_node "$2"
    ;;
*)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
