"""The runnable examples in examples/python work as their README says: a qraft-worker runs the
shop's tasks, the Flask app offloads work and shows results, the chord adds up its members."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from cluster import ROOT, Cluster

EXAMPLES = ROOT / "examples" / "python"

WEB_CHECK = textwrap.dedent(
    """
    from web import web
    from shop.tasks import flaky_export

    client = web.test_client()
    sent = client.post("/signup", data={"email": "ada@example.com"})
    assert sent.status_code == 202, sent.data
    waited = client.get(sent.json["status_url"] + "/wait?timeout=30").json
    assert waited == {"task": sent.json["task"], "state": "SUCCESS",
                      "result": {"to": "ada@example.com", "subject": "Welcome to the shop",
                                 "status": "sent"}}, waited
    shown = client.get(sent.json["status_url"]).json
    assert shown["state"] == "SUCCESS" and shown["result"]["status"] == "sent", shown

    bad = client.post("/signup", data={"email": "nobody"})
    failed = client.get(bad.json["status_url"] + "/wait?timeout=30").json
    assert failed["state"] == "FAILURE" and "not a mail address" in failed["error"], failed

    image = client.post("/images", data={"name": "cat.jpg"})
    done = client.get(image.json["status_url"] + "/wait?timeout=30").json
    assert done["state"] == "SUCCESS" and done["result"].startswith("cat-256px-"), done

    missing = client.get("/tasks/01J0000000000000000000000Z")
    assert missing.status_code == 404, missing.data

    assert flaky_export.delay("orders").get(timeout=30) == "exports/orders.csv after 3 attempts"
    print("web ok")
    """
)


def test_the_flask_app_and_the_chord_example_run_against_a_worker(
    cluster: Cluster, tmp_path: Path
) -> None:
    env = dict(os.environ, QRAFT_CLUSTER=cluster.addrs, PYTHONUNBUFFERED="1")
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "qraft", "worker", "-A", "shop.tasks:app",
         "-Q", "mail,images,reports", "-c", "4"],
        cwd=EXAMPLES, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        chord = subprocess.run(
            [sys.executable, "chord.py"], cwd=EXAMPLES, env=env,
            capture_output=True, text=True, timeout=120,
        )
        assert chord.returncode == 0, chord.stderr
        assert "{'title': 'words', 'documents': 3, 'words': 16}" in chord.stdout, chord.stdout
        web = subprocess.run(
            [sys.executable, "-c", WEB_CHECK], cwd=EXAMPLES, env=env,
            capture_output=True, text=True, timeout=180,
        )
        assert web.returncode == 0, web.stderr
        assert "web ok" in web.stdout
    finally:
        worker.terminate()
        code = worker.wait(timeout=60)
        log.close()
        assert code == 0, (tmp_path / "worker.log").read_text()
