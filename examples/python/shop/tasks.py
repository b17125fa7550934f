"""The shop's tasks. The web app imports this module to send them; `qraft-worker -A
shop.tasks:app` imports it to run them.

    qraft-worker -A shop.tasks:app -Q mail,images,reports -c 8
"""

from __future__ import annotations

import hashlib
import logging
import time

from qraft import Qraft

# The cluster comes from QRAFT_CLUSTER (default: the addresses `qraft dev` uses), the token and
# CA from QRAFT_TOKEN and QRAFT_CA.
app = Qraft("shop")
log = logging.getLogger(__name__)


@app.task(name="mail.send", queue="mail", max_retries=3, retry_delay=1.0, timeout=30)
def send_mail(to: str, subject: str, body: str = "") -> dict[str, str]:
    """Sends a mail (here: logs it) and returns a receipt."""
    if "@" not in to:
        raise ValueError(f"not a mail address: {to!r}")
    log.info("mail to %s: %s", to, subject)
    return {"to": to, "subject": subject, "status": "sent"}


@app.task(name="images.thumbnail", queue="images", timeout=60)
def thumbnail(image: str, size: int = 128) -> str:
    """Stands in for resizing an image: some CPU work, then the thumbnail's name."""
    digest = hashlib.sha256(image.encode())
    for _ in range(20_000):
        digest = hashlib.sha256(digest.digest())
    return f"{image.rsplit('.', 1)[0]}-{size}px-{digest.hexdigest()[:8]}.png"


@app.task(name="reports.count_words", queue="reports")
def count_words(text: str) -> int:
    return len(text.split())


@app.task(name="reports.total", queue="reports")
def total(counts: list[int], title: str = "report") -> dict[str, object]:
    """A chord's callback: gets every member's value, in order, first."""
    return {"title": title, "documents": len(counts), "words": sum(counts)}


@app.task(name="reports.slow", queue="reports", bind=True, max_retries=5)
def flaky_export(self, name: str) -> str:  # type: ignore[no-untyped-def]
    """Retries itself while a (pretend) storage service is busy: self.request says which try."""
    if self.request.attempts < 3:
        raise self.retry(countdown=0.2, exc=ConnectionError("storage busy"))
    time.sleep(0.01)
    return f"exports/{name}.csv after {self.request.attempts} attempts"
