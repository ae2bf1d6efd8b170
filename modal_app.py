"""The Modal deployment of Townhall: web endpoint, CEO cron, workers and the reviewer.

Importing this module needs no credentials and no network: it only describes images, secrets
and functions. `modal deploy modal_app.py` builds and deploys them. Each function reads its
settings from the environment that its Modal secrets provide, at call time, never at import.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import modal

APP_NAME = "townhall"
# Secrets by name; the README's deploy guide says which keys each one holds.
SECRET_NAMES = ("townhall-github", "townhall-anthropic", "townhall-store")
TICK_SCHEDULE = "*/5 * * * *"
WORKDIR = "/tmp/townhall"  # noqa: S108 - per-container scratch space for repository mirrors

_PROJECT = Path(__file__).resolve().parent

image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("git")
    .pip_install_from_pyproject(str(_PROJECT / "pyproject.toml"))
    .env({"TOWNHALL_SANDBOX_BACKEND": "modal", "TOWNHALL_DISPATCH_BACKEND": "modal"})
    .add_local_python_source("app", "workers", "reviewer")
)

app = modal.App(APP_NAME, image=image)
secrets = [modal.Secret.from_name(name) for name in SECRET_NAMES]


def _runtime(need: tuple[Any, ...]) -> Any:
    """Build the runtime from the secrets' environment (imported late: nothing at import)."""
    from app.logs import configure_logging, secrets_of
    from app.settings import settings_from_process
    from app.wiring import build_runtime

    settings = settings_from_process(need)
    configure_logging(settings.log_level, secrets=secrets_of(settings))
    return build_runtime(settings)


@app.function(secrets=secrets, timeout=60, min_containers=1, scaledown_window=600)
@modal.concurrent(max_inputs=200)
@modal.asgi_app()
def web() -> Any:
    """Serve `POST /webhook`, `/healthz` and the dashboard."""
    from app.settings import Need
    from app.wiring import build_web_app

    return build_web_app(_runtime((Need.GITHUB_APP, Need.WEBHOOK)))


async def _tick() -> str:
    from app.ceo.tick import run_tick
    from app.cli import describe_tick
    from app.settings import Need
    from app.wiring import build_tick_deps

    runtime = _runtime((Need.GITHUB_APP, Need.MODEL))
    try:
        deps = build_tick_deps(runtime, Path(WORKDIR))
        report = await run_tick(deps)
        await deps.dispatcher.wait()
        return describe_tick(report)
    finally:
        await runtime.store.close()


@app.function(secrets=secrets, schedule=modal.Cron(TICK_SCHEDULE), timeout=900)
def ceo_tick() -> str:
    """Run one CEO tick (every 5 minutes, or spawned when an issue is approved)."""
    return asyncio.run(_tick())


async def _work(task_id: int, attempt: int) -> None:
    from app.llm import build_llm
    from app.settings import Need
    from workers.attempt import WorkerDeps, run_attempt

    runtime = _runtime((Need.GITHUB_APP, Need.MODEL))
    try:
        llm = build_llm(runtime.settings, runtime.store, runtime.clock)
        deps = WorkerDeps(
            runtime.store, runtime.clock, runtime.github, llm, runtime.settings.sandbox_backend
        )
        await run_attempt(deps, task_id, attempt, worker=f"modal:{task_id}:{attempt}")
    finally:
        await runtime.store.close()


# No Modal retries: a retried attempt would run twice. A worker that dies stops renewing its
# lease, and the next tick records the attempt as lost and queues the task again.
@app.function(secrets=secrets, timeout=3600, retries=0)
def run_worker(task_id: int, attempt: int) -> None:
    """Run one attempt of one task (spawned by the CEO's modal dispatcher)."""
    asyncio.run(_work(task_id, attempt))


async def _review(task_id: int) -> str:
    from app.llm import build_llm
    from app.settings import Need
    from reviewer.deps import ReviewDeps
    from reviewer.run import run_review as review_task

    runtime = _runtime((Need.GITHUB_APP, Need.MODEL))
    try:
        llm = build_llm(runtime.settings, runtime.store, runtime.clock)
        deps = ReviewDeps(
            runtime.store, runtime.clock, runtime.github, llm, runtime.settings.sandbox_backend
        )
        result = await review_task(deps, task_id)
        return f"task {task_id}: {result.outcome} {result.detail}".strip()
    finally:
        await runtime.store.close()


@app.function(secrets=secrets, timeout=1800, retries=0)
def run_review(task_id: int) -> str:
    """Review (and merge, or send back) one task's open PR; the tick also does this."""
    return asyncio.run(_review(task_id))
