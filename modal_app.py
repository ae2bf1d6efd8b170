"""The Modal deployment of Townhall: web endpoint, CEO cron, workers and the reviewer.

Importing this module needs no credentials and no network: it only describes images, secrets
and functions. `modal deploy modal_app.py` builds and deploys them. Each function reads its
settings from the environment that its Modal secrets provide, at call time, never at import.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modal

if TYPE_CHECKING:
    from app.settings import Need
    from app.wiring import Runtime

APP_NAME = "townhall"
# Secrets by name; the README's deploy guide says which keys each one holds. Each function gets
# only the secrets it needs: the internet-facing `web` never holds the model key, which only the
# functions that call the model (the tick's planning, workers, the reviewer) get.
WEB_SECRET_NAMES = ("townhall-github", "townhall-store", "townhall-settings")
MODEL_CALLER_SECRET_NAMES = (*WEB_SECRET_NAMES, "townhall-anthropic")
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
web_secrets = [modal.Secret.from_name(name) for name in WEB_SECRET_NAMES]
model_caller_secrets = [modal.Secret.from_name(name) for name in MODEL_CALLER_SECRET_NAMES]


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
        report = await tick_and_wait(build_tick_deps(runtime, Path(WORKDIR)))
        return report.describe()
    finally:
        await runtime.store.close()


@app.function(secrets=model_caller_secrets, schedule=modal.Cron(TICK_SCHEDULE), timeout=900)
def ceo_tick() -> str:
    """Run one CEO tick (every 5 minutes, or spawned when an issue is approved)."""
    return asyncio.run(_tick())


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
