"""Finding the app a worker runs: ``-A shop.tasks:app`` (or ``-A shop.tasks``, which looks
for ``app``), as Celery's ``-A`` does, with the current directory on ``sys.path``.

    app = load_app("shop.tasks:app")

Anything wrong raises :class:`LoadError` with one line that says what to change.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

__all__ = ["LoadError", "load_app", "spec_of"]


class LoadError(Exception):
    """The ``-A`` spec does not name a usable app; the message says why."""


def load_app(spec: str, *, need_tasks: bool = True) -> Any:
    """Imports ``module[:attribute]`` and returns the :class:`~qraft.Qraft` app it names."""
    from ..app import Qraft

    module_name, _, attribute = spec.partition(":")
    attribute = attribute or "app"
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise LoadError(
            f"-A {spec!r} is not of the form module.path:attribute (e.g. -A shop.tasks:app)"
        )
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        # As Celery: the app is usually a module of the project the worker is started in.
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise LoadError(
                f"-A {spec}: no module named {e.name!r} (looked in {cwd} and sys.path; "
                "run the worker from your project's directory, or set PYTHONPATH)"
            ) from None
        raise LoadError(f"-A {spec}: importing {module_name} failed: {_last_line(e)}") from None
    except Exception as e:  # noqa: BLE001 - the user's module may raise anything on import
        raise LoadError(f"-A {spec}: importing {module_name} failed: {_last_line(e)}") from None
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise LoadError(
            f"-A {spec}: module {module_name} has no attribute {attribute!r} "
            f"(give the app's name after a colon, e.g. -A {module_name}:app)"
        ) from None
    if not isinstance(app, Qraft):
        raise LoadError(
            f"-A {spec}: {module_name}.{attribute} is a {type(app).__name__}, not a qraft.Qraft "
            "app"
        )
    if need_tasks and not app.tasks:
        raise LoadError(
            f"-A {spec}: the app has no tasks registered (decorate functions with @app.task, "
            "and import the modules that define them from the app's module)"
        )
    return app


def spec_of(app: Any) -> str | None:
    """``module:attribute`` under which ``app`` can be imported again (by the process pool's
    children), if some imported module holds it."""
    found = None
    for name, module in list(sys.modules.items()):
        if module is None or name.startswith("qraft."):
            continue
        try:
            attributes = vars(module)
        except TypeError:
            continue
        for attribute, value in list(attributes.items()):
            if value is app:
                if name == "__main__":
                    found = found or f"{name}:{attribute}"
                    break
                return f"{name}:{attribute}"
    return found


def _last_line(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    return lines[-1].strip() if lines else repr(error)
