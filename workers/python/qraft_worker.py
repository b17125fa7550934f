#!/usr/bin/env python3
"""A small qraft remote worker in Python: proof that any language can run qraft tasks.

It speaks qraft.v1.Worker (see docs/worker-protocol.md) with stubs generated from the same
.proto files the nodes use:

    python3 -m grpc_tools.protoc -I proto --python_out=STUBS --grpc_python_out=STUBS \\
        proto/qraft/v1/*.proto
    python3 workers/python/qraft_worker.py --stubs STUBS --cluster 127.0.0.1:7071,127.0.0.1:7072

Handlers: py.upper (result = args upper-cased), py.fail (fails for good with the args as the
error). It follows the leader, survives failovers (resending answers, treating a stale-lease
refusal of a resend as done), heartbeats, and leaves the cluster on exit.
"""

import argparse
import os
import signal
import sys
import threading
import time


def parse_args():
    parser = argparse.ArgumentParser(description="qraft remote worker (Python)")
    parser.add_argument("--cluster", default=os.environ.get("QRAFT_CLUSTER", "127.0.0.1:7071"),
                        help="node addresses, comma-separated")
    parser.add_argument("--stubs", required=True, help="directory with the generated qraft/v1 stubs")
    parser.add_argument("--worker-id", default=f"py-{os.getpid()}")
    parser.add_argument("--queue", action="append", default=None, help="queue to consume (repeatable)")
    parser.add_argument("--delay-ms", type=int, default=0, help="pretend each task takes this long")
    parser.add_argument("--max-tasks", type=int, default=0, help="exit after answering this many tasks")
    parser.add_argument("--deadline-s", type=float, default=120.0, help="exit after this long in any case")
    parser.add_argument("--ca", default=os.environ.get("QRAFT_CA"),
                        help="CA certificate (PEM) of a TLS cluster; connect with TLS")
    parser.add_argument("--token", default=os.environ.get("QRAFT_TOKEN"),
                        help="access token with the worker role, for a cluster that requires one")
    return parser.parse_args()


ARGS = parse_args()
sys.path.insert(0, ARGS.stubs)

import grpc  # noqa: E402
from qraft.v1 import worker_pb2, worker_pb2_grpc  # noqa: E402

HANDLERS = {
    "py.upper": lambda args: (True, args.upper()),
    "py.fail": lambda args: (False, args.decode("utf-8", "replace")),
}

# As qraft's MAX_MESSAGE (proto/src/limits.rs): a task at a node's highest payload limit is
# larger than gRPC's default 4 MiB.
MAX_MESSAGE = 64 * 1024 * 1024
MESSAGE_LIMITS = [("grpc.max_receive_message_length", MAX_MESSAGE),
                  ("grpc.max_send_message_length", MAX_MESSAGE)]


class Cluster:
    """Calls any node, following x-qraft-leader and moving on from nodes that are down."""

    def __init__(self, addrs):
        self.addrs = addrs
        self.current = 0
        self.stubs = {}

    def stub(self, addr):
        if addr not in self.stubs:
            if ARGS.ca:
                with open(ARGS.ca, "rb") as ca:
                    credentials = grpc.ssl_channel_credentials(root_certificates=ca.read())
                channel = grpc.secure_channel(addr, credentials, options=MESSAGE_LIMITS)
            else:
                channel = grpc.insecure_channel(addr, options=MESSAGE_LIMITS)
            self.stubs[addr] = worker_pb2_grpc.WorkerStub(channel)
        return self.stubs[addr]

    def call(self, method, request, attempts=60):
        last = None
        for _ in range(attempts):
            addr = self.addrs[self.current % len(self.addrs)]
            try:
                metadata = (("authorization", f"Bearer {ARGS.token}"),) if ARGS.token else None
                return getattr(self.stub(addr), method)(request, timeout=5, metadata=metadata)
            except grpc.RpcError as error:
                last = error
                metadata = dict(error.trailing_metadata() or ())
                if error.code() == grpc.StatusCode.FAILED_PRECONDITION and "x-qraft-error" in metadata:
                    raise
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                        grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED):
                    raise
                leader = metadata.get("x-qraft-leader")
                if leader:
                    if leader not in self.addrs:
                        self.addrs.append(leader)
                    self.current = self.addrs.index(leader)
                else:
                    self.current += 1
                time.sleep(0.1)
        raise last


def refusal(error):
    return dict(error.trailing_metadata() or ()).get("x-qraft-error")


def main():
    cluster = Cluster([a.strip() for a in ARGS.cluster.split(",") if a.strip()])
    queues = ARGS.queue or ["default"]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    registration = worker_pb2.RegisterRequest(
        worker_id=ARGS.worker_id, node=os.uname().nodename, queues=queues, concurrency=1)
    cluster.call("Register", registration)
    started = time.time()
    last_heartbeat = started
    answered = 0
    while not stop.is_set() and time.time() - started < ARGS.deadline_s:
        if ARGS.max_tasks and answered >= ARGS.max_tasks:
            break
        if time.time() - last_heartbeat > 5:
            try:
                cluster.call("Heartbeat", worker_pb2.HeartbeatRequest(worker_id=ARGS.worker_id, active=0))
            except grpc.RpcError as error:
                # Silent for a minute (cut off, say), the cluster forgot this worker: join again.
                if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise
                cluster.call("Register", registration)
            last_heartbeat = time.time()
        tasks = cluster.call("Lease", worker_pb2.LeaseRequest(
            worker_id=ARGS.worker_id, queues=queues, names=list(HANDLERS), max=1, lease_ms=10_000)).tasks
        if not tasks:
            time.sleep(0.05)
            continue
        for task in tasks:
            if ARGS.delay_ms:
                time.sleep(ARGS.delay_ms / 1000)
            ok, output = HANDLERS[task.name](task.args)
            try:
                if ok:
                    cluster.call("Ack", worker_pb2.AckRequest(id=task.id, delivery=task.delivery, result=output))
                else:
                    cluster.call("Fail", worker_pb2.FailRequest(
                        id=task.id, delivery=task.delivery, error=output, no_retry=True))
            except grpc.RpcError as error:
                # A resend of an answer that was applied before the failover is refused as stale:
                # the task is answered either way. Anything else is a real error.
                if refusal(error) != "stale-lease":
                    raise
                print(f"answer for {task.id} refused as stale (already answered)", file=sys.stderr)
            answered += 1
    cluster.call("Leave", worker_pb2.LeaveRequest(worker_id=ARGS.worker_id))
    print(f"answered {answered} task(s)")


if __name__ == "__main__":
    main()
