"""The one place that turns settings into running parts: store, GitHub access, web app."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from app.clock import Clock, SystemClock
from app.github.client import GitHubAccess
from app.handlers import build_router
from app.settings import Settings
from app.store import Store, open_store
from app.web import WebConfig, create_web_app
from app.webhooks.processor import InboxProcessor


@dataclass
class Runtime:
    """The long-lived parts of a Townhall process."""

    settings: Settings
    clock: Clock
    store: Store
    github: GitHubAccess
    processor: InboxProcessor


def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    """Open the store and build GitHub access and the inbox processor from settings."""
    clock = clock or SystemClock()
    store = open_store(settings.db_url, settings.db_auth_token)
    github = GitHubAccess(settings.github_api_url, settings.require_github_app(), clock)
    processor = InboxProcessor(store, clock, build_router(), github)
    return Runtime(settings, clock, store, github, processor)


def build_web_app(runtime: Runtime, *, process: bool = True) -> Starlette:
    """The webhook app; with process=False deliveries are only stored (a tick drains them)."""
    return create_web_app(
        WebConfig(
            store=runtime.store,
            clock=runtime.clock,
            webhook_secret=runtime.settings.require_webhook_secret(),
            max_body_bytes=runtime.settings.webhook_max_bytes,
            processor=runtime.processor if process else None,
        )
    )
