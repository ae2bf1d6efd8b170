"""The HTTP endpoints: Messages and count_tokens, SSE framing, delays, and logging each request."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.standins.scripted_model.control import control_routes
from app.standins.scripted_model.decisions import Rejection
from app.standins.scripted_model.errors import ERROR_TYPES, ApiError
from app.standins.scripted_model.ids import new_id
from app.standins.scripted_model.log import RequestRecord
from app.standins.scripted_model.streaming import encode_event, stream_events

if TYPE_CHECKING:
    from app.standins.scripted_model.engine import ScriptedModel

# Status nginx uses for a client that hung up; only ever seen in the log, never by a client.
CLIENT_CLOSED = 499
DISCONNECT_POLL_SECONDS = 0.02


def build_app(model: ScriptedModel) -> Starlette:
    """Return the Starlette app for `model`: the API under /v1, control under /_scripted."""
    endpoints = _Endpoints(model)
    routes = [
        Route("/v1/messages", endpoints.create_message, methods=["POST"]),
        Route("/v1/messages/count_tokens", endpoints.count_tokens, methods=["POST"]),
        *control_routes(model),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: _http_error})


class _Endpoints:
    def __init__(self, model: ScriptedModel) -> None:
        self._model = model

    async def create_message(self, request: Request) -> Response:
        started = time.perf_counter()
        record = await self._open(request)
        decision = self._model.admit(record, request.headers)
        if isinstance(decision, Rejection):
            return _reject(record, decision, started)
        if not await _wait_unless_gone(request, decision.delay):
            self._model.abandon(decision)
            _close(record, CLIENT_CLOSED, "disconnected", None, started)
            return Response(status_code=CLIENT_CLOSED)
        message = self._model.answer(decision)
        served = decision.served
        record.script, record.turn_index, record.turn = served.source, served.index, served.turn
        headers = {"request-id": new_id("req")}
        if not decision.request.stream:
            _close(record, 200, "served", message, started)
            return JSONResponse(message, headers=headers)
        record.status, record.outcome, record.response = 200, "served", message
        events = _sse(record, message, self._model.config.stream_chunk_chars, started)
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)

    async def count_tokens(self, request: Request) -> Response:
        started = time.perf_counter()
        record = await self._open(request)
        decision = self._model.count(record, request.headers)
        if isinstance(decision, Rejection):
            return _reject(record, decision, started)
        counted, delay = decision
        if not await _wait_unless_gone(request, delay):
            _close(record, CLIENT_CLOSED, "disconnected", None, started)
            return Response(status_code=CLIENT_CLOSED)
        _close(record, 200, "served", counted, started)
        return JSONResponse(counted, headers={"request-id": new_id("req")})

    async def _open(self, request: Request) -> RequestRecord:
        body = await request.body()
        return self._model.open_record(request.method, request.url.path, request.headers, body)


async def _wait_unless_gone(request: Request, seconds: float) -> bool:
    """Wait `seconds`; return False as soon as the client disconnects."""
    deadline = time.perf_counter() + seconds
    while (left := deadline - time.perf_counter()) > 0:
        if await request.is_disconnected():
            return False
        await asyncio.sleep(min(DISCONNECT_POLL_SECONDS, left))
    return True


async def _sse(
    record: RequestRecord, message: dict[str, Any], chunk_chars: int, started: float
) -> AsyncIterator[bytes]:
    for event in stream_events(message, chunk_chars):
        yield encode_event(event)
    record.duration = time.perf_counter() - started


def _reject(record: RequestRecord, rejection: Rejection, started: float) -> Response:
    error = rejection.error
    body = error.body(new_id("req"))
    _close(record, error.status, rejection.outcome, body, started)
    headers = {"request-id": body["request_id"], **error.headers}
    return JSONResponse(body, status_code=error.status, headers=headers)


def _close(record: RequestRecord, status: int, outcome: str, response: Any, started: float) -> None:
    record.status, record.outcome, record.response = status, outcome, response
    record.duration = time.perf_counter() - started


async def _http_error(request: Request, exc: Exception) -> Response:
    """Answer unknown paths and methods in the API's error shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    error = ApiError(status, str(getattr(exc, "detail", "error")))
    error.error_type = ERROR_TYPES.get(status, "invalid_request_error")
    return JSONResponse(error.body(new_id("req")), status_code=status)
