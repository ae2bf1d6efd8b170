"""Injected faults: errors with `retry-after` and slow answers, for the next N requests."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Literal

from app.standins.scripted_model.errors import ApiError

FaultKind = Literal["rate_limit", "overloaded", "api_error", "delay"]

# Status and message for each error fault, worded like the real API's answers.
_ERRORS: dict[str, tuple[int, str]] = {
    "rate_limit": (429, "This request would exceed the rate limit for your organization."),
    "overloaded": (529, "Overloaded"),
    "api_error": (500, "Internal server error"),
}


@dataclass(frozen=True)
class Fault:
    """A fault for the next `count` API requests (Messages and count_tokens alike)."""

    # rate_limit (429), overloaded (529), api_error (500): answer with that error.
    # delay: hold the answer back `seconds`; past the client's timeout, that is a timeout.
    kind: FaultKind
    count: int = 1
    retry_after: float | None = None  # seconds, sent as the `retry-after` header
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in (*_ERRORS, "delay"):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.count < 1:
            raise ValueError("a fault applies to at least one request")

    def error(self) -> ApiError | None:
        """Return the error this fault answers with, or None for a delay."""
        if self.kind not in _ERRORS:
            return None
        status, message = _ERRORS[self.kind]
        headers = {} if self.retry_after is None else {"retry-after": f"{self.retry_after:g}"}
        return ApiError(status, message, headers=headers)

    def to_json(self) -> dict[str, Any]:
        """Return the fault as JSON for the control API."""
        return asdict(self)


class FaultQueue:
    """Faults in the order they were injected; each request takes one from the front."""

    def __init__(self) -> None:
        self._pending: list[tuple[Fault, int]] = []  # (fault, requests it still applies to)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Queue `fault` behind the ones already pending."""
        with self._lock:
            self._pending.append((fault, fault.count))

    def take(self) -> Fault | None:
        """Return the fault for the request at hand, if any, and count it as used."""
        with self._lock:
            if not self._pending:
                return None
            fault, left = self._pending[0]
            if left <= 1:
                self._pending.pop(0)
            else:
                self._pending[0] = (fault, left - 1)
            return fault

    def pending(self) -> list[dict[str, Any]]:
        """Return the pending faults with how many requests each still applies to."""
        with self._lock:
            return [{**fault.to_json(), "count": left} for fault, left in self._pending]

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._pending.clear()
