"""The main function of a process-pool child: import the app by its ``-A`` spec, then run the
jobs the parent sends over the pipe, one at a time, and send each outcome back.

Messages, parent to child: a job's fields (a dict), or ``None`` to exit. Child to parent:
``("ready", pid)`` or ``("error", message)`` once at start, then one outcome tuple per job.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from multiprocessing.connection import Connection

from .execute import Executor
from .job import Job
from .loader import LoadError, load_app

__all__ = ["main"]


def main(spec: str, conn: Connection, hostname: str, loglevel: int) -> None:
    # Ctrl-C and SIGTERM are the parent's to handle: it lets running tasks finish, or kills
    # this process when they must stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=loglevel, format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
    )
    try:
        app = load_app(spec)
    except LoadError as e:
        conn.send(("error", str(e)))
        return
    executor = Executor(app.tasks, hostname)
    loop: asyncio.AbstractEventLoop | None = None
    conn.send(("ready", None))
    while True:
        try:
            fields = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if fields is None:
            return
        job = Job.from_fields(fields)
        if executor.is_coroutine(job.name):
            if loop is None:
                loop = asyncio.new_event_loop()
            outcome = loop.run_until_complete(executor.run_async(job))
        else:
            outcome = executor.run_sync(job)
        try:
            conn.send(outcome.to_tuple())
        except (EOFError, OSError):
            return
