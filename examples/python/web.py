"""A Flask app that offloads work to qraft: a request sends a task with .delay() and answers
at once; another shows the task's state and result.

    pip install ./sdk/python flask
    qraft-worker -A shop.tasks:app -Q mail,images,reports &   # from examples/python
    flask --app web run --port 8000

    curl -X POST localhost:8000/signup -d email=ada@example.com
    curl localhost:8000/tasks/<id>
"""

from __future__ import annotations

from flask import Flask, jsonify, request

import qraft
from shop.tasks import app as tasks_app
from shop.tasks import send_mail, thumbnail

web = Flask(__name__)


@web.post("/signup")
def signup():  # type: ignore[no-untyped-def]
    email = request.form.get("email", "")
    # Returns once the task is stored on a majority of the cluster: it will run, even if a
    # node dies right after this line.
    result = send_mail.delay(email, subject="Welcome to the shop")
    return jsonify({"task": result.id, "status_url": f"/tasks/{result.id}"}), 202


@web.post("/images")
def upload_image():  # type: ignore[no-untyped-def]
    name = request.form.get("name", "photo.jpg")
    result = thumbnail.apply_async((name,), kwargs={"size": 256}, priority=7)
    return jsonify({"task": result.id, "status_url": f"/tasks/{result.id}"}), 202


@web.get("/tasks/<task_id>")
def task_status(task_id: str):  # type: ignore[no-untyped-def]
    result = tasks_app.AsyncResult(task_id)
    try:
        state = result.state
    except qraft.NotFound:
        return jsonify({"error": f"no task {task_id} (or its result expired)"}), 404
    body: dict[str, object] = {"task": task_id, "state": state}
    if result.successful():
        body["result"] = result.result
    elif result.failed():
        body["error"] = result.traceback
    return jsonify(body)


@web.get("/tasks/<task_id>/wait")
def task_wait(task_id: str):  # type: ignore[no-untyped-def]
    """Long poll: answers when the task is done, or after `timeout` seconds (default 10)."""
    timeout = float(request.args.get("timeout", "10"))
    try:
        value = tasks_app.AsyncResult(task_id).get(timeout=timeout)
    except qraft.TimeoutError:
        return jsonify({"task": task_id, "state": "RUNNING"}), 202
    except qraft.TaskFailed as e:
        return jsonify({"task": task_id, "state": "FAILURE", "error": e.error}), 200
    return jsonify({"task": task_id, "state": "SUCCESS", "result": value})
