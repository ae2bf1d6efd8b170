"""`townhall demo`: localhub, the scripted model, and Townhall itself, all on loopback.

It files the sample issues, has people vote (old and new accounts), lets a maintainer veto one,
then runs CEO ticks, workers and the reviewer until every approved issue is merged, printing
the board as it goes and a summary at the end.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from app.ceo.deps import TickDeps
from app.ceo.tick import run_tick
from app.clock import SystemClock
from app.dashboard.progress import issues_with_task_in_tx, repo_names_tx
from app.demo.keep import kept_instructions
from app.demo.sample import ISSUES, USERS, write_sample
from app.demo.script import build_demo_model
from app.demo.view import board, summary
from app.sandbox.isolation import describe_isolation, isolation_problem
from app.serving import ServerThread
from app.settings import GitHubAppCredentials, Settings
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.store import StoreError, Tx, open_store
from app.taskstate import TaskState
from app.wiring import Runtime, build_runtime, build_tick_deps, build_web_app

OWNER, REPO = "demo-org", "calc"
APP_ID = 1001
DEADLINE_SECONDS = 110.0
MAX_TICKS = 30
IDLE_TICKS = 3
KEEP_TICK_SECONDS = 5.0

Say = Callable[[str], None]

# Every task that was not cancelled: what the voters approved and Townhall took on.
ALIVE_STATES = tuple(state for state in TaskState if state != TaskState.CANCELLED)


class DemoError(Exception):
    """The demo cannot run here; the message says why and what to do."""


@dataclass
class DemoResult:
    """What the demo ended with, for the CLI's exit code and the tests."""

    merged: list[int]
    approved: list[int]
    ticks: int
    seconds: float
    model: str


def _check_database(db_url: str) -> None:
    """Refuse to reuse a store that holds anything but an earlier demo's data."""
    path = Path(db_url.removeprefix("file:"))
    if db_url.startswith(("libsql://", "https://", "wss://")):
        raise DemoError("the demo needs a local store file; set TOWNHALL_DB_URL to a path")
    if not path.exists():
        return
    try:
        store = open_store(str(path), migrate=False)
        names = store.run_sync(repo_names_tx)
        store.close_sync()
    except StoreError as error:
        # Unreadable is not the same as the demo's: never delete what we cannot look into.
        raise DemoError(
            f"cannot read {path} ({error}); run with TOWNHALL_DB_URL=demo.db"
        ) from error
    if any(name != f"{OWNER}/{REPO}" for name in names):
        raise DemoError(
            f"{path} holds a real Townhall store; run the demo with TOWNHALL_DB_URL=demo.db"
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def merged_issues_tx(tx: Tx) -> tuple[int, ...]:
    """Return the issue numbers whose task merged, in order."""
    return issues_with_task_in_tx(tx, (TaskState.MERGED,))


def _fresh_directory(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


@contextmanager
def _servers(workdir: Path, model_key: str | None) -> Iterator[tuple[str, str | None]]:
    """Start localhub and (without a real key) the scripted model on free loopback ports."""
    with ExitStack() as stack:
        hub = LocalHub(workdir / "hub", token_ttl=timedelta(hours=1))
        hub_url = stack.enter_context(ServerThread(hub.create_app())).url
        model_url = None
        if model_key is None:
            model_url = stack.enter_context(ServerThread(build_demo_model().create_app())).url
        yield hub_url, model_url


def _seed_hub(ctl: LocalHubControl, workdir: Path, public_key: str) -> None:
    now = SystemClock().now()
    ctl.create_app("townhall", public_key, app_id=APP_ID, owner="townhall")
    for login, age_days in USERS.items():
        ctl.create_user(login, token=f"{login}-token", created_at=now - timedelta(days=age_days))
    ctl.create_repo_from_dir(OWNER, REPO, write_sample(workdir / "sample"))
    ctl.set_collaborator(OWNER, REPO, "maintainer", "write")


def _file_issues(ctl: LocalHubControl, say: Say) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for issue in ISSUES:
        number = int(ctl.create_issue(OWNER, REPO, issue.author, issue.title, issue.body)["number"])
        numbers[issue.key] = number
        ctl.add_reactions(
            OWNER, REPO, number, [{"user": voter, "content": "+1"} for voter in issue.voters]
        )
        if issue.veto_by:
            ctl.create_comment(OWNER, REPO, number, issue.veto_by, "/townhall reject not for us")
        voters = ", ".join(issue.voters)
        say(f"  filed #{number} {issue.title!r} by {issue.author}; 👍 from {voters}")
    return numbers


async def _settle(runtime: Runtime, ctl: LocalHubControl) -> None:
    """Wait until localhub delivered its webhooks and Townhall processed them."""
    await asyncio.to_thread(ctl.wait_for_webhooks, 30.0)
    await runtime.processor.drain()


async def _loop(
    deps: TickDeps,
    runtime: Runtime,
    ctl: LocalHubControl,
    approved: set[int],
    waited: dict[int, str],
    say: Say,
) -> int:
    """Tick until every approved issue merged, nothing changes any more, or time runs out."""
    started = time.monotonic()
    previous, quiet = "", 0
    for tick in range(1, MAX_TICKS + 1):
        await _settle(runtime, ctl)
        report = await run_tick(deps)
        waited.update({task: why for task, why in report.waiting.items() if task not in waited})
        await deps.dispatcher.wait()
        await _settle(runtime, ctl)
        elapsed = time.monotonic() - started
        say(
            f"\ntick {tick} ({elapsed:.1f}s): planned {len(report.planned)}, "
            f"reviewed {len(report.reviews)}, dispatched {len(report.dispatched)}, "
            f"waiting {len(report.waiting)}" + "".join(f"\n  ! {error}" for error in report.errors)
        )
        shown = await board(runtime.store)
        say(shown)
        merged = await runtime.store.run(merged_issues_tx)
        if approved and set(merged) >= approved:
            return tick
        quiet = quiet + 1 if shown == previous and not report.dispatched else 0
        previous = shown
        if quiet >= IDLE_TICKS:
            say(f"\nnothing changed for {IDLE_TICKS} ticks; stopping")
            return tick
        if elapsed > DEADLINE_SECONDS:
            say("\nthe demo ran out of time before every approved issue merged")
            return tick
    return MAX_TICKS


async def _keep_ticking(deps: TickDeps, runtime: Runtime, ctl: LocalHubControl, say: Say) -> None:
    """Go on ticking so that issues filed and votes cast by hand move, until interrupted."""
    try:
        while True:
            await asyncio.sleep(KEEP_TICK_SECONDS)
            await _settle(runtime, ctl)
            report = await run_tick(deps)
            await deps.dispatcher.wait()
            if report.planned or report.dispatched or report.reviews or report.errors:
                say(report.describe())
    except (KeyboardInterrupt, asyncio.CancelledError):
        say("\nstopped; the store and the scratch directory are kept")


async def run_demo(
    settings: Settings,
    workdir: Path,
    say: Say = print,
    *,
    real_model: bool = False,
    keep: bool = False,
) -> DemoResult:
    """Run the whole loop offline (the real model only with `real_model`) and return the end.

    With `keep`, everything stays up afterwards for trying Townhall by hand, until Ctrl-C.
    """
    _check_database(settings.db_url)
    real_key = settings.anthropic_api_key if real_model else None
    if real_model and not real_key:
        raise DemoError("--real-model needs ANTHROPIC_API_KEY (in the environment or .env)")
    await asyncio.to_thread(_fresh_directory, workdir)
    model_name = "the real Anthropic API" if real_key else "the scripted model server (offline)"
    say(f"Townhall demo: localhub (GitHub stand-in) and {model_name}")
    if settings.anthropic_api_key and not real_model:
        say("  (ANTHROPIC_API_KEY is set but not used: pass --real-model to use it)")
    # Only when bubblewrap is missing does the demo's allowance matter (and get announced).
    isolated = isolation_problem(False, settings.bwrap) is None
    allowed = not isolated and (settings.unisolated_sandbox or not real_key)
    say(f"  sandboxes: {describe_isolation(allowed, settings.bwrap)}")
    if real_key and (problem := isolation_problem(settings.unisolated_sandbox, settings.bwrap)):
        raise DemoError(f"a real model needs isolated sandboxes: {problem}")
    keys = generate_app_keypair()
    secret = secrets.token_hex(16)
    started = time.monotonic()
    with _servers(workdir, real_key) as (hub_url, model_url), LocalHubControl(hub_url) as ctl:
        demo_settings = replace(
            settings,
            github_api_url=hub_url,
            github_app=GitHubAppCredentials(APP_ID, keys.private_key_pem),
            webhook_secret=secret,
            anthropic_api_key=real_key or "scripted-model",
            anthropic_base_url=settings.anthropic_base_url if real_key else model_url,
            sandbox_backend="local",
            dispatch_backend="inline",
            # The scripted model runs only the demo's own script, so a machine without
            # bubblewrap may run it unisolated (announced below); a real model never may.
            unisolated_sandbox=settings.unisolated_sandbox or not real_key,
        )
        # The demo's ticks sweep votes themselves; no background sweeps racing them.
        runtime = build_runtime(demo_settings, sweep_on_webhooks=False)
        try:
            with ServerThread(build_web_app(runtime, process=False)) as web:
                _seed_hub(ctl, workdir, keys.public_key_pem)
                ctl.set_webhook(f"{web.url}/webhook", secret)
                ctl.create_installation(APP_ID, OWNER)
                say("\nPeople file issues and vote:")
                numbers = _file_issues(ctl, say)
                await _settle(runtime, ctl)
                deps = build_tick_deps(runtime, workdir / "townhall")
                expected = {
                    numbers[i.key] for i in ISSUES if not i.veto_by and i.key != "unpopular"
                }
                waited: dict[int, str] = {}
                ticks = await _loop(deps, runtime, ctl, expected, waited, say)
                say("\n" + await summary(runtime.store, waited))
                if keep:
                    say(kept_instructions(hub_url, model_url, web.url, settings.db_url))
                    await _keep_ticking(deps, runtime, ctl, say)
            merged = await runtime.store.run(merged_issues_tx)
            approved = await runtime.store.run(lambda tx: issues_with_task_in_tx(tx, ALIVE_STATES))
        finally:
            runtime.store.close_sync()
    seconds = time.monotonic() - started
    say(f"\nDone in {seconds:.1f}s. The store is {settings.db_url}: try `townhall status`.")
    return DemoResult(
        merged=list(merged),
        approved=list(approved),
        ticks=ticks,
        seconds=seconds,
        model=model_name,
    )
