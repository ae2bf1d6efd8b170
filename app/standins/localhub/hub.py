"""LocalHub: the embeddable GitHub stand-in; assembles state, services and routes into one app."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from app.clock import Clock, SystemClock

from . import (
    control,
    githttp,
    graphql_route,
    issue_events,
    routes_apps,
    routes_checks,
    routes_extra,
    routes_git,
    routes_issues,
    routes_manifest,
    routes_oauth,
    routes_pulls,
    routes_repos,
)
from .core import HubCore
from .errors import not_found
from .state import HubState

STATE_FILE = "state.json"


class LocalHub:
    """A local GitHub: in-memory state (optionally persisted) plus bare repositories on disk."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        clock: Clock | None = None,
        token_ttl: timedelta = timedelta(hours=1),
        persist: bool = False,
    ) -> None:
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="localhub-"))
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        state = HubState.load(data_dir / STATE_FILE) if persist else HubState()
        self.core = HubCore(state, clock or SystemClock(), data_dir, token_ttl)

    @property
    def state(self) -> HubState:
        """Return the hub's state (read it only while the server is idle, or from its loop)."""
        return self.core.state

    def routes(self) -> list[BaseRoute]:
        """Return every route: control API, app, repository, GraphQL and git HTTP routes."""
        core = self.core
        # Checks come before repos so /commits/{ref}/check-runs wins over /commits/{ref:path}.
        return [
            *control.routes(core),
            *routes_apps.routes(core),
            *routes_checks.routes(core),
            *routes_extra.routes(core),
            *routes_git.routes(core),
            *issue_events.routes(core),
            *routes_issues.routes(core),
            *routes_oauth.routes(core),
            *routes_manifest.routes(core),
            *routes_pulls.routes(core),
            *routes_repos.routes(core),
            *graphql_route.routes(core),
            *githttp.routes(core),
        ]

    def create_app(self) -> Starlette:
        """Build the Starlette application serving this hub."""
        core = self.core

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await core.webhooks.start()
            try:
                yield
            finally:
                await core.webhooks.stop()
                core.state.save()

        async def unknown_route(request: Request, exc: Exception) -> Response:
            core.counters.count(f"{request.method} <unknown>")
            return JSONResponse(not_found().body(), status_code=404)

        return Starlette(
            routes=self.routes(),
            lifespan=lifespan,
            exception_handlers={404: unknown_route, 405: unknown_route},
        )
