"""The request log: every request as received and what it was answered with."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.standins.scripted_model.script import Turn

# Credentials never reach the log.
HIDDEN_HEADERS = frozenset({"x-api-key", "authorization"})


@dataclass
class RequestRecord:
    """One request: what came in, what went out, and how long it took."""

    seq: int
    method: str
    path: str
    headers: dict[str, str]
    received_at: datetime
    body: Any = None
    status: int | None = None
    # served | rejected | fault | unmatched | script_error | disconnected | control
    outcome: str = "pending"
    script: str | None = None  # the script or responder that answered
    turn_index: int | None = None  # the turn's position in its script
    turn: Turn | None = None  # the turn served (in-process only; `response` is its wire form)
    response: Any = None
    fault: dict[str, Any] | None = None
    duration: float | None = None  # seconds until the answer was complete
    stream: bool = False

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON for `GET /_scripted/requests`."""
        return {
            "seq": self.seq,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "received_at": self.received_at.isoformat(),
            "body": self.body,
            "status": self.status,
            "outcome": self.outcome,
            "script": self.script,
            "turn_index": self.turn_index,
            "response": self.response,
            "fault": self.fault,
            "duration": self.duration,
            "stream": self.stream,
        }


class RequestLog:
    """Records in arrival order, shared between the server thread and the test."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def open(
        self, method: str, path: str, headers: Mapping[str, str], received_at: datetime
    ) -> RequestRecord:
        """Start the record of a request that just arrived."""
        visible = {k: v for k, v in headers.items() if k.lower() not in HIDDEN_HEADERS}
        with self._lock:
            record = RequestRecord(len(self._records) + 1, method, path, visible, received_at)
            self._records.append(record)
            return record

    def records(self) -> list[RequestRecord]:
        """Return the records so far, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()
