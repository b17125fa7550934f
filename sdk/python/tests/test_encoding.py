"""The argument and result encoding (qraft._encoding): values that go through the cluster come
back equal; values that would not are refused with TypeError; canvas parts are called with the
previous result or the members' values first."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cluster import Cluster

import qraft
from qraft import Qraft
from qraft._encoding import (
    call_arguments,
    decode_args,
    decode_result,
    encode_args,
    encode_result,
    partial_header,
)

VALUES = [
    None,
    True,
    0,
    -(2**63),
    2**64 + 1,
    3.25,
    1e-300,
    "",
    "naïve – 日本語 – 🚀",
    [],
    {},
    [1, [2, [3, {"deep": [None]}]]],
    {"a": {"b": {"c": "d"}}, "list": [1.5, "x", False]},
]


@pytest.fixture(scope="module")
def app(cluster: Cluster) -> Iterator[Qraft]:
    with Qraft("encoding-tests", cluster=cluster.addrs) as app:
        yield app


def test_values_round_trip_through_the_cluster(app: Qraft) -> None:
    # builtin.echo returns its args payload unchanged: what a worker in any language reads.
    results = [app.send_task("builtin.echo", args=[v], kwargs={"k": v}) for v in VALUES]
    for value, r in zip(VALUES, results):
        assert r.get(timeout=30) == {"args": [value], "kwargs": {"k": value}}


def test_tuples_travel_as_lists() -> None:
    assert decode_args(encode_args((1, (2, 3)), {"t": (4,)})) == ([1, [2, 3]], {"t": [4]})


def test_the_payload_is_compact_utf8_json() -> None:
    assert encode_args(("ada@example.com",), {"subject": "hi"}) == (
        b'{"args":["ada@example.com"],"kwargs":{"subject":"hi"}}'
    )
    assert encode_args(("é",), None) == '{"args":["é"],"kwargs":{}}'.encode()
    assert encode_result(None) == b"null" and decode_result(b"") is None


@pytest.mark.parametrize(
    "bad",
    [object(), {1, 2}, b"bytes", float("nan"), float("inf"), {1: "int key"}, [{None: 1}], 1j],
    ids=["object", "set", "bytes", "nan", "inf", "int-key", "nested-none-key", "complex"],
)
def test_what_json_cannot_carry_exactly_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="JSON-serialisable"):
        encode_args((bad,), None)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        encode_args((), {"x": bad})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        encode_result(bad)


def test_payloads_that_are_not_the_encoding() -> None:
    assert decode_args(b"") == ([], {})
    assert decode_args(b'{"args":[1]}') == ([1], {})
    for bad in (b"[1,2]", b'{"other":1}', b"not json", b'{"args":{}}'):
        with pytest.raises(ValueError):
            decode_args(bad)
    # A result from another language that is not JSON comes back as text (or bytes).
    assert decode_result(b"plain text") == "plain text"
    assert decode_result(b"\xff\xfe") == b"\xff\xfe"


def test_canvas_parts_get_the_previous_value_first() -> None:
    headers = {"qraft-canvas": "chain-step", "qraft-args": partial_header((10,), {"scale": 2})}
    assert call_arguments(b"5", headers) == ([5, 10], {"scale": 2})
    assert call_arguments(b"5", {"qraft-canvas": "chain-step"}) == ([5], {})
    outcomes = json.dumps(
        [
            {"task": "a", "state": "SUCCESS", "result": 1, "error": None},
            {"task": "b", "state": "FAILURE", "result": None, "error": "boom"},
            {"task": "c", "state": "REVOKED", "result": None, "error": None},
        ]
    ).encode()
    values, kwargs = call_arguments(outcomes, {"qraft-canvas": "chord-callback"})
    assert values[0][0] == 1 and kwargs == {}
    assert isinstance(values[0][1], qraft.TaskFailed) and values[0][1].error == "boom"
    assert isinstance(values[0][2], qraft.TaskRevoked)
    with pytest.raises(ValueError, match="unknown"):
        call_arguments(b"1", {"qraft-canvas": "map"})


def test_partial_arguments_are_bounded() -> None:
    with pytest.raises(ValueError, match="4096"):
        partial_header(("x" * 5000,), {})
