#!/usr/bin/env bash
# A qraft worker in shell, speaking only HTTP/JSON (curl and jq): it registers, long-polls for
# tasks, runs each with a command of yours, and acks the result or reports the failure. Any
# node of the cluster will do; when one stops answering, the worker moves on to the next.
#
#   QRAFT_HTTP=127.0.0.1:8071,127.0.0.1:8072,127.0.0.1:8073 \
#     examples/http/worker.sh QUEUE -- COMMAND [ARGS...]
#
# COMMAND gets the task's args (JSON) on stdin and QRAFT_TASK_ID, QRAFT_TASK_NAME in its
# environment; its stdout (JSON, or any text, sent as a JSON string) is the result, and a
# non-zero exit fails the attempt with its stderr as the error. For example, a worker that
# upper-cases a field:
#
#   examples/http/worker.sh shouting -- jq '.text |= ascii_upcase'
#
# Settings: QRAFT_HTTP (comma-separated host:port list, default 127.0.0.1:8071),
# QRAFT_TOKEN (sent as `Authorization: Bearer`), QRAFT_CA (CA file: use https),
# QRAFT_WORKER_ID (default: shell-<host>-<pid>), QRAFT_MAX_TASKS (stop after this many; for
# tests and batch jobs). SIGINT or SIGTERM: finish the task in hand, leave, exit.
set -uo pipefail

usage() { echo "usage: $0 QUEUE -- COMMAND [ARGS...]" >&2; exit 2; }
[ $# -ge 3 ] && [ "$2" = "--" ] || usage
queue="$1"; shift 2
command=("$@")
for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "worker.sh: $tool is needed" >&2; exit 2; }
done

IFS=',' read -r -a nodes <<< "${QRAFT_HTTP:-127.0.0.1:8071}"
worker_id="${QRAFT_WORKER_ID:-shell-$(hostname)-$$}"
max_tasks="${QRAFT_MAX_TASKS:-0}"
scheme=http; curl_tls=()
if [ -n "${QRAFT_CA:-}" ]; then scheme=https; curl_tls=(--cacert "$QRAFT_CA"); fi
auth=()
if [ -n "${QRAFT_TOKEN:-}" ]; then auth=(-H "Authorization: Bearer $QRAFT_TOKEN"); fi
current=0
stopping=0
trap 'stopping=1' INT TERM

# call PATH JSON: POSTs to the current node, moving to the next one while a node does not
# answer or has no leader (503); prints the answer's body, returns non-zero on a 4xx.
call() {
    local path="$1" body="$2" tries=0 out status
    while :; do
        out=$(curl -sS --max-time 40 "${curl_tls[@]}" "${auth[@]}" -H 'Content-Type: application/json' \
            -w '\n%{http_code}' -X POST "$scheme://${nodes[$current]}$path" -d "$body" 2>/dev/null) || out=$'\n000'
        status="${out##*$'\n'}"
        out="${out%$'\n'*}"
        case "$status" in
            2??) printf '%s' "$out"; return 0 ;;
            4??) printf '%s' "$out"; return 1 ;;
        esac
        # No answer, or 503: another node, and after a round a moment for an election.
        current=$(( (current + 1) % ${#nodes[@]} ))
        tries=$((tries + 1))
        if (( tries % ${#nodes[@]} == 0 )); then sleep 0.2; fi
        if (( tries > 100 )); then echo "worker.sh: no node answers $path" >&2; return 2; fi
    done
}

register() {
    call /v1/worker/register "$(jq -nc --arg id "$worker_id" --arg q "$queue" \
        '{worker_id: $id, queues: [$q], concurrency: 1}')" >/dev/null
}

register || { echo "worker.sh: cannot register" >&2; exit 1; }
echo "worker.sh: $worker_id serves queue $queue" >&2
done_count=0
last_beat=$SECONDS
# This worker holds nothing between two leases, so every lease may ask for what an earlier one
# whose answer was lost carried (a lease resent after a failover gets its first try's task).
lease=$(jq -nc --arg id "$worker_id" --arg q "$queue" \
    '{worker_id: $id, queues: [$q], max: 1, wait_ms: 10000, recover: true, held: []}')
while [ "$stopping" = 0 ]; do
    if (( SECONDS - last_beat >= 10 )); then
        call /v1/worker/heartbeat "$(jq -nc --arg id "$worker_id" '{worker_id: $id}')" >/dev/null || register
        last_beat=$SECONDS
    fi
    leased=$(call /v1/worker/lease "$lease") || { register; continue; }
    task=$(jq -c '.tasks[0] // empty' <<< "$leased")
    [ -n "$task" ] || continue
    id=$(jq -r .id <<< "$task"); delivery=$(jq -r .delivery <<< "$task")
    errors=$(mktemp)
    if result=$(jq -c '.args // null' <<< "$task" \
        | QRAFT_TASK_ID="$id" QRAFT_TASK_NAME="$(jq -r .name <<< "$task")" "${command[@]}" 2>"$errors"); then
        # Output that is not JSON is sent as a JSON string.
        json=$(jq -c . <<< "$result" 2>/dev/null) || json=$(jq -Rsc . <<< "$result")
        body=$(jq -nc --arg id "$id" --argjson d "$delivery" --argjson r "${json:-null}" '{id: $id, delivery: $d, result: $r}')
        call /v1/worker/ack "$body" >/dev/null || echo "worker.sh: ack of $id refused (lease expired?)" >&2
    else
        body=$(jq -nc --arg id "$id" --argjson d "$delivery" --rawfile e "$errors" '{id: $id, delivery: $d, error: $e}')
        call /v1/worker/fail "$body" >/dev/null || echo "worker.sh: fail of $id refused" >&2
    fi
    rm -f "$errors"
    done_count=$((done_count + 1))
    if (( max_tasks > 0 && done_count >= max_tasks )); then break; fi
done
call /v1/worker/leave "$(jq -nc --arg id "$worker_id" '{worker_id: $id}')" >/dev/null
echo "worker.sh: $worker_id ran $done_count task(s) and left" >&2
