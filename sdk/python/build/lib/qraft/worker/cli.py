"""``qraft-worker`` (also ``python -m qraft worker``): run an app's tasks.

::

    qraft-worker -A shop.tasks:app -Q mail,default -c 16 --pool threads --loglevel INFO

Bad input (no such module, not an app, no tasks, an unreachable cluster) exits with status 2
(usage) or 1 (everything else) and one line on stderr that says what to change.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import errors
from .._config import Settings
from .loader import LoadError, load_app
from .worker import POOLS, Worker

__all__ = ["main", "build_parser"]

_EPILOG = """\
examples:
  qraft-worker -A shop.tasks:app
  qraft-worker -A shop.tasks:app -Q mail,default -c 32 --pool threads
  qraft-worker -A shop.cpu:app --pool processes -c 4 --grace 60

The cluster, token and CA come from the options, else from the QRAFT_CLUSTER, QRAFT_TOKEN and
QRAFT_CA environment variables, else from the app. SIGTERM or Ctrl-C stops the worker: running
tasks get --grace seconds to finish and the rest are handed back to the cluster; a second
Ctrl-C hands them back at once.
"""


def build_parser(prog: str = "qraft-worker") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the tasks of a qraft app: lease them from the cluster, run them, "
        "answer with their results.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-A", "--app", required=True, metavar="MODULE[:ATTR]",
        help="the app to run, as module:attribute (e.g. shop.tasks:app); a module alone "
        "means its attribute 'app'. The current directory is on the import path.",
    )
    parser.add_argument(
        "-Q", "--queues", metavar="QUEUE[,QUEUE...]",
        help="queues to take tasks from, comma-separated (default: every queue the app's "
        "tasks are sent to)",
    )
    parser.add_argument(
        "-c", "--concurrency", type=_positive_int, default=16, metavar="N",
        help="tasks run at once (default 16)",
    )
    parser.add_argument(
        "-P", "--pool", default="threads", metavar="POOL",
        help="threads (default: functions on N threads, async def on an event loop), "
        "processes (N child processes: CPU-bound tasks, hard time limits that kill) or "
        "asyncio (everything on one event loop)",
    )
    parser.add_argument(
        "-l", "--loglevel", default="INFO", metavar="LEVEL",
        help="DEBUG, INFO (default: one line per task), WARNING, ERROR",
    )
    parser.add_argument(
        "-n", "--worker-id", metavar="ID",
        help="this worker's id, as `qraft workers` shows it (default: HOSTNAME:PID)",
    )
    parser.add_argument(
        "--grace", type=_non_negative_float, default=30.0, metavar="SECONDS",
        help="on SIGTERM, how long running tasks may finish before they are handed back "
        "(default 30)",
    )
    parser.add_argument(
        "--lease", type=_non_negative_float, default=30.0, metavar="SECONDS",
        help="lease length of tasks without a timeout, extended every third of it while "
        "they run (default 30)",
    )
    parser.add_argument(
        "--max-tasks", type=_positive_int, metavar="N",
        help="exit after running N tasks (benchmarks, tests)",
    )
    parser.add_argument(
        "--cluster", metavar="HOST:PORT[,...]",
        help="node addresses (default: QRAFT_CLUSTER, else the app's)",
    )
    parser.add_argument(
        "--token", metavar="TOKEN",
        help="access token with the worker role (default: QRAFT_TOKEN, else the app's)",
    )
    parser.add_argument(
        "--ca", metavar="PEM",
        help="CA certificate of a TLS cluster (default: QRAFT_CA, else the app's)",
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def main(argv: list[str] | None = None, prog: str = "qraft-worker") -> int:
    """Parses ``argv``, runs the worker until it is stopped, and returns the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.pool not in POOLS:
        parser.error(f"unknown pool {args.pool!r}: use one of {', '.join(POOLS)}")
    level = logging.getLevelName(args.loglevel.upper())
    if not isinstance(level, int):
        parser.error(f"unknown log level {args.loglevel!r}: use DEBUG, INFO, WARNING or ERROR")
    logging.basicConfig(level=level, format="[%(asctime)s: %(levelname)s] %(message)s")

    # The flags reach the app too (an app that reads QRAFT_* from the environment, and tasks
    # that send tasks), and the process pool's children, which inherit the environment.
    for flag, variable in ((args.cluster, "QRAFT_CLUSTER"), (args.token, "QRAFT_TOKEN"),
                           (args.ca, "QRAFT_CA")):
        if flag:
            os.environ[variable] = flag
    try:
        app = load_app(args.app)
    except LoadError as e:
        return _fail(prog, str(e))
    settings = None
    if args.cluster or args.token or args.ca:
        try:
            settings = Settings.resolve(
                args.cluster or list(app.settings.addrs),
                token=args.token or app.settings.token,
                ca=args.ca or app.settings.ca,
                cert=app.settings.cert,
                key=app.settings.key,
            )
        except ValueError as e:
            return _fail(prog, str(e))
    queues = [q.strip() for q in args.queues.split(",") if q.strip()] if args.queues else None
    spec = args.app if ":" in args.app else f"{args.app}:app"
    try:
        worker = Worker(
            app,
            queues=queues,
            concurrency=args.concurrency,
            pool=args.pool,
            worker_id=args.worker_id,
            grace=args.grace,
            lease=max(args.lease, 0.1),
            max_tasks=args.max_tasks,
            settings=settings,
            app_spec=spec,
        )
        worker.run()
    except LoadError as e:
        return _fail(prog, str(e))
    except errors.PermissionDenied as e:
        return _fail(
            prog, f"the cluster refused this worker: {e} (pass --token or set QRAFT_TOKEN)"
        )
    except errors.Unavailable as e:
        return _fail(prog, f"cannot reach the cluster: {e}")
    except (errors.QraftError, ValueError) as e:
        return _fail(prog, str(e))
    return 0


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
