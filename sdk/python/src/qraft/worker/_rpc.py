"""Worker calls that keep a refusal's kind.

:meth:`qraft._transport.Transport.call` turns every definite answer into a
:mod:`qraft.errors` exception, which drops the ``x-qraft-error`` metadata that tells a stale
lease from a revoke. The worker needs that difference (drop the attempt, or stop it), so its
answers and extends go through :func:`call`: the same retries and leader following, but a
worker refusal comes back as :class:`Refused` with its kind.
"""

from __future__ import annotations

import time
from typing import Any

import grpc

from .. import errors
from .._transport import Kind, Transport, _Attempts, refusal, to_exception

__all__ = ["Refused", "call", "unimplemented", "STALE_LEASE", "REVOKED"]

STALE_LEASE = "stale-lease"
REVOKED = "revoked"


class Refused(errors.QraftError):
    """A node refused a worker's answer or extend: ``kind`` is ``stale-lease`` (the lease is
    gone: drop the attempt) or ``revoked`` (the task was revoked: stop it)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message, code="FAILED_PRECONDITION")
        self.kind = kind


def unimplemented(error: BaseException) -> bool:
    """True when the node does not know the method (an older binary)."""
    return isinstance(error, errors.QraftError) and error.code == "UNIMPLEMENTED"


def call(
    transport: Transport,
    service: str,
    method: str,
    request: Any,
    *,
    kind: Kind = Kind.KEYED,
    timeout: float | None = None,
) -> Any:
    """``transport.call(...)``, except that a worker refusal raises :class:`Refused`."""
    attempts = _Attempts(transport.policy, transport.book, kind)
    token = transport.settings.token
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    while True:
        asked = transport.book.pick()
        rpc = getattr(transport.stub(asked, service), method)
        try:
            return rpc(request, timeout=attempts.attempt_timeout(timeout), metadata=metadata)
        except grpc.RpcError as error:
            why = refusal(error)
            if why is not None:
                raise Refused(why, to_exception(error).message) from None
            pause = attempts.failed(error, asked)
            if pause:
                time.sleep(pause)
