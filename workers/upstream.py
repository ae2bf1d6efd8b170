"""Tell an upstream failure (GitHub or the model failing us) from a fault of the attempt itself.

An attempt that ends because GitHub answered 502, a rate limit outlasted its retries, the model
API was overloaded or a connection timed out says nothing about the change: it is recorded as
`upstream_error` and does not use up one of the task's attempts (app/taskstate.route_failure).
Anything else (a bug, a 404, a 422, a refused credential) is the attempt's own failure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import anthropic
import httpx
from githubkit.exception import RateLimitExceeded, RequestError, RequestFailed, RequestTimeout

from app.github.git import FetchError
from app.llm import ModelError, ModelTurn, ModelUsage
from workers.agent import Model

# HTTP statuses that say "try again later", not "this request is wrong".
_TRANSIENT_STATUSES = frozenset({408, 425, 429})
# What git prints when the server or the network failed it (not a missing commit or ref).
_GIT_UPSTREAM = re.compile(
    r"returned error: (5\d\d|408|429)|RPC failed|could not resolve host|connection (refused|"
    r"reset|timed out)|operation timed out|failed to connect|early EOF|unexpected disconnect|"
    r"remote end hung up",
    re.IGNORECASE,
)


def _transient(status: int) -> bool:
    return status >= 500 or status in _TRANSIENT_STATUSES


def _is_upstream(error: BaseException) -> bool:
    """Whether this one exception (not its causes) is an upstream failure."""
    if isinstance(error, RateLimitExceeded | RequestTimeout):
        return True
    if isinstance(error, RequestFailed):
        return _transient(error.response.status_code)
    if isinstance(error, RequestError):
        return _is_upstream(error.exc)
    if isinstance(error, anthropic.APIConnectionError):  # timeouts included
        return True
    if isinstance(error, anthropic.APIStatusError):
        return _transient(error.status_code)
    if isinstance(error, FetchError):
        return _GIT_UPSTREAM.search(str(error)) is not None
    return isinstance(error, httpx.TransportError | TimeoutError | ConnectionError)


def upstream_failure(error: BaseException) -> bool:
    """Whether `error`, or anything that caused it, is GitHub or the model failing us."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if _is_upstream(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


class WatchedModel:
    """The agent's model, keeping the error of a failed query so an outage can be told apart.

    The agent turns a ModelError into an outcome and drops the exception; the attempt still
    needs to know whether the model API was down or refused the conversation.
    """

    def __init__(self, inner: Model) -> None:
        self._inner = inner
        self.failure: ModelError | None = None

    @property
    def usage(self) -> ModelUsage:
        """What every query so far added up to."""
        return self._inner.usage

    async def query(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
    ) -> ModelTurn:
        """Send the conversation through the wrapped model, remembering a failure."""
        try:
            return await self._inner.query(system, messages, tools)
        except ModelError as error:
            self.failure = error
            raise


def model_outage(model: object) -> bool:
    """Whether the agent's last model failure was an upstream one (see WatchedModel)."""
    failure = getattr(model, "failure", None)
    return isinstance(failure, BaseException) and upstream_failure(failure)
