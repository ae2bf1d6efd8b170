"""Fault injection: the next N matching requests answer 5xx, a secondary rate limit, or stall."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

FAULT_KINDS = ("error", "secondary_rate_limit", "primary_rate_limit", "delay")

_SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
_PRIMARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-the-primary-rate-limit"
)
_SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@dataclass
class FaultRule:
    """One injected fault: which requests it hits, how many more times, and what happens."""

    id: int
    route: str
    kind: str
    remaining: int
    method: str | None = None
    status: int = 502
    retry_after: int = 60
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str, template: str) -> bool:
        """Tell whether this rule applies to a request."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.route) or self.route == template

    def as_error(self, now: float) -> ApiError:
        """Return the error this rule answers with (every kind but "delay")."""
        if self.kind == "primary_rate_limit":
            return ApiError(
                403,
                "API rate limit exceeded. Wait for the limit to reset before trying again.",
                headers={
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-used": "5000",
                    "x-ratelimit-reset": str(int(now) + self.retry_after),
                },
                documentation_url=_PRIMARY_DOCS,
            )
        if self.kind == "secondary_rate_limit":
            return ApiError(
                403,
                _SECONDARY_MESSAGE,
                headers={"retry-after": str(self.retry_after), "x-ratelimit-remaining": "4999"},
                documentation_url=_SECONDARY_DOCS,
            )
        messages = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return ApiError(self.status, messages.get(self.status, "Server Error"))

    def describe(self) -> dict[str, Any]:
        """Return the rule as JSON for the control API."""
        return {
            "id": self.id,
            "route": self.route,
            "method": self.method,
            "kind": self.kind,
            "remaining": self.remaining,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "hits": self.hits,
        }


class FaultInjector:
    """The active fault rules, consumed first-come first-served."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 0

    def add(
        self,
        route: str,
        kind: str,
        times: int,
        *,
        method: str | None = None,
        status: int = 502,
        retry_after: int = 60,
        delay: float = 0.0,
    ) -> FaultRule:
        """Register a rule; it applies to the next `times` matching requests."""
        if kind not in FAULT_KINDS:
            raise ApiError(422, f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if kind == "error" and not 500 <= status <= 599:
            raise ApiError(422, "an error fault needs a 5xx status")
        self._next_id += 1
        rule = FaultRule(self._next_id, route, kind, times, method, status, retry_after, delay)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def take(self, method: str, path: str, template: str) -> FaultRule | None:
        """Consume and return the first rule matching a request, if any."""
        for rule in self.rules:
            if rule.remaining > 0 and rule.matches(method, path, template):
                rule.remaining -= 1
                rule.hits += 1
                return rule
        return None
