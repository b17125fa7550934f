"""Recovering the tasks of a lease whose answer never arrived (a timeout, a failover, a worker
restarted under the same id): the next lease says what the worker holds and gets the rest back.

The pieces first, with fakes and no cluster: :class:`Slots` drops a task leased again while its
attempt runs, :class:`Answers` lists the tasks whose answers are not confirmed yet, and the
leaser asks with ``recover`` and ``held`` after a lost answer and on its first lease. Then a
worker against a real cluster gets back at once what its previous run held, and never a task
revoked meanwhile."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apps import shop
from cluster import Cluster, wait_for
from worker_support import bound, running, task, unique_queue

import qraft
from qraft import errors
from qraft._transport import Kind
from qraft.v1 import worker_pb2
from qraft.worker import Worker
from qraft.worker.answers import Answers
from qraft.worker.job import ABANDONED, RUNNING, SUCCESS, Job, Outcome
from qraft.worker.slots import Slots


def leased(task_id: str, delivery: int = 1, lease_left: float = 30.0) -> worker_pb2.LeasedTask:
    """A task as a lease answer carries it, its lease running out in ``lease_left`` s."""
    return worker_pb2.LeasedTask(
        id=task_id, delivery=delivery, name="shop.add", queue="q", attempts=delivery,
        deadline_ms=round((time.time() + lease_left) * 1000),
    )


def job(task_id: str, delivery: int = 1) -> Job:
    return Job(leased(task_id, delivery), 30.0)


# -- Slots ---------------------------------------------------------------------------------


def test_slots_drop_a_task_leased_again_while_it_runs_and_replace_it_on_a_newer_delivery() -> None:
    # max_tasks shows what counts as leased: a dropped duplicate must not.
    slots = Slots(concurrency=4, share=4, max_tasks=3)
    first = job("a")
    assert slots.give(slots.take(), [first]) == ([first], True)

    again, other = job("a"), job("b")
    assert slots.give(slots.take(), [again, other]) == ([other], True)
    assert slots.running == {"a": first, "b": other}
    assert first.state == RUNNING

    newer = job("a", delivery=2)
    assert slots.take() == 1, "two leased of three: the duplicate did not count"
    assert slots.give(1, [newer]) == ([newer], True)
    assert slots.running == {"a": newer, "b": other}
    assert first.state == ABANDONED, "the old attempt's answers would be refused as stale"
    assert slots.take() == 0 and slots.leasing_done.is_set()

    # An older delivery than the one running is dropped too.
    assert slots.give(0, [job("a", delivery=1)]) == ([], True)
    assert slots.running["a"] is newer and slots.active == 2


def test_slots_hand_back_only_the_new_tasks_of_a_lease_that_comes_as_the_worker_stops() -> None:
    slots = Slots(concurrency=4, share=4, max_tasks=None)
    first = job("a")
    slots.give(slots.take(), [first])
    credit = slots.take()
    slots.close()
    again, other = job("a"), job("b")
    # Handing back the duplicate would release the task its running attempt still answers for.
    assert slots.give(credit, [again, other]) == ([other], False)
    assert other.state == ABANDONED and first.state == RUNNING
    assert slots.running_ids() == ["a"]


# -- Answers -------------------------------------------------------------------------------


class GatedTransport:
    """Answers each ``AnswerBatch`` as taken once the test lets it through (``let_one()``)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self._gate: queue.SimpleQueue[None] = queue.SimpleQueue()

    def let_one(self) -> None:
        self._gate.put(None)

    def call(self, service: str, method: str, request: Any, **_: Any) -> Any:
        assert (service, method) == ("Worker", "AnswerBatch")
        self.batches.append([answer.id for answer in request.answers])
        self._gate.get(timeout=20)
        taken = worker_pb2.AnswerResult(refusal=worker_pb2.ANSWER_TAKEN)
        return worker_pb2.AnswerBatchResponse(results=[taken] * len(request.answers))


class DownTransport:
    def call(self, service: str, method: str, request: Any, **_: Any) -> Any:
        raise errors.Unavailable("no node answers")


def test_answers_list_a_task_until_every_answer_for_it_is_delivered() -> None:
    transport = GatedTransport()
    answers = Answers(transport)  # type: ignore[arg-type]
    answers.start()
    answers.put(job("a"), Outcome(SUCCESS, result=b"1"))
    wait_for("the first batch on its way", 10, lambda: transport.batches or None)
    # While it is: a later attempt of the same task answers, and another task is handed back.
    answers.put(job("a", delivery=2), Outcome(SUCCESS, result=b"2"))
    answers.release(job("b"))
    assert sorted(answers.unconfirmed()) == ["a", "b"]

    transport.let_one()
    wait_for("the second batch on its way", 10, lambda: len(transport.batches) == 2 or None)
    assert transport.batches == [["a"], ["a", "b"]]
    assert sorted(answers.unconfirmed()) == ["a", "b"], "a's second answer is not confirmed yet"

    transport.let_one()
    wait_for("every answer confirmed", 10, lambda: answers.unconfirmed() == [] or None)
    assert answers.close(time.monotonic() + 5.0) == (0, 0)


def test_answers_given_up_on_at_close_are_no_longer_listed() -> None:
    answers = Answers(DownTransport())  # type: ignore[arg-type]
    answers.start()
    answers.put(job("a"), Outcome(SUCCESS, result=b"1"))
    assert answers.unconfirmed() == ["a"]
    assert answers.close(time.monotonic() + 0.3) == (1, 0)
    assert answers.unconfirmed() == []


# -- the leaser ----------------------------------------------------------------------------


class ScriptedLeases:
    """Answers each ``Lease`` with the next step of ``script`` (tasks, or an exception to
    raise), then calls ``when_done`` and answers empty; keeps every request it was sent."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.requests: list[tuple[worker_pb2.LeaseRequest, Kind]] = []
        self.when_done = lambda: None

    def call(self, service: str, method: str, request: Any, *, kind: Kind, **_: Any) -> Any:
        assert (service, method) == ("Worker", "Lease")
        sent = worker_pb2.LeaseRequest()
        sent.CopyFrom(request)
        self.requests.append((sent, kind))
        if not self.script:
            self.when_done()
            return worker_pb2.LeaseResponse()
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return worker_pb2.LeaseResponse(tasks=step)


class RecordingPool:
    """Keeps what it is given to run, and runs nothing."""

    def __init__(self) -> None:
        self.submitted: list[list[str]] = []

    def submit(self, jobs: list[Job]) -> None:
        self.submitted.append([job.id for job in jobs])


def test_the_leaser_asks_for_what_a_lost_lease_answer_brought_and_runs_it_once() -> None:
    leases = ScriptedLeases([
        [leased("a")],
        errors.OutcomeUnknown("the answer from n1 was lost"),
        # The lost answer brought c; a came with it because the other leaser had not yet
        # registered it when this request listed what the worker holds.
        [leased("a"), leased("c", lease_left=3.0)],
    ])
    worker = Worker(shop.app, queues=["q"], concurrency=4)
    worker._transport = leases  # type: ignore[assignment]
    worker._answers = Answers(leases)  # type: ignore[arg-type]  # not started: answers stay queued
    worker._pool = pool = RecordingPool()
    leases.when_done = worker._slots.close
    # An answer of an earlier attempt, not yet confirmed: the worker still holds task b.
    worker._answers.put(job("b"), Outcome(SUCCESS, result=b"2"))

    leaser = threading.Thread(target=worker._leaser, daemon=True)
    leaser.start()
    leaser.join(20)
    assert not leaser.is_alive()

    sent = [request for request, _ in leases.requests]
    assert [kind for _, kind in leases.requests] == [Kind.WRITE] * 4, "never resent blindly"
    assert [request.recover for request in sent] == [True, False, True, False]
    assert list(sent[0].held) == ["b"], "the first lease after start-up recovers"
    assert list(sent[1].held) == []
    assert sorted(sent[2].held) == ["a", "b"], "running, and answered but not confirmed"
    assert pool.submitted == [["a"], ["c"]], "a ran once"
    assert worker.active == 2
    recovered = worker._slots.running["c"]
    assert recovered.next_extend <= recovered.started + 1.5, "extended before its lease runs out"


# -- against a cluster ---------------------------------------------------------------------


@pytest.fixture
def app(cluster: Cluster) -> Iterator[qraft.Qraft]:
    with bound(shop.app, cluster) as app:
        yield app


def lose_a_lease(app: qraft.Qraft, worker_id: str, queue: str) -> list[worker_pb2.LeasedTask]:
    """Leases a task of ``queue`` to ``worker_id`` for a minute and drops the answer, as a lost
    answer (or a worker that died before running it) would."""
    request = worker_pb2.LeaseRequest(
        worker_id=worker_id, queues=[queue], max=1, lease_ms=60_000, wait_ms=2000
    )
    return wait_for(
        "the task to be leased",
        20,
        lambda: list(
            app.transport.call("Worker", "Lease", request, kind=Kind.KEYED, timeout=10).tasks
        ) or None,
    )


def test_a_worker_gets_back_at_once_what_a_lost_lease_answer_leased_to_its_id(
    app: qraft.Qraft,
) -> None:
    q = unique_queue()
    r = shop.add.apply_async((2, 3), queue=q)
    lost = lose_a_lease(app, "w-recover", q)
    assert [t.id for t in lost] == [r.id]

    with running(app, q, worker_id="w-recover"):
        # Far sooner than the minute its lease would take to run out.
        assert r.get(timeout=15) == 5
    done = task(app, r.id)
    assert done.attempts == 1, "the lost delivery ran, not a new one after its lease ran out"


def test_a_task_revoked_under_a_lost_lease_is_not_recovered(
    app: qraft.Qraft, tmp_path: Path
) -> None:
    q = unique_queue()
    started = tmp_path / "started"
    revoked = shop.sleepy.apply_async((30,), {"started": str(started)}, queue=q)
    assert [t.id for t in lose_a_lease(app, "w-revoked", q)] == [revoked.id]
    # Revoked while leased (as a worker that stopped it without an answer leaves it): the
    # lease stays on, to fence a late answer, but the task must never run again.
    assert revoked.revoke() == "REVOKED"
    after = shop.add.apply_async((1, 2), queue=q)

    # One slot: a recovered sleepy would hold it for 30 s, and the add would wait behind it.
    with running(app, q, worker_id="w-revoked", concurrency=1):
        assert after.get(timeout=15) == 3
    assert not started.exists(), "the revoked task ran"
