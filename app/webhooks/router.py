"""Route deliveries to handlers registered per (event, action), one router per concern."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.webhooks.handler_context import HandlerContext

Handler = Callable[["HandlerContext", dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Registration:
    """One handler for an event, and optionally only for one action of it."""

    event: str
    action: str | None
    handler: Handler


class Router:
    """Collects handlers; routers from several modules are merged into one."""

    def __init__(self, *routers: Router) -> None:
        self._handlers: dict[tuple[str, str | None], list[Handler]] = defaultdict(list)
        for router in routers:
            for key, handlers in router._handlers.items():
                self._handlers[key].extend(handlers)

    def register(self, event: str, action: str | None = None) -> Callable[[Handler], Handler]:
        """Decorate a handler for `event` (and `action`, when given)."""

        def decorate(handler: Handler) -> Handler:
            self._handlers[(event, action)].append(handler)
            return handler

        return decorate

    def handlers_for(self, event: str, action: str | None) -> list[Handler]:
        """Return the handlers for an event: action-specific ones, then event-wide ones."""
        specific = self._handlers.get((event, action), []) if action else []
        return [*specific, *self._handlers.get((event, None), [])]

    def events(self) -> set[str]:
        """Return every event some handler listens to."""
        return {event for event, _ in self._handlers}
