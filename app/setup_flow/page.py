"""The local page `townhall setup` serves: a button that posts the manifest, and the callback.

`GET /` shows what will be created and a form that POSTs the manifest to GitHub's "new App"
page (the manifest flow needs a browser form, not an API call). GitHub sends the browser back
to `GET /callback?code=…&state=…`; the state must be this run's (else a page from another site
could hand us its own App), and the code is exchanged once. The outcome goes to the waiting
command through `SetupRun.finished`; no page ever shows a secret.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.github.manifest import ConversionFailed, CreatedApp, convert_manifest_code
from app.setup_flow.envfile import (
    SESSION_SECRET,
    EnvFileError,
    credential_values,
    merged_text,
    write_env,
)

CALLBACK_PATH = "/callback"
STYLE = "body{font:16px system-ui;max-width:42rem;margin:2rem auto;line-height:1.45}"
START = """<!doctype html><html><head><meta charset="utf-8"><title>Townhall setup</title>
<style>{style}</style></head><body><h1>Create Townhall's GitHub App</h1>
<p>The button sends the App's manifest to <b>{target}</b>, where GitHub asks you to confirm its
name (you must be signed in{owner_note}). GitHub then sends you back here, and the App's id,
private key and webhook secret are written to <code>{env_file}</code>.</p>
<dl><dt>Name</dt><dd>{name}</dd><dt>Webhook</dt><dd>{webhook}</dd>
<dt>Permissions</dt><dd>{permissions}</dd><dt>Events</dt><dd>{events}</dd></dl>
<form method="post" action="{action}"><input type="hidden" name="manifest" value="{manifest}">
<button id="create" type="submit">Create the GitHub App on {host}</button></form>
</body></html>"""
DONE = """<!doctype html><html><head><meta charset="utf-8"><title>Townhall setup: done</title>
<style>{style}</style></head><body><h1>The GitHub App {name} is ready</h1>
<p id="written">Wrote {keys} to <code>{env_file}</code> (mode 600).</p>
<p>Next: <a href="{install}">install it on the repositories that vote</a>. The terminal shows
the <code>modal secret create</code> command. You can close this page.</p></body></html>"""
FAILED = """<!doctype html><html><head><meta charset="utf-8"><title>Townhall setup: failed</title>
<style>{style}</style></head><body><h1>Setup failed</h1><p id="reason">{reason}</p></body></html>"""


@dataclass(frozen=True)
class Outcome:
    """How the run ended: the App and the keys written, or why not."""

    app: CreatedApp | None = None
    written: tuple[str, ...] = ()
    error: str | None = None
    retryable: bool = False  # GitHub was not reached: reloading the callback asks again


@dataclass
class SetupRun:
    """One setup run: what to post where, where to write, and how it ended."""

    manifest: dict[str, Any]
    form_url: str
    api_url: str
    env_path: Path
    force: bool
    state: str = field(repr=False)
    session_secret: str = field(repr=False)
    outcome: Outcome | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def finish(self, outcome: Outcome) -> None:
        """Record the outcome and wake the waiting command."""
        self.outcome = outcome
        self.finished.set()


def _failed(status: int, reason: str) -> HTMLResponse:
    return HTMLResponse(FAILED.format(style=STYLE, reason=escape(reason)), status)


def start_page(run: SetupRun) -> str:
    """Return the page with the button that posts the manifest."""
    manifest = run.manifest
    hook = manifest["hook_attributes"]
    host = run.form_url.split("/")[2]
    org = "/organizations/" in run.form_url
    return START.format(
        style=STYLE,
        target=escape(run.form_url.split("?")[0]),
        owner_note=" as an owner of the organisation" if org else "",
        env_file=escape(str(run.env_path)),
        name=escape(str(manifest["name"])),
        webhook=escape(hook["url"] if hook["active"] else "off until you set it (see README)"),
        permissions=escape(
            ", ".join(f"{k}: {v}" for k, v in manifest["default_permissions"].items())
        ),
        events=escape(", ".join(manifest["default_events"])),
        action=escape(run.form_url),
        manifest=escape(json.dumps(manifest)),
        host=escape(host),
    )


async def complete(run: SetupRun, code: str) -> Outcome:
    """Exchange the code and write the credentials; the outcome says what happened."""
    try:
        app = await convert_manifest_code(run.api_url, code)
    except ConversionFailed as error:
        return Outcome(error=str(error), retryable=error.retryable)
    values = credential_values(app, run.api_url)
    try:
        text = run.env_path.read_text(encoding="utf-8") if run.env_path.exists() else ""
        merged, written = merged_text(
            text, values, {SESSION_SECRET: run.session_secret}, force=run.force
        )
        await asyncio.to_thread(write_env, run.env_path, merged)
    except (OSError, EnvFileError) as error:
        # The App exists but its key is lost with this process: say where to get a new one.
        reason = getattr(error, "strerror", None) or str(error)
        return Outcome(
            app=app,
            error=f"{run.env_path}: {reason}; the App was created ({app.html_url}): generate a"
            " private key there, or delete it and run `townhall setup` again",
        )
    return Outcome(app=app, written=tuple(written))


def setup_app(run: SetupRun) -> Starlette:
    """Build the local web app of one setup run."""
    claimed = asyncio.Lock()

    async def start(request: Request) -> HTMLResponse:
        if run.finished.is_set():
            return _failed(410, "This setup run has finished; start `townhall setup` again.")
        return HTMLResponse(start_page(run))

    async def callback(request: Request) -> HTMLResponse:
        state = request.query_params.get("state", "")
        code = request.query_params.get("code", "")
        if not hmac.compare_digest(state.encode(), run.state.encode()):
            return _failed(400, "This link does not belong to this setup run (wrong state).")
        if not code:
            return _failed(400, "GitHub sent no code: the App was not created.")
        if claimed.locked() or run.finished.is_set():
            return _failed(410, "This setup run has already received its App.")
        async with claimed:
            outcome = await complete(run, code)
        if outcome.retryable:
            return _failed(502, f"{outcome.error}. Reload this page to ask GitHub again.")
        run.finish(outcome)
        if outcome.error or outcome.app is None:
            return _failed(502, outcome.error or "no App")
        page = DONE.format(
            style=STYLE,
            name=escape(outcome.app.name),
            keys=escape(", ".join(outcome.written)),
            env_file=escape(str(run.env_path)),
            install=escape(f"{outcome.app.html_url}/installations/new"),
        )
        return HTMLResponse(page)

    return Starlette(
        routes=[
            Route("/", start, methods=["GET"]),
            Route(CALLBACK_PATH, callback, methods=["GET"]),
        ]
    )
