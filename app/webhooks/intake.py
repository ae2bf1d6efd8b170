"""`POST /webhook` as raw ASGI, taken before Starlette's routing: verify, store, acknowledge.

Every delivery passes here, so it does only what an answer needs: the four headers looked up
in one pass, the body read once into the HMAC (constant-time compare), a cheap check that the
body can be a JSON object, and the row stored unread in a group commit (app/store/
group_commit.py). The 202 goes out after the COMMIT that holds the row. Parsing waits for the
processor (app/webhooks/inbox.read_payload).

What can be refused before the body is read is (no or malformed signature, missing headers, a
declared size over the cap), on a closed connection; a body still arriving after the timeout
is dropped with 408. Nothing answers 500: a store that cannot write answers 503 with
Retry-After, so the delivery can be redelivered, and a bug is logged and answered the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.clock import Clock
from app.store import StoreError
from app.store.group_commit import GroupCommitter
from app.store.inbox import UnreadDelivery
from app.webhooks.inbox import NotAnObject, check_body, store_delivery
from app.webhooks.signature import StreamingSignature, parse_signature

log = logging.getLogger("townhall.web")

PATH = "/webhook"
# Seconds a client should wait before retrying when the store cannot take writes.
RETRY_AFTER_S = 30

_JSON = (b"content-type", b"application/json")
_CLOSE = (b"connection", b"close")
_RETRY = (b"retry-after", str(RETRY_AFTER_S).encode())


@dataclass(frozen=True)
class Intake:
    """What taking a delivery needs."""

    committer: GroupCommitter[UnreadDelivery, bool]
    clock: Clock
    secret: str
    max_body_bytes: int
    body_timeout_s: float
    on_new: Callable[[], None]  # called after a new delivery is stored (wakes the processor)


@dataclass(frozen=True)
class Answer:
    """A response: status, JSON body, extra headers."""

    status: int
    body: dict[str, str]
    headers: tuple[tuple[bytes, bytes], ...] = ()


class _TooLarge(Exception):
    """The body passed the limit while it was being read."""


class _HungUp(Exception):
    """The client went away before its body was complete."""


def _refuse(status: int, message: str) -> Answer:
    """Answer without reading the rest of the body, and close the connection it is on."""
    return Answer(status, {"error": message}, (_CLOSE,))


def _unavailable(message: str) -> Answer:
    return Answer(503, {"error": message}, (_RETRY,))


class WebhookIntake:
    """ASGI middleware: takes `POST /webhook` itself and passes every other request on."""

    def __init__(self, app: ASGIApp, intake: Intake) -> None:
        self.app = app
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        try:
            answer = await take_delivery(self.intake, scope["headers"], receive)
        except Exception:  # a bug, not the request's fault; still no 500 for GitHub to show
            log.exception("webhook failed")
            answer = _unavailable("the delivery could not be taken; try again")
        content = json.dumps(answer.body, separators=(",", ":")).encode()
        length = (b"content-length", str(len(content)).encode())
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [_JSON, length, *answer.headers],
            }
        )
        await send({"type": "http.response.body", "body": content})


async def take_delivery(
    intake: Intake, headers: list[tuple[bytes, bytes]], receive: Receive
) -> Answer:
    """Verify, store and acknowledge one delivery; return the answer to send."""
    signature_header = event = delivery_id = declared = None
    for name, value in headers:  # one pass; names come lower-cased from the server
        if name == b"x-hub-signature-256":
            signature_header = value.decode("latin-1")
        elif name == b"x-github-event":
            event = value.decode("latin-1")
        elif name == b"x-github-delivery":
            delivery_id = value.decode("latin-1")
        elif name == b"content-length":
            declared = value
    claimed = parse_signature(signature_header)
    if claimed is None:
        return _refuse(401, "missing or malformed X-Hub-Signature-256")
    if not event or not delivery_id:
        return _refuse(400, "missing X-GitHub-Event or X-GitHub-Delivery")
    if declared is not None and declared.isdigit() and int(declared) > intake.max_body_bytes:
        return _refuse(413, f"body over {intake.max_body_bytes} bytes")
    signature = StreamingSignature(intake.secret, claimed)
    try:
        async with asyncio.timeout(intake.body_timeout_s):
            body = await _read_body(receive, intake.max_body_bytes, signature)
    except _TooLarge:
        return _refuse(413, f"body over {intake.max_body_bytes} bytes")
    except TimeoutError:
        log.info("webhook body incomplete after %ss; dropped", intake.body_timeout_s)
        return _refuse(408, f"body not received within {intake.body_timeout_s}s")
    except _HungUp:
        log.info("webhook client hung up before its body was complete")
        return _refuse(400, "client disconnected")  # nobody reads this answer
    if not signature.matches():
        return Answer(401, {"error": "invalid X-Hub-Signature-256"})
    try:
        text = check_body(body)
    except NotAnObject as error:
        return Answer(400, {"error": str(error)})
    try:
        is_new = await store_delivery(intake.committer, intake.clock, delivery_id, event, text)
    except StoreError as error:
        log.error("delivery %s not stored, answered 503: %s", delivery_id, error)
        return _unavailable(f"the store cannot take deliveries: {error}")
    if is_new:
        intake.on_new()
    return Answer(202, {"delivery": delivery_id, "status": "accepted" if is_new else "duplicate"})


async def _read_body(receive: Receive, limit: int, signature: StreamingSignature) -> bytes:
    """Read the body into the HMAC, stopping as soon as it passes `limit` (chunked included)."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise _HungUp
        chunk: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        signature.update(chunk)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
