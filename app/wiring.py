"""The one place that turns settings into running parts, and the only place backends are chosen.

Settings name the backends ("local" or "modal" sandboxes, "inline" or "modal" dispatch); here
they become objects: a sandbox factory, a dispatcher for attempts, a reviewer, and the kick
that starts a tick early. Nothing below this module compares a backend's name.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from starlette.applications import Starlette

from app.ceo.deps import TickDeps
from app.ceo.dispatch import (
    AttemptRunner,
    InlineDispatcher,
    SpawnedDispatcher,
    SpawnedReviews,
    modal_spawner,
)
from app.ceo.ports import Dispatcher, Reviewer
from app.ceo.report import TickReport
from app.ceo.tick import run_tick
from app.clock import Clock, SystemClock
from app.dashboard.signin import SignIn
from app.github.client import GitHubAccess
from app.github.oauth import OAuthApp
from app.github.policy import policy_from_github
from app.handlers import build_router
from app.llm import LLM, build_llm
from app.logs import configure_logging, secrets_of
from app.sandbox import LocalOptions, LocalSandboxes, ModalSandboxes, SandboxFactory
from app.sandbox.bwrap import bwrap_unavailable_reason
from app.sandbox.isolation import refusal, warn_unisolated
from app.settings import Need, Settings, settings_from_process
from app.store import Store, open_store
from app.store.repos import repo_default_branch
from app.votes.debounce import SweepDebouncer
from app.votes.sweep import RepoRef, VoteServices, sweep_repository
from app.votes.webhooks import build_vote_router
from app.web import WebConfig, create_web_app
from app.webhooks.processor import InboxProcessor
from app.webhooks.router import Router
from reviewer.deps import TOOL_OUTPUT_CAP, ReviewDeps
from reviewer.postmerge import run_post_merge_check
from reviewer.result import ReviewResult
from reviewer.run import run_review
from workers.attempt import WorkerDeps, run_attempt

SANDBOX_BACKENDS = ("local", "modal")

log = logging.getLogger(__name__)


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
    kick = modal_spawner("ceo_tick") if settings.dispatch_backend == "modal" else None
    debouncer = SweepDebouncer(_sweeper(store, clock, github, kick)) if sweep_on_webhooks else None
    router = Router(build_router(), build_vote_router(debouncer))
    processor = InboxProcessor(store, clock, router, github)
    return Runtime(settings, clock, store, github, processor)


def runtime_from_process(need: Iterable[Need]) -> Runtime:
    """Load settings from this process's environment, set up logging, and build the runtime."""
    settings = settings_from_process(need)
    configure_logging(settings.log_level, secrets=secrets_of(settings))
    return build_runtime(settings)


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
        branch = await repo_default_branch(store, repo.id) or "main"
        async with await github.installation_client(repo.installation_id) as client:
            policy = await policy_from_github(client, repo.owner, repo.name, branch)
        services = VoteServices(store, clock, github, login[0])
        report = await sweep_repository(services, repo, policy, numbers=numbers)
        if on_approval is not None and any(new == "approved" for _, _, new in report.changes):
            await on_approval()
        return report

    return sweep


def local_options(settings: Settings, output_cap: int | None = None) -> LocalOptions:
    """The local backend's options from settings: isolation, bwrap, the environment cache."""
    options = LocalOptions(
        unisolated_allowed=settings.unisolated_sandbox,
        bwrap=settings.bwrap,
        cache_dir=settings.cache_dir,
        max_environments=settings.max_environments,
    )
    return options if output_cap is None else replace(options, output_cap=output_cap)


def sandboxes_for(settings: Settings, *, output_cap: int | None = None) -> SandboxFactory:
    """The sandbox factory for the backend named in settings.

    A local backend without working bubblewrap refuses every sandbox (each says why and how
    to fix it) unless settings allow unisolated ones; then this run says so at once, loudly.
    """
    backend = settings.sandbox_backend
    if backend == "local":
        reason = bwrap_unavailable_reason(settings.bwrap)
        if reason is not None and settings.unisolated_sandbox:
            warn_unisolated(reason, "local sandboxes of this run")
        elif reason is not None:
            log.error("%s", refusal(reason))
        return LocalSandboxes(local_options(settings, output_cap))
    if backend == "modal":
        return ModalSandboxes()
    raise ValueError(f"unknown sandbox backend {backend!r} (known: {', '.join(SANDBOX_BACKENDS)})")


def _review_sandboxes(settings: Settings) -> SandboxFactory:
    # Locally the reviewer needs room for whole tool reports; on Modal the defaults hold.
    return sandboxes_for(settings, output_cap=TOOL_OUTPUT_CAP)


def _model(runtime: Runtime, llm: LLM | None) -> LLM:
    return llm or build_llm(runtime.settings, runtime.store, runtime.clock)


def build_attempt_runner(
    runtime: Runtime, llm: LLM | None = None, *, name: str = "inline"
) -> AttemptRunner:
    """A function that runs one attempt in this process, as worker `name:task:attempt`."""
    sandboxes = sandboxes_for(runtime.settings)
    deps = WorkerDeps(runtime.store, runtime.clock, runtime.github, _model(runtime, llm), sandboxes)

    async def run(task_id: int, attempt: int) -> None:
        await run_attempt(deps, task_id, attempt, worker=f"{name}:{task_id}:{attempt}")

    return run


@dataclass(frozen=True)
class InlineReviewer:
    """The reviewer in this process: the CEO's Reviewer interface over reviewer/."""

    deps: ReviewDeps

    async def run(self, task_id: int) -> ReviewResult:
        """Review the task's PR head if it is due; return how it ended."""
        return await run_review(self.deps, task_id)

    async def review(self, task_id: int) -> bool:
        """Review the task's PR head if due; return whether it acted."""
        return (await self.run(task_id)).outcome != "skipped"

    async def post_merge_check(self, task_id: int) -> bool:
        """Check the base after the task's merge if due; return whether it checked."""
        return (await run_post_merge_check(self.deps, task_id)).outcome != "not_due"


def build_reviewer(runtime: Runtime, llm: LLM | None = None) -> InlineReviewer:
    """The reviewer, run in this process with the configured sandboxes."""
    sandboxes = _review_sandboxes(runtime.settings)
    model = _model(runtime, llm)
    return InlineReviewer(
        ReviewDeps(runtime.store, runtime.clock, runtime.github, model, sandboxes)
    )


def build_tick_deps(runtime: Runtime, workdir: Path, llm: LLM | None = None) -> TickDeps:
    """Assemble what a CEO tick needs; workers and reviews run inline or on Modal per settings."""
    model = _model(runtime, llm)
    inline = build_reviewer(runtime, model)
    dispatcher: Dispatcher
    reviewer: Reviewer
    if runtime.settings.dispatch_backend == "modal":
        dispatcher = SpawnedDispatcher(modal_spawner("run_worker"))
        # Reviews take minutes (sandbox, model); on Modal each runs in its own function.
        reviewer = SpawnedReviews(modal_spawner("run_review"), inline)
    else:
        dispatcher = InlineDispatcher(build_attempt_runner(runtime, model))
        reviewer = inline
    return TickDeps(
        settings=runtime.settings,
        store=runtime.store,
        clock=runtime.clock,
        github=runtime.github,
        llm=model,
        processor=runtime.processor,
        dispatcher=dispatcher,
        workdir=workdir,
        reviewer=reviewer,
    )


async def tick_and_wait(deps: TickDeps) -> TickReport:
    """Run one tick, then wait for the attempts it started in this process (if any)."""
    report = await run_tick(deps)
    await deps.dispatcher.wait()
    return report


def build_web_app(runtime: Runtime, *, process: bool = True) -> Starlette:
    """The webhook app; with process=False deliveries are only stored (a tick drains them)."""
    return create_web_app(
        WebConfig(
            store=runtime.store,
            clock=runtime.clock,
            webhook_secret=runtime.settings.require_webhook_secret(),
            max_body_bytes=runtime.settings.webhook_max_bytes,
            body_timeout_s=runtime.settings.webhook_body_timeout_s,
            daily_budget_usd=runtime.settings.daily_budget_usd,
            processor=runtime.processor if process else None,
            github=runtime.github,
            sign_in=dashboard_sign_in(runtime.settings),
            github_web_url=runtime.settings.github_web_url,
        )
    )


def dashboard_sign_in(settings: Settings) -> SignIn | None:
    """Build dashboard sign-in from settings (None when the App's OAuth client is not set)."""
    if not (settings.oauth_client_id and settings.oauth_client_secret and settings.session_secret):
        return None
    oauth = OAuthApp(
        settings.oauth_client_id,
        settings.oauth_client_secret,
        web_url=settings.github_web_url,
        api_url=settings.github_api_url,
    )
    return SignIn(oauth, settings.session_secret, settings.public_url)
