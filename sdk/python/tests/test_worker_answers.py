"""The answering thread against a real cluster: each answer of an ``AnswerBatch`` lands, a fenced
resend of answers already taken is refused as stale and dropped, and a bad answer is refused
alone."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from apps import shop
from cluster import Cluster
from worker_support import bound, caught_logs, submit_raw, task, unique_queue

import qraft
from qraft._transport import Kind
from qraft.v1 import tasks_pb2, worker_pb2
from qraft.worker.answers import Answers
from qraft.worker.job import RETRY, SUCCESS, Job, Outcome


@pytest.fixture
def app(cluster: Cluster) -> Iterator[qraft.Qraft]:
    with bound(shop.app, cluster) as app:
        yield app


def lease(app: qraft.Qraft, queue: str, n: int) -> list[Job]:
    request = worker_pb2.LeaseRequest(
        worker_id="answers-test", queues=[queue], max=n, lease_ms=30_000, wait_ms=2000
    )
    jobs: list[Job] = []
    while len(jobs) < n:
        request.max = n - len(jobs)
        tasks = app.transport.call("Worker", "Lease", request, kind=Kind.KEYED, timeout=10).tasks
        jobs += [Job(t, 30.0) for t in tasks]
    return jobs


def test_answers_land_and_a_fenced_resend_is_dropped(app: qraft.Qraft) -> None:
    q = unique_queue()
    ids = {
        name: submit_raw(app, name, q, b"{}", max_retries=2)
        for name in ("shop.pid", "shop.boom", "shop.sleepy", "shop.flaky")
    }
    jobs = {job.name: job for job in lease(app, q, 4)}
    answers = Answers(app.transport)
    answers.start()
    answers.put(jobs["shop.pid"], Outcome(SUCCESS, result=b"42"))
    answers.put(jobs["shop.boom"], Outcome.failure("ValueError: for good"))
    answers.put(jobs["shop.flaky"], Outcome(RETRY, error="later", retry_in_ms=60_000))
    answers.release(jobs["shop.sleepy"])
    assert answers.close(time.monotonic() + 20.0) == (0, 0)
    assert answers.sent == 4

    assert task(app, ids["shop.pid"]).result == b"42"
    assert task(app, ids["shop.pid"]).state == tasks_pb2.SUCCESS
    failed = task(app, ids["shop.boom"])
    assert failed.state == tasks_pb2.FAILURE and failed.error == "ValueError: for good"
    retried = task(app, ids["shop.flaky"])
    assert retried.state == tasks_pb2.RETRY and retried.error == "later"
    # retry_in_ms: after exactly a minute, not the policy's 1 s backoff.
    assert retried.retry_at_ms > time.time() * 1000 + 50_000
    assert task(app, ids["shop.sleepy"]).state == tasks_pb2.PENDING

    # The same answers again, as after a lost reply: refused as stale, nothing changes.
    again = Answers(app.transport)
    again.start()
    with caught_logs() as logs:
        for name, outcome in (("shop.pid", Outcome(SUCCESS, result=b"7")),
                              ("shop.boom", Outcome.failure("other"))):
            again.put(jobs[name], outcome)
        assert again.close(time.monotonic() + 20.0) == (0, 0)
    assert again.sent == 0
    assert logs.text().count("answer dropped") == 2
    assert task(app, ids["shop.pid"]).result == b"42"
    assert task(app, ids["shop.boom"]).error == "ValueError: for good"
    for task_id in ids.values():
        qraft.AsyncResult(task_id, app=app).revoke()
