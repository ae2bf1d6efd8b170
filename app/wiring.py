"""The one place that turns settings into running parts: store, GitHub access, web app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from app.ceo.deps import TickDeps
from app.ceo.dispatch import Dispatcher, InlineDispatcher, ModalDispatcher, spawn_tick
from app.clock import Clock, SystemClock
from app.github.client import GitHubAccess
from app.github.policy import policy_from_github
from app.handlers import build_router
from app.llm import LLM, build_llm
from app.settings import Settings
from app.store import Store, open_store
from app.votes.debounce import SweepDebouncer
from app.votes.sweep import RepoRef, VoteServices, sweep_repository
from app.votes.webhooks import build_vote_router
from app.web import WebConfig, create_web_app
from app.webhooks.processor import InboxProcessor
from app.webhooks.router import Router
from reviewer.deps import ReviewDeps
from workers.attempt import WorkerDeps, run_attempt


@dataclass
class Runtime:
    """The long-lived parts of a Townhall process."""

    settings: Settings
    clock: Clock
    store: Store
    github: GitHubAccess
    processor: InboxProcessor


def build_runtime(
    settings: Settings, clock: Clock | None = None, *, sweep_on_webhooks: bool = True
) -> Runtime:
    """Open the store and build GitHub access and the inbox processor from settings.

    With `sweep_on_webhooks`, issue events ask for a debounced vote sweep of their issue, so
    a maintainer's label or command shows up before the next tick.
    """
    clock = clock or SystemClock()
    store = open_store(settings.db_url, settings.db_auth_token)
    github = GitHubAccess(settings.github_api_url, settings.require_github_app(), clock)
    kick = spawn_tick if settings.dispatch_backend == "modal" else None
    debouncer = SweepDebouncer(_sweeper(store, clock, github, kick)) if sweep_on_webhooks else None
    router = Router(build_router(), build_vote_router(debouncer))
    processor = InboxProcessor(store, clock, router, github)
    return Runtime(settings, clock, store, github, processor)


def _sweeper(
    store: Store,
    clock: Clock,
    github: GitHubAccess,
    on_approval: Callable[[], Awaitable[None]] | None,
) -> Callable[[RepoRef, frozenset[int] | None], Awaitable[object]]:
    """The debouncer's sweep: read the repository's policy, then sweep the poked issues.

    When the sweep approves an issue, `on_approval` starts a tick at once (on Modal), so the
    work does not wait for the next cron.
    """
    login: list[str] = []

    async def sweep(repo: RepoRef, numbers: frozenset[int] | None) -> object:
        if not login:
            login.append(await github.app_login())
        row = await store.fetchone("SELECT default_branch FROM repos WHERE id = ?", (repo.id,))
        branch = str(row["default_branch"]) if row else "main"
        async with await github.installation_client(repo.installation_id) as client:
            policy = await policy_from_github(client, repo.owner, repo.name, branch)
        services = VoteServices(store, clock, github, login[0])
        report = await sweep_repository(services, repo, policy, numbers=numbers)
        if on_approval is not None and any(new == "approved" for _, _, new in report.changes):
            await on_approval()
        return report

    return sweep


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
    review = ReviewDeps(
        runtime.store, runtime.clock, runtime.github, model, runtime.settings.sandbox_backend
    )
    return TickDeps(
        settings=runtime.settings,
        store=runtime.store,
        clock=runtime.clock,
        github=runtime.github,
        llm=model,
        processor=runtime.processor,
        dispatcher=dispatcher,
        workdir=workdir,
        review=review,
    )


def build_web_app(runtime: Runtime, *, process: bool = True) -> Starlette:
    """The webhook app; with process=False deliveries are only stored (a tick drains them)."""
    return create_web_app(
        WebConfig(
            store=runtime.store,
            clock=runtime.clock,
            webhook_secret=runtime.settings.require_webhook_secret(),
            max_body_bytes=runtime.settings.webhook_max_bytes,
            daily_budget_usd=runtime.settings.daily_budget_usd,
            processor=runtime.processor if process else None,
        )
    )
