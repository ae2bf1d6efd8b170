"""Route a request to the script queue or responder that answers it, in registration order."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from app.standins.scripted_model.request import ModelRequest
from app.standins.scripted_model.script import Match, Responder, Script, Turn


@dataclass(frozen=True)
class Served:
    """The turn chosen for a request and where it came from."""

    turn: Turn
    source: str  # script or responder name
    index: int | None  # position in the script; None for a responder


@dataclass
class _Queue:
    script: Script
    consumed: set[int] = field(default_factory=set)

    @property
    def match(self) -> Match:
        return self.script.match


@dataclass(frozen=True)
class _ResponderRoute:
    name: str
    responder: Responder
    match: Match


class Router:
    """Scripts and responders; a script's turns are used once each unless marked repeat."""

    def __init__(self) -> None:
        self._routes: list[_Queue | _ResponderRoute] = []
        self._lock = threading.Lock()

    def load(self, scripts: Iterable[Script]) -> None:
        """Add scripts; one named like an existing script replaces it in place."""
        with self._lock:
            for script in scripts:
                queue = _Queue(script)
                at = self._position(script.name)
                if at is None:
                    self._routes.append(queue)
                else:
                    self._routes[at] = queue

    def add_responder(self, name: str, responder: Responder, match: Match) -> None:
        """Add an in-process responder, tried after the routes registered before it."""
        with self._lock:
            route = _ResponderRoute(name, responder, match)
            at = self._position(name)
            if at is None:
                self._routes.append(route)
            else:
                self._routes[at] = route

    def select(self, request: ModelRequest) -> Served | None:
        """Return the first turn that answers `request`, taking it from its script."""
        with self._lock:
            routes = list(self._routes)
        for route in routes:
            if not route.match.accepts(request):
                continue
            if isinstance(route, _ResponderRoute):
                # Called without the lock: a responder may be slow or read the model's state.
                turn = route.responder(request)
                if turn is not None:
                    return Served(turn, route.name, None)
                continue
            with self._lock:
                for index, turn in enumerate(route.script.turns):
                    if index in route.consumed or not turn.match.accepts(request):
                        continue
                    if not turn.repeat:
                        route.consumed.add(index)
                    return Served(turn, route.script.name, index)
        return None

    def release(self, served: Served) -> None:
        """Put a turn back, for a request whose client left before the answer."""
        if served.index is None:
            return
        with self._lock:
            for route in self._routes:
                if isinstance(route, _Queue) and route.script.name == served.source:
                    route.consumed.discard(served.index)

    def remaining(self) -> dict[str, int]:
        """Return, per script, how many single-use turns are still unserved."""
        with self._lock:
            return {
                route.script.name: sum(
                    1
                    for index, turn in enumerate(route.script.turns)
                    if not turn.repeat and index not in route.consumed
                )
                for route in self._routes
                if isinstance(route, _Queue)
            }

    def clear_scripts(self) -> None:
        """Drop every script; responders stay, since they can only be registered in-process."""
        with self._lock:
            self._routes = [r for r in self._routes if isinstance(r, _ResponderRoute)]

    def _position(self, name: str) -> int | None:
        for at, route in enumerate(self._routes):
            route_name = route.script.name if isinstance(route, _Queue) else route.name
            if route_name == name:
                return at
        return None
