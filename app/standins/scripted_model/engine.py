"""The scripted model: scripts, responders, faults, prompt cache and request log in one place."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from app.clock import Clock, SystemClock
from app.standins.scripted_model.answer import build_message
from app.standins.scripted_model.cache import PromptCache
from app.standins.scripted_model.conformance import conformance_problems
from app.standins.scripted_model.decisions import Accepted, Rejection
from app.standins.scripted_model.endpoints import build_app
from app.standins.scripted_model.errors import ApiError, invalid
from app.standins.scripted_model.faults import Fault, FaultQueue
from app.standins.scripted_model.loading import load_file
from app.standins.scripted_model.log import RequestLog, RequestRecord
from app.standins.scripted_model.request import ModelRequest
from app.standins.scripted_model.routing import Router, Served
from app.standins.scripted_model.script import Match, Responder, Script, Turn
from app.standins.scripted_model.tokens import count_input_tokens, input_segments
from app.standins.scripted_model.validation import Rules, validate_count, validate_create

# The SDK obeys this header; an unmatched request is a script bug that retrying cannot fix.
NO_RETRY = {"x-should-retry": "false"}


@dataclass(frozen=True)
class ServerConfig:
    """How the stand-in behaves where the real API has no single answer."""

    api_key: str | None = None  # the required x-api-key; None accepts any non-empty key
    models: Sequence[str] = ("claude-*",)  # accepted model ids, fnmatch patterns
    strict_alternation: bool = True  # reject consecutive same-role messages (the API merges)
    unmatched_status: int = 500  # status when no script answers; the SDK is told not to retry
    fallback: Turn | None = None  # served when no script answers, instead of the error
    min_cacheable_tokens: int = 0  # shortest prefix the prompt cache stores
    stream_chunk_chars: int = 16  # characters per streamed delta


class ScriptedModel:
    """A stand-in for the Anthropic Messages API that plays back scripts; thread-safe."""

    def __init__(
        self,
        scripts: Iterable[Script] = (),
        *,
        config: ServerConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or ServerConfig()
        self._rules = Rules(self.config.models, self.config.strict_alternation)
        self._router = Router()
        self._faults = FaultQueue()
        self._log = RequestLog()
        self._clock = clock or SystemClock()
        self._cache = PromptCache(self._clock, self.config.min_cacheable_tokens)
        self._router.load(scripts)

    def load(self, scripts: Iterable[Script]) -> None:
        """Add scripts; a script named like a loaded one replaces it."""
        self._router.load(scripts)

    def load_file(self, path: Path) -> None:
        """Add the scripts of a JSON or TOML file (see `loading.FORMAT`)."""
        self._router.load(load_file(path))

    def add_responder(
        self, responder: Responder, *, name: str | None = None, match: Match | None = None
    ) -> None:
        """Answer matching requests with `responder`, after the scripts added before it."""
        label = name or str(getattr(responder, "__name__", "responder"))
        self._router.add_responder(label, responder, match or Match())

    def inject(self, fault: Fault) -> None:
        """Apply `fault` to the next `fault.count` API requests, after faults already queued."""
        self._faults.add(fault)

    def reset(self) -> None:
        """Drop scripts, faults, the request log and the prompt cache; keep responders."""
        self._router.clear_scripts()
        self._faults.clear()
        self._log.clear()
        self._cache.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """Return every API request received so far, oldest first."""
        return self._log.records()

    def remaining(self) -> dict[str, int]:
        """Return, per script, how many single-use turns have not been served."""
        return self._router.remaining()

    def pending_faults(self) -> list[dict[str, Any]]:
        """Return the faults still queued."""
        return self._faults.pending()

    def create_app(self) -> Starlette:
        """Return the ASGI app serving this model over HTTP."""
        return build_app(self)

    def open_record(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> RequestRecord:
        """Log a request that just arrived."""
        record = self._log.open(method, path, headers, self._clock.now())
        record.body = _parse(body)
        return record

    def admit(self, record: RequestRecord, headers: Mapping[str, str]) -> Accepted | Rejection:
        """Decide how to answer a `POST /v1/messages`: an error, or a turn after a delay."""
        try:
            delay = self._gate(record, headers)
        except ApiError as error:
            return Rejection(error, "fault" if record.fault else "rejected")
        try:
            body = validate_create(_require_body(record.body), self._rules)
        except ApiError as error:
            return Rejection(error, "rejected")
        request = ModelRequest.from_body(body)
        record.stream = request.stream
        try:
            served = self._router.select(request)
        except Exception as failure:
            # A broken responder is a script bug: report it to the caller, not as a crash.
            message = f"responder failed on request #{record.seq}: {failure!r}"
            return Rejection(ApiError(500, message, headers=NO_RETRY), "script_error")
        if served is None and self.config.fallback is not None:
            served = Served(self.config.fallback, "fallback", None)
        if served is None:
            message = self._unmatched_message(record.seq, request)
            unmatched = ApiError(self.config.unmatched_status, message, headers=NO_RETRY)
            return Rejection(unmatched, "unmatched")
        problems = conformance_problems(served.turn, request)
        if problems:
            self._router.release(served)
            where = served.source if served.index is None else f"{served.source}[{served.index}]"
            reasons = "; ".join(problems)
            message = f"scripted turn {where} cannot answer request #{record.seq}: {reasons}"
            return Rejection(ApiError(500, message, headers=NO_RETRY), "script_error")
        return Accepted(request, served, delay)

    def answer(self, accepted: Accepted) -> dict[str, Any]:
        """Return the Message for an admitted request, counting its prompt-cache use."""
        request = accepted.request
        figures = self._cache.account(request.model, input_segments(request.body))
        return build_message(accepted.served.turn, request, figures)

    def abandon(self, accepted: Accepted) -> None:
        """Put back the turn of a request whose client left before the answer."""
        self._router.release(accepted.served)

    def count(
        self, record: RequestRecord, headers: Mapping[str, str]
    ) -> tuple[dict[str, int], float] | Rejection:
        """Answer a `POST /v1/messages/count_tokens`: the estimate and the delay, or an error."""
        try:
            delay = self._gate(record, headers)
        except ApiError as error:
            return Rejection(error, "fault" if record.fault else "rejected")
        try:
            body = validate_count(_require_body(record.body), self._rules)
        except ApiError as error:
            return Rejection(error, "rejected")
        return {"input_tokens": count_input_tokens(body)}, delay

    def check_api_key(self, headers: Mapping[str, str]) -> None:
        """Raise 401 unless the request carries an acceptable key."""
        key = headers.get("x-api-key") or _bearer(headers.get("authorization", ""))
        if not key:
            raise ApiError(401, "x-api-key header is required")
        if self.config.api_key is not None and key != self.config.api_key:
            raise ApiError(401, "invalid x-api-key")

    def _gate(self, record: RequestRecord, headers: Mapping[str, str]) -> float:
        """Check credentials and version, then apply the next fault; return the delay."""
        self.check_api_key(headers)
        if not headers.get("anthropic-version"):
            raise invalid("anthropic-version: header is required")
        fault = self._faults.take()
        if fault is None:
            return 0.0
        record.fault = fault.to_json()
        error = fault.error()
        if error is not None:
            raise error
        return fault.seconds

    def _unmatched_message(self, seq: int, request: ModelRequest) -> str:
        choice = f"tool:{request.forced_tool}" if request.forced_tool else request.tool_choice
        scripts = ", ".join(f"{name} ({left} left)" for name, left in self.remaining().items())
        return (
            f"scripted model: no scripted turn matches request #{seq} "
            f"(model={request.model!r}, system={_clip(request.system)!r}, "
            f"tools={list(request.tool_names)}, tool_choice={choice!r}, "
            f"last user message={_clip(request.last_user_text)!r}); "
            f"scripts: {scripts or 'none loaded'}"
        )


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


def _require_body(body: Any) -> Any:
    if not isinstance(body, dict):
        raise invalid("body: Input should be a valid JSON object")
    return body


def _bearer(value: str) -> str:
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
