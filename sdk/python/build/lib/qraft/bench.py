"""``python -m qraft bench``: how fast the SDK goes against a cluster. Prints figures, asserts
nothing.

::

    python -m qraft bench --cluster 127.0.0.1:7071,127.0.0.1:7072,127.0.0.1:7073
    python -m qraft bench --start --qraft target/release/qraft      # on a fresh local cluster

Modes (``--modes``, default all):

- ``delay``: ``.delay()`` from ``--threads`` threads, each task durable on a majority when the
  call returns; tasks/s and the latency of one call.
- ``async``: ``delay_async`` from ``--coroutines`` coroutines on one event loop.
- ``batch``: ``app.send_batch`` of all the tasks at once (1,000 per SubmitBatch).
- ``drain``: ``--tasks`` no-op Python tasks waiting in a queue, then one ``qraft-worker -c
  --concurrency`` process drains them; tasks/s from its first finished task to its last.
- ``roundtrip``: ``.delay()`` then ``.get()`` in turn, with such a worker running: the time from
  send to result in hand, p50 and p99.

The tasks go to queues of the run's own, so nothing else takes them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from .app import Qraft
from .task import Task
from ._transport import Kind
from .v1 import admin_pb2

__all__ = ["main"]

def noop(i: int) -> None:
    """Does nothing: what is measured is everything around a task."""


#: The app a drain's worker process imports (``-A qraft.bench:app``); its cluster comes from
#: QRAFT_CLUSTER, which the bench sets for the worker. The bench itself sends with an app of
#: its own, made for the cluster it was given.
app = Qraft("bench")
app.task(name="bench.noop")(noop)


@dataclass
class Figure:
    mode: str
    tasks: int
    clients: str
    tasks_per_s: float
    p50_ms: float | None = None
    p99_ms: float | None = None


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_delay(task: Task, tasks: int, threads: int) -> Figure:
    queue = f"bench-delay-{uuid.uuid4().hex[:8]}"
    per_thread = max(tasks // threads, 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def produce(mine: list[float]) -> None:
        start.wait()
        for i in range(per_thread):
            began = time.perf_counter()
            task.apply_async((i,), queue=queue)
            mine.append(time.perf_counter() - began)

    producers = [threading.Thread(target=produce, args=(lat,)) for lat in latencies]
    for p in producers:
        p.start()
    start.wait()
    began = time.perf_counter()
    for p in producers:
        p.join()
    elapsed = time.perf_counter() - began
    samples = [s for lat in latencies for s in lat]
    return Figure(
        "delay", len(samples), f"{threads} threads", len(samples) / elapsed,
        _percentile(samples, 0.5) * 1000, _percentile(samples, 0.99) * 1000,
    )


def bench_async(task: Task, tasks: int, coroutines: int) -> Figure:
    queue = f"bench-async-{uuid.uuid4().hex[:8]}"

    async def run() -> tuple[list[float], float]:
        await task.apply_async_async((0,), queue=queue)  # the channels are up
        left = iter(range(tasks))
        samples: list[float] = []

        async def produce() -> None:
            for i in left:
                began = time.perf_counter()
                await task.apply_async_async((i,), queue=queue)
                samples.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(produce() for _ in range(coroutines)))
        return samples, time.perf_counter() - began

    samples, elapsed = asyncio.run(run())
    return Figure(
        "async", len(samples), f"{coroutines} coroutines", len(samples) / elapsed,
        _percentile(samples, 0.5) * 1000, _percentile(samples, 0.99) * 1000,
    )


def bench_batch(task: Task, tasks: int) -> Figure:
    queue = f"bench-batch-{uuid.uuid4().hex[:8]}"
    signatures = [task.s(i).set(queue=queue) for i in range(tasks)]
    began = time.perf_counter()
    sent = task.app.send_batch(signatures)
    elapsed = time.perf_counter() - began
    return Figure("batch", len(sent), "1 (1000 per call)", len(sent) / elapsed)


def _succeeded(bench: Qraft, queue: str) -> int:
    answer = bench.transport.call("Admin", "ListQueues", admin_pb2.ListQueuesRequest(), kind=Kind.READ)
    return next((q.succeeded for q in answer.queues if q.name == queue), 0)


@contextmanager
def _worker(bench: Qraft, queue: str, concurrency: int, log: str) -> Iterator[subprocess.Popen[bytes]]:
    env = dict(os.environ, QRAFT_CLUSTER=",".join(bench.settings.addrs))
    if bench.settings.token:
        env["QRAFT_TOKEN"] = bench.settings.token
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "qraft", "worker", "-A", "qraft.bench:app", "-Q", queue,
             "-c", str(concurrency), "--loglevel", "WARNING"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait(what: str, limit: float, done: Callable[[], bool], poll: float = 0.005) -> None:
    deadline = time.monotonic() + limit
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: gave up after {limit:.0f} s waiting for {what}")
        time.sleep(poll)


def bench_drain(task: Task, tasks: int, concurrency: int, log: str) -> Figure:
    bench = task.app
    queue = f"bench-drain-{uuid.uuid4().hex[:8]}"
    bench.send_batch([task.s(i).set(queue=queue) for i in range(tasks)])
    marks: list[tuple[float, int]] = []
    with _worker(bench, queue, concurrency, log):

        def progressed() -> bool:
            count = _succeeded(bench, queue)
            if count and (not marks or count != marks[-1][1]):
                marks.append((time.perf_counter(), count))
            return count >= tasks

        _wait(f"{tasks} tasks drained (worker log: {log})", 60 + tasks / 100, progressed, poll=0.01)
    # From the first sample that saw a finished task to the last: the worker's start-up (Python,
    # imports, registering) is not the rate of draining.
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    rate = (n1 - n0) / (t1 - t0) if t1 > t0 else float("nan")
    return Figure("drain", tasks, f"1 worker -c {concurrency}", rate)


def bench_roundtrip(task: Task, tasks: int, concurrency: int, log: str) -> Figure:
    queue = f"bench-rtt-{uuid.uuid4().hex[:8]}"
    with _worker(task.app, queue, concurrency, log):
        task.apply_async((0,), queue=queue).get(timeout=60)  # the worker is up
        samples = []
        began = time.perf_counter()
        for i in range(tasks):
            t0 = time.perf_counter()
            task.apply_async((i,), queue=queue).get(timeout=30)
            samples.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - began
    return Figure(
        "roundtrip", tasks, "1, sequential", tasks / elapsed,
        _percentile(samples, 0.5) * 1000, _percentile(samples, 0.99) * 1000,
    )


@contextmanager
def _local_cluster(qraft: str, base_port: int) -> Iterator[str]:
    """``qraft dev`` on ``base_port``: a fresh 3-node cluster, removed afterwards."""
    out = tempfile.NamedTemporaryFile(prefix="qraft-bench-dev-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [qraft, "dev", "--base-port", str(base_port)], stdout=out, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        pattern = re.compile(r"node \d+ \(([\d.:]+)\) leads")

        def up() -> bool:
            if process.poll() is not None:
                raise SystemExit(f"bench: qraft dev exited early; see {out.name}")
            return bool(pattern.search(open(out.name, errors="replace").read()))

        _wait("qraft dev to elect a leader", 60, up, poll=0.05)
        yield ",".join(f"127.0.0.1:{base_port + i}" for i in range(3))
    finally:
        process.terminate()
        process.wait(timeout=60)
        out.close()
        os.unlink(out.name)


def _print(figures: list[Figure], as_json: bool) -> None:
    if as_json:
        print(json.dumps([asdict(f) for f in figures]))
        return
    print(f"{'MODE':<10} {'TASKS':>7} {'CLIENTS':<20} {'TASKS/S':>9} {'P50 MS':>8} {'P99 MS':>8}")
    for f in figures:
        p50 = f"{f.p50_ms:.2f}" if f.p50_ms is not None else "-"
        p99 = f"{f.p99_ms:.2f}" if f.p99_ms is not None else "-"
        print(f"{f.mode:<10} {f.tasks:>7} {f.clients:<20} {f.tasks_per_s:>9.0f} {p50:>8} {p99:>8}")


MODES = ("delay", "async", "batch", "drain", "roundtrip")


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cluster", help="node addresses (default: QRAFT_CLUSTER, else qraft dev's)")
    where.add_argument("--start", action="store_true",
                       help="start a fresh local 3-node cluster with `qraft dev` for the run")
    parser.add_argument("--qraft", default="qraft", help="the qraft binary --start runs (default: qraft on PATH)")
    parser.add_argument("--base-port", type=int, default=7371, help="node 1's port with --start (default 7371)")
    parser.add_argument("--token", help="access token (default: QRAFT_TOKEN)")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)}")
    parser.add_argument("--tasks", type=int, default=20_000, help="tasks per mode (default 20000)")
    parser.add_argument("--batch-tasks", type=int, default=100_000, help="tasks of the batch mode (default 100000)")
    parser.add_argument("--roundtrips", type=int, default=1_000, help="round trips (default 1000)")
    parser.add_argument("--threads", type=int, default=16, help="producer threads of the delay mode (default 16)")
    parser.add_argument("--coroutines", type=int, default=64, help="concurrent delay_async calls of the async mode (default 64)")
    parser.add_argument("--concurrency", "-c", type=int, default=16, help="the worker's -c (default 16)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m qraft bench") -> int:
    args = build_parser(prog).parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        print(f"{prog}: unknown mode(s) {', '.join(unknown)}; modes are {', '.join(MODES)}", file=sys.stderr)
        return 2
    log = os.path.join(tempfile.gettempdir(), f"qraft-bench-worker-{os.getpid()}.log")

    def run(cluster: str | None) -> list[Figure]:
        bench = Qraft("bench", cluster=cluster, token=args.token)
        task = bench.task(name="bench.noop")(noop)
        figures = []
        try:
            for mode in modes:
                print(f"bench: {mode} ...", file=sys.stderr)
                if mode == "delay":
                    figures.append(bench_delay(task, args.tasks, args.threads))
                elif mode == "async":
                    figures.append(bench_async(task, args.tasks, args.coroutines))
                elif mode == "batch":
                    figures.append(bench_batch(task, args.batch_tasks))
                elif mode == "drain":
                    figures.append(bench_drain(task, args.tasks, args.concurrency, log))
                else:
                    figures.append(bench_roundtrip(task, args.roundtrips, args.concurrency, log))
        finally:
            bench.close()
        return figures

    if args.start:
        with _local_cluster(args.qraft, args.base_port) as cluster:
            figures = run(cluster)
    else:
        figures = run(args.cluster)
    _print(figures, args.json)
    return 0
