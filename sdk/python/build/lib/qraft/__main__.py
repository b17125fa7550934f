"""``python -m qraft COMMAND``: the SDK's command line.

::

    python -m qraft worker -A shop.tasks:app -Q mail -c 16     # same as qraft-worker

Each command is a module with a ``main(argv, prog) -> int``; add one to ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["main", "COMMANDS"]

#: Command name -> (module with main(argv, prog), one-line description).
COMMANDS: dict[str, tuple[str, str]] = {
    "worker": ("qraft.worker.cli", "run an app's tasks (same as qraft-worker)"),
    "bench": ("qraft.bench", "measure the SDK against a cluster: delay, batch, drain, round trip"),
}


def _usage() -> str:
    lines = ["usage: python -m qraft COMMAND [OPTIONS]", "", "commands:"]
    width = max(len(name) for name in COMMANDS)
    for name, (_, about) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {about}")
    lines.append("")
    lines.append("python -m qraft COMMAND --help shows a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"python -m qraft: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest, prog=f"python -m qraft {name}"))


if __name__ == "__main__":
    sys.exit(main())
