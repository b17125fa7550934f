"""The worker side of qraft: run an app's tasks.

From the command line (as Celery's ``celery -A proj worker``)::

    qraft-worker -A shop.tasks:app -Q mail,default -c 16 --pool threads
    python -m qraft worker -A shop.tasks:app

From Python::

    from qraft.worker import Worker
    Worker(app, queues=["mail"], concurrency=16).run()      # blocks until SIGTERM / Ctrl-C

What it does: registers (``qraft workers`` lists it, with the task names it runs), heartbeats
every 5 s, leases exactly as many tasks as it has free slots (no prefetch) with a long poll,
extends their leases while they run, answers in batches, and leaves on exit. At start-up it
warns about tasks waiting in its queues under names no worker declares.

Pools (``--pool``):

- ``threads`` (default): plain functions on ``-c`` threads; ``async def`` functions on one
  event loop, so both kinds run in one worker.
- ``asyncio``: everything on one event loop; plain functions in its default executor.
- ``processes``: ``-c`` child processes (started with ``spawn``; each imports the app by the
  ``-A`` spec), one task at a time each: for CPU-bound work.

Stopping an attempt (hard ``timeout``, revoke, shutdown): in the process pool the child is
killed and replaced, as Celery's prefork pool does; on the event loop the coroutine is
cancelled. **A thread cannot be killed**: on the threads pool (and for plain functions on the
asyncio pool) the worker answers for the attempt at once (a time-limit failure; nothing for a
revoke), frees the slot, puts a new thread in the old one's place and drops whatever the
function returns when it ends. Tasks that must really stop belong in ``--pool processes``.

Outcomes follow Celery: the return value (JSON) is the result; ``self.retry(countdown=...)``
and exceptions listed in ``autoretry_for`` retry while ``max_retries`` allows; any other
exception fails the task **for good** with its traceback; a hard time limit fails it for good
("hard time limit (Ns) exceeded"). A task name the worker does not know is never leased to it
(it waits for a worker that declares it); arguments that are not the documented encoding fail
the task for good, saying so. The worker never dies on a bad task.

Shutdown: SIGTERM or the first Ctrl-C stops leasing and gives running tasks ``--grace``
seconds to finish; the rest are handed back to the cluster (``Release``) and run elsewhere at
once. A second Ctrl-C hands them back immediately. The hand-back, the last answers and the
leave get 5 s in all, so a worker cut off from its cluster still exits; what did not get
through runs again once its lease runs out.

Differences from Celery: no soft time limit (``timeout`` is the hard one); no prefetch
multiplier (credit is exactly the free slots); no ``-B`` (schedules run inside the cluster,
see ``app.schedule``); unregistered task names stay queued instead of being discarded.
"""

from __future__ import annotations

from .worker import Worker

__all__ = ["Worker"]
