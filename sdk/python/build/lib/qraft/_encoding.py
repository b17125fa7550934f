"""The one encoding of arguments and results, readable and writable from any language.

- A task's **args** payload is a UTF-8 JSON object ``{"args": [...], "kwargs": {...}}``; both
  keys may be missing (empty). ``send_mail.delay("ada@example.com", subject="hi")`` travels as
  ``{"args":["ada@example.com"],"kwargs":{"subject":"hi"}}``.
- A task's **result** is the UTF-8 JSON of its return value (``None`` is ``null``).
- **Canvas** (a flow's later parts): the server hands a chain step the previous step's result
  as its payload, and a chord's callback a JSON array of ``{"task","state","result","error"}``
  per member. Such a part carries the header ``qraft-canvas`` (``chain-step`` or
  ``chord-callback``) and its own partial arguments, if any, as an args object in the header
  ``qraft-args`` (at most 4 KiB). The worker calls it with the previous result (or the list of
  member results) first, then the partial arguments.

Only JSON values travel: ``dict`` (string keys), ``list``/``tuple``, ``str``, ``int``,
``float`` (finite), ``bool`` and ``None``. Anything else is refused with :class:`TypeError`
when the task is sent, never silently turned into a string.
"""

from __future__ import annotations

import json
from typing import Any

CANVAS = "qraft-canvas"
PARTIAL_ARGS = "qraft-args"
CHAIN_STEP = "chain-step"
CHORD_CALLBACK = "chord-callback"
MAX_HEADER = 4096


def dumps(value: Any, what: str) -> bytes:
    """``value`` as compact UTF-8 JSON, or :class:`TypeError` naming what was not JSON."""
    _must_have_str_keys(value, what)
    try:
        return json.dumps(
            value, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{what} must be JSON-serialisable (dict, list, str, int, float, bool, None): {e}"
        ) from None


def _must_have_str_keys(value: Any, what: str) -> None:
    """``json`` would turn a dict's int, float, bool or None keys into strings silently: a
    value that does not come back as it went is refused instead."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{what} must be JSON-serialisable: dict keys must be str, not {key!r}"
                )
            if isinstance(item, (dict, list, tuple)):
                _must_have_str_keys(item, what)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, (dict, list, tuple)):
                _must_have_str_keys(item, what)


def encode_args(args: tuple[Any, ...] | list[Any] | None, kwargs: dict[str, Any] | None) -> bytes:
    """The args payload of a task called with ``args`` and ``kwargs``."""
    args = list(args or ())
    kwargs = dict(kwargs or {})
    for key in kwargs:
        if not isinstance(key, str):
            raise TypeError(f"keyword argument names must be strings, not {key!r}")
    return dumps({"args": args, "kwargs": kwargs}, "task arguments")


def decode_args(payload: bytes) -> tuple[list[Any], dict[str, Any]]:
    """``(args, kwargs)`` from an args payload; :class:`ValueError` when it is not one."""
    if not payload:
        return [], {}
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"task args are not JSON: {e}") from None
    if not isinstance(value, dict) or not set(value) <= {"args", "kwargs"}:
        raise ValueError(
            'task args must be a JSON object {"args": [...], "kwargs": {...}}; '
            f"got {payload[:200]!r}"
        )
    args = value.get("args", [])
    kwargs = value.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError('"args" must be a JSON array and "kwargs" a JSON object')
    return args, kwargs


def encode_result(value: Any) -> bytes:
    return dumps(value, "a task's return value")


def decode_result(payload: bytes) -> Any:
    """A result as the value it encodes; a result that is not JSON (a task written in another
    language may return anything) comes back as text, or bytes if not UTF-8."""
    if not payload:
        return None
    try:
        # Decoded here, not by json.loads: it would guess UTF-16 or -32 from the first bytes.
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def partial_header(args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> str:
    """The ``qraft-args`` header of a canvas part with partial arguments."""
    text = encode_args(args, kwargs).decode()
    if len(text.encode()) > MAX_HEADER:
        raise ValueError(
            f"the partial arguments of a chain step or chord callback are at most {MAX_HEADER} "
            f"bytes as JSON, not {len(text.encode())}: pass large data through the previous "
            "step's result, or make the step immutable with .si()"
        )
    return text


def call_arguments(
    payload: bytes, headers: dict[str, str]
) -> tuple[list[Any], dict[str, Any]]:
    """What a worker calls a task function with: its args, or for a canvas part the previous
    result (chain) or every member's result (chord) first, then its partial arguments."""
    canvas = headers.get(CANVAS)
    if canvas is None:
        return decode_args(payload)
    partial_args, partial_kwargs = decode_args(headers.get(PARTIAL_ARGS, "").encode())
    if canvas == CHAIN_STEP:
        return [decode_result(payload), *partial_args], partial_kwargs
    if canvas == CHORD_CALLBACK:
        return [member_results(payload), *partial_args], partial_kwargs
    raise ValueError(f"unknown {CANVAS} header {canvas!r}")


def member_results(payload: bytes) -> list[Any]:
    """A chord callback's (or a group's) outcomes as the members' return values, in order. A
    member that did not succeed (possible with ``on_failure="run_callback"``) appears as the
    :class:`~qraft.errors.TaskFailed` (or revoked, expired) exception it ended with."""
    from . import errors

    outcomes = json.loads(payload) if payload else []
    values: list[Any] = []
    for outcome in outcomes:
        state = outcome.get("state")
        task_id = outcome.get("task") or ""
        if state == "SUCCESS":
            # The server embeds a member's result as JSON when it is JSON, else as text.
            values.append(outcome.get("result"))
        elif state == "REVOKED":
            values.append(errors.TaskRevoked(task_id))
        elif state == "EXPIRED":
            values.append(errors.TaskExpired(task_id))
        else:
            values.append(errors.TaskFailed(task_id, outcome.get("error") or str(state), 0))
    return values
