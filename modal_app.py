"""The Modal deployment of Townhall: web endpoint, CEO cron, workers and the reviewer.

Importing this module needs no credentials and no network: it only describes images, secrets
and functions. `modal deploy modal_app.py` builds and deploys them. Each function reads its
settings from the environment that its Modal secrets provide, at call time, never at import.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from app.ceo.report import TickReport
    from app.settings import Need
    from app.store.repos import ActiveRepo
    from app.wiring import Runtime

APP_NAME = "townhall"
# Secrets by name; the README's deploy guide says which keys each one holds. Each function gets
# only the secrets it needs: the internet-facing `web` never holds the model key, which only the
# functions that call the model (the tick's planning, workers, the reviewer) get.
WEB_SECRET_NAMES = ("townhall-github", "townhall-store", "townhall-settings")
MODEL_CALLER_SECRET_NAMES = (*WEB_SECRET_NAMES, "townhall-anthropic")
TICK_SCHEDULE = "*/5 * * * *"
# Repository mirrors live on a Volume, so a tick's repository step fetches what changed
# instead of cloning every repository again in each fresh container.
MIRROR_VOLUME = "townhall-mirrors"
MIRRORS = "/mirrors"
# Repository steps running at once (one container each): the tick's fan-out bound on Modal.
REPO_STEPS_AT_ONCE = 8

_PROJECT = Path(__file__).resolve().parent

image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("git")
    .pip_install_from_pyproject(str(_PROJECT / "pyproject.toml"))
    .env({"TOWNHALL_SANDBOX_BACKEND": "modal", "TOWNHALL_DISPATCH_BACKEND": "modal"})
    .add_local_python_source("app", "workers", "reviewer")
)

app = modal.App(APP_NAME, image=image)
web_secrets = [modal.Secret.from_name(name) for name in WEB_SECRET_NAMES]
model_caller_secrets = [modal.Secret.from_name(name) for name in MODEL_CALLER_SECRET_NAMES]
mirrors = modal.Volume.from_name(MIRROR_VOLUME, create_if_missing=True)  # lazy: no network here


def _runtime(need: tuple[Need, ...]) -> Runtime:
    """Build the runtime from the secrets' environment (imported late: nothing at import)."""
    from app.wiring import runtime_from_process

    return runtime_from_process(need)


@app.function(secrets=web_secrets, timeout=60, min_containers=1, scaledown_window=600)
@modal.concurrent(max_inputs=200)
@modal.asgi_app()
def web() -> Any:
    """Serve `POST /webhook`, `/healthz` and the dashboard."""
    from app.settings import Need
    from app.wiring import build_web_app

    return build_web_app(_runtime((Need.GITHUB_APP, Need.WEBHOOK)))


async def _tick() -> str:
    from app.settings import Need
    from app.wiring import build_tick_deps, tick_and_wait

    runtime = _runtime((Need.GITHUB_APP, Need.MODEL))
    try:
        # On Modal each repository's step (and its mirror) runs in `tick_repo`; a body run
        # elsewhere (`.local()`) keeps the steps in this process, with scratch mirrors.
        with tempfile.TemporaryDirectory(prefix="townhall-tick-") as scratch:
            deps = build_tick_deps(runtime, Path(scratch))
            if not modal.is_local():
                deps.repo_steps = _map_repo_steps
            report = await tick_and_wait(deps)
        return report.describe()
    finally:
        await runtime.store.close()


async def _map_repo_steps(repos: Sequence[ActiveRepo], app_login: str) -> list[TickReport]:
    """Run each repository's step in its own `tick_repo` call, REPO_STEPS_AT_ONCE at a time."""
    from app.ceo.repo_step import step_reports

    calls = tick_repo.map.aio(repos, kwargs={"app_login": app_login}, return_exceptions=True)
    return step_reports(repos, [output async for output in calls])


@app.function(secrets=model_caller_secrets, schedule=modal.Cron(TICK_SCHEDULE), timeout=900)
def ceo_tick() -> str:
    """Run one CEO tick (every 5 minutes, or spawned when an issue is approved).

    The global step runs here; each repository's step runs in its own `tick_repo` call.
    """
    return asyncio.run(_tick())


async def _tick_repo(repo: ActiveRepo, app_login: str) -> TickReport:
    if modal.is_local():  # a body run outside Modal (`.local()`): no volume, scratch mirrors
        with tempfile.TemporaryDirectory(prefix="townhall-mirrors-") as scratch:
            return await _step_once(repo, app_login, Path(scratch))
    await asyncio.to_thread(mirrors.reload)  # see what other containers committed since
    try:
        return await _step_once(repo, app_login, Path(MIRRORS))
    finally:
        await asyncio.to_thread(mirrors.commit)  # the fetched mirror, for the next tick


async def _step_once(repo: ActiveRepo, app_login: str, workdir: Path) -> TickReport:
    from app.ceo.repo_step import tick_repository
    from app.settings import Need
    from app.wiring import build_tick_deps

    runtime = _runtime((Need.GITHUB_APP, Need.MODEL))
    try:
        deps = build_tick_deps(runtime, workdir)
        deps.app_login = app_login
        report = await tick_repository(deps, repo)
        await deps.dispatcher.wait()
        return report
    finally:
        await runtime.store.close()


# No Modal retries: the next tick runs the repository again, and its lease keeps two steps of
# one repository from overlapping meanwhile.
@app.function(
    secrets=model_caller_secrets,
    volumes={MIRRORS: mirrors},
    timeout=600,
    retries=0,
    max_containers=REPO_STEPS_AT_ONCE,
)
def tick_repo(repo: ActiveRepo, app_login: str) -> TickReport:
    """Run one repository's step of a tick (mapped over the repositories by `ceo_tick`)."""
    return asyncio.run(_tick_repo(repo, app_login))


async def _work(task_id: int, attempt: int) -> None:
    from app.settings import Need
    from app.wiring import build_attempt_runner

    runtime = _runtime((Need.GITHUB_APP, Need.MODEL))
    try:
        await build_attempt_runner(runtime, name="modal")(task_id, attempt)
    finally:
        await runtime.store.close()


# No Modal retries: a retried attempt would run twice. A worker that dies stops renewing its
# lease, and the next tick records the attempt as lost and queues the task again.
@app.function(secrets=model_caller_secrets, timeout=3600, retries=0)
def run_worker(task_id: int, attempt: int) -> None:
    """Run one attempt of one task (spawned by the CEO's modal dispatcher)."""
    asyncio.run(_work(task_id, attempt))


async def _review(task_id: int) -> str:
    from app.settings import Need
    from app.wiring import build_reviewer

    runtime = _runtime((Need.GITHUB_APP, Need.MODEL))
    try:
        result = await build_reviewer(runtime).run(task_id)
        return f"task {task_id}: {result.outcome} {result.detail}".strip()
    finally:
        await runtime.store.close()


@app.function(secrets=model_caller_secrets, timeout=1800, retries=0)
def run_review(task_id: int) -> str:
    """Review (and merge, or send back) one task's open PR; the tick also does this."""
    return asyncio.run(_review(task_id))
