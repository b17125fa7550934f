"""Producer throughput: ``.delay()`` from many threads (each task durable on a majority when the
call returns), ``delay_async`` from many coroutines, and ``send_batch``. Prints figures; asserts
nothing.

    QRAFT_BIN=/tmp/qraft-bin/qraft python sdk/python/benchmarks/producer.py          # own cluster
    python sdk/python/benchmarks/producer.py --cluster 127.0.0.1:7071,...            # existing one

The tasks go to a queue no worker consumes, so only submitting is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

from qraft import Qraft


def bench_threads(app: Qraft, queue: str, threads: int, per_thread: int) -> float:
    @app.task(name="bench.delay", queue=queue)
    def noop(i: int) -> None: ...

    start = threading.Barrier(threads + 1)

    def produce() -> None:
        start.wait()
        for i in range(per_thread):
            noop.delay(i)

    workers = [threading.Thread(target=produce) for _ in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    return threads * per_thread / (time.perf_counter() - began)


def bench_async(app: Qraft, queue: str, concurrency: int, total: int) -> float:
    noop = app.tasks["bench.delay"]

    async def main() -> float:
        await noop.delay_async(0)  # connect first
        left = iter(range(total))

        async def produce() -> None:
            for i in left:
                await noop.delay_async(i)

        began = time.perf_counter()
        await asyncio.gather(*(produce() for _ in range(concurrency)))
        return total / (time.perf_counter() - began)

    return asyncio.run(main())


def bench_batch(app: Qraft, total: int) -> float:
    noop = app.tasks["bench.delay"]
    sigs = [noop.s(i) for i in range(total)]
    began = time.perf_counter()
    results = app.send_batch(sigs)
    rate = total / (time.perf_counter() - began)
    assert len(results) == total
    return rate


def bench_latency(app: Qraft, count: int) -> tuple[float, float]:
    noop = app.tasks["bench.delay"]
    samples = []
    for i in range(count):
        began = time.perf_counter()
        noop.delay(i)
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def client_cpu() -> float:
    """CPU seconds this process (the client alone: the nodes are children) used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report(what: str, total: int, rate: float, cpu_before: float) -> None:
    per_task = (client_cpu() - cpu_before) / total * 1e6
    print(f"{what}: {rate:,.0f} tasks/s (client CPU {per_task:.0f} us/task)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cluster", help="node addresses; default: start a local 3-node cluster")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=1500)
    parser.add_argument("--batch-total", type=int, default=100_000)
    args = parser.parse_args()

    local = None
    addrs = args.cluster
    if addrs is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from cluster import Cluster

        local = Cluster(3)
        local.leader()
        addrs = local.addrs
    try:
        app = Qraft("bench", cluster=addrs)
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        bench_threads(app, queue, 4, 100)  # warm up: connections, leader found
        total = args.threads * args.per_thread
        cpu = client_cpu()
        rate = bench_threads(app, queue, args.threads, args.per_thread)
        report(f"delay, {args.threads} threads x {args.per_thread}", total, rate, cpu)
        cpu = client_cpu()
        rate = bench_async(app, queue, 64, total)
        report(f"delay_async, 64 coroutines, {total} tasks", total, rate, cpu)
        cpu = client_cpu()
        rate = bench_batch(app, args.batch_total)
        report(f"send_batch, {args.batch_total} tasks", args.batch_total, rate, cpu)
        p50, p99 = bench_latency(app, 500)
        print(f"delay, one thread, 500 calls: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
        app.close()
    finally:
        if local is not None:
            local.close()


if __name__ == "__main__":
    main()
