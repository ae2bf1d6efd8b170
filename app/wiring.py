"""The one place that turns settings into running parts: store, GitHub access, web app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from app.ceo.context import TickDeps
from app.ceo.dispatch import Dispatcher, InlineDispatcher, ModalDispatcher
from app.clock import Clock, SystemClock
from app.github.client import GitHubAccess
from app.handlers import build_router
from app.llm import LLM, build_llm
from app.settings import Settings
from app.store import Store, open_store
from app.web import WebConfig, create_web_app
from app.webhooks.processor import InboxProcessor
from workers.attempt import WorkerDeps, run_attempt


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


def build_tick_deps(runtime: Runtime, workdir: Path, llm: LLM | None = None) -> TickDeps:
    """Assemble what a CEO tick needs; workers run inline or on Modal per settings."""
    model = llm or build_llm(runtime.settings, runtime.store, runtime.clock)
    dispatcher: Dispatcher
    if runtime.settings.dispatch_backend == "modal":
        dispatcher = ModalDispatcher()
    else:
        worker = WorkerDeps(
            runtime.store, runtime.clock, runtime.github, model, runtime.settings.sandbox_backend
        )

        async def run_locally(task_id: int, attempt: int) -> None:
            await run_attempt(worker, task_id, attempt, worker=f"inline:{task_id}:{attempt}")

        dispatcher = InlineDispatcher(run_locally)
    return TickDeps(
        settings=runtime.settings,
        store=runtime.store,
        clock=runtime.clock,
        github=runtime.github,
        llm=model,
        processor=runtime.processor,
        dispatcher=dispatcher,
        workdir=workdir,
    )


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
