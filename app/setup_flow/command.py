"""`townhall setup`: create the GitHub App through GitHub's manifest flow and keep its keys.

This module is light (argparse only) so `townhall --help` stays fast; the server, the GitHub
client and the page load when the command runs. The command refuses before anything is created
when the .env file could not take the credentials, serves the local page until GitHub sends
the browser back, then prints what was written (names, never values) and the Modal command.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.setup_flow.page import SetupRun

GITHUB_WEB = "https://github.com"
GITHUB_API = "https://api.github.com"
_ORG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


class SetupError(Exception):
    """The command cannot go on; the message names the option or file and what to do."""


@dataclass(frozen=True)
class Addresses:
    """Where GitHub's pages and API are, and where GitHub reaches this deployment."""

    web_url: str
    api_url: str
    homepage: str
    webhook_url: str | None
    callback_url: str | None


def add_setup_command(commands: Any) -> None:
    """Register `townhall setup` on the CLI's subparsers."""
    setup = commands.add_parser(
        "setup",
        help="create the GitHub App (manifest flow in your browser) and write its keys to .env",
    )
    setup.add_argument("--name", default="Townhall", help="the App's name (GitHub asks too)")
    setup.add_argument("--org", help="create the App for this organisation (default: your user)")
    setup.add_argument(
        "--github-url",
        help="GitHub's web address (default: TOWNHALL_GITHUB_WEB_URL, else https://github.com)",
    )
    setup.add_argument(
        "--api-url",
        help="GitHub's API (default: api.github.com for github.com, else --github-url itself;"
        " GitHub Enterprise Server: https://HOST/api/v3)",
    )
    setup.add_argument(
        "--webhook-url",
        help="where GitHub sends webhooks, e.g. https://WORKSPACE--townhall-web.modal.run/webhook"
        " (default: TOWNHALL_PUBLIC_URL + /webhook; without either the webhook starts off)",
    )
    setup.add_argument("--url", help="Townhall's public address (default: TOWNHALL_PUBLIC_URL)")
    setup.add_argument("--host", default="127.0.0.1", help="address of the local setup page")
    setup.add_argument("--port", type=int, default=0, help="its port (0: any free port)")
    setup.add_argument("--env-file", default=".env", help="where the credentials are written")
    setup.add_argument("--force", action="store_true", help="replace keys the file already has")
    setup.add_argument(
        "--wait-minutes",
        type=float,
        default=60.0,
        help="give up when GitHub has not sent the browser back by then (its codes last an hour)",
    )
    setup.set_defaults(handler=cmd_setup)


def _url(option: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not value.startswith(("http://", "https://")):
        raise SetupError(f"{option}: expected an http(s) URL, got {value!r}")
    return value.strip().rstrip("/")


def resolve_addresses(args: argparse.Namespace, env: Mapping[str, str]) -> Addresses:
    """Work out every address from the options, falling back on the settings in `env`."""
    env_api = _url("TOWNHALL_GITHUB_API_URL", env.get("TOWNHALL_GITHUB_API_URL"))
    web = _url("--github-url", args.github_url) or _url(
        "TOWNHALL_GITHUB_WEB_URL", env.get("TOWNHALL_GITHUB_WEB_URL")
    )
    if web is None:
        web = GITHUB_WEB if env_api in (None, GITHUB_API) else env_api.removesuffix("/api/v3")
    api = _url("--api-url", args.api_url)
    if api is None:
        api = env_api if env_api and not args.github_url else None
    if api is None:
        api = GITHUB_API if web == GITHUB_WEB else web
    webhook = _url("--webhook-url", args.webhook_url)
    public = _url("--url", args.url) or _url("TOWNHALL_PUBLIC_URL", env.get("TOWNHALL_PUBLIC_URL"))
    if public is None and webhook and webhook.endswith("/webhook"):
        public = webhook.removesuffix("/webhook")
    if webhook is None and public:
        webhook = public + "/webhook"
    callback = f"{public}/oauth/callback" if public else None
    return Addresses(web, api, public or web, webhook, callback)


def cmd_setup(args: argparse.Namespace, settings: Callable[[], Any]) -> int:
    """Run the manifest flow; 0 when the App exists and its keys are in the .env file."""
    try:
        return run_setup(args, dict(os.environ))
    except SetupError as error:
        print(f"townhall: {error}", file=sys.stderr)
        return 2


def run_setup(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """Check, serve the page, wait for GitHub's redirect, report."""
    from app.github.manifest import build_manifest, creation_url
    from app.serving import ServerThread, free_port
    from app.settings import environment_with_dotenv
    from app.setup_flow import envfile
    from app.setup_flow.page import CALLBACK_PATH, SetupRun, setup_app

    env_path = Path(args.env_file)
    if args.org and not _ORG.match(args.org):
        raise SetupError(f"--org: {args.org!r} is not an organisation name")
    addresses = resolve_addresses(args, environment_with_dotenv(environ, env_path))
    try:
        envfile.check_writable(env_path)
        taken = envfile.conflicts(env_path, envfile.APP_KEYS)
    except envfile.EnvFileError as error:
        raise SetupError(str(error)) from error
    if taken and not args.force:
        raise SetupError(
            f"{env_path} already sets {', '.join(taken)}: an App exists. Use --force to replace"
            " them with a new App's (the old App keeps working until you delete it on GitHub)"
        )
    port = args.port or free_port(args.host)
    local = f"http://{args.host}:{port}"
    state = secrets.token_urlsafe(24)
    run = SetupRun(
        manifest=build_manifest(
            args.name,
            homepage=addresses.homepage,
            webhook_url=addresses.webhook_url,
            redirect_url=local + CALLBACK_PATH,
            callback_url=addresses.callback_url,
        ),
        form_url=creation_url(addresses.web_url, state, args.org),
        api_url=addresses.api_url,
        env_path=env_path,
        force=args.force,
        state=state,
        session_secret=secrets.token_urlsafe(48),
    )
    try:
        server = ServerThread(setup_app(run), args.host, port).start()
    except (OSError, RuntimeError, TimeoutError) as error:
        raise SetupError(f"cannot serve the setup page on {local}: {error}") from error
    deadline = time.monotonic() + args.wait_minutes * 60
    try:
        _say_start(local, addresses)
        while not run.finished.wait(0.5):
            if time.monotonic() > deadline:
                raise SetupError(
                    f"GitHub did not send the browser back within {args.wait_minutes:g} minutes;"
                    " nothing was written (run `townhall setup` again)"
                )
    finally:
        server.stop()
    return _report(run, env_path, environ)


def _say_start(local: str, addresses: Addresses) -> None:
    print(f"Open {local}/ in a browser signed in to {addresses.web_url} and press the button.")
    if addresses.webhook_url is None:
        print(
            "No --webhook-url and no TOWNHALL_PUBLIC_URL: the App's webhook starts off. Once"
            " deployed, set it in the App's settings (README: Deploy on Modal)."
        )
    print("Waiting for GitHub to send the browser back (Ctrl-C to stop)...", flush=True)


def _report(run: SetupRun, env_path: Path, environ: Mapping[str, str]) -> int:
    from app.setup_flow import envfile

    outcome = run.outcome
    if outcome is None or outcome.error or outcome.app is None:
        reason = outcome.error if outcome is not None else "no outcome"
        print(f"townhall: {reason}", file=sys.stderr)
        return 1
    app = outcome.app
    print(f'Created the GitHub App "{app.name}" (id {app.app_id}) for {app.owner}: {app.html_url}')
    print(f"Wrote {', '.join(outcome.written)} to {env_path} (mode 600; values not shown).")
    shadowed = sorted(key for key in outcome.written if key in environ)
    if shadowed:
        print(
            f"Note: your environment also sets {', '.join(shadowed)}, which overrides {env_path}."
        )
    print(f"Install the App on the repositories that vote: {app.html_url}/installations/new")
    modal_keys = [k for k in outcome.written if k != envfile.API_URL]
    if envfile.SESSION_SECRET not in modal_keys:
        # Dashboard sign-in needs the session secret the file already had.
        if envfile.reads_back(env_path, envfile.SESSION_SECRET):
            modal_keys.append(envfile.SESSION_SECRET)
        else:
            print(f"Add {envfile.SESSION_SECRET} from {env_path} to the secret by hand.")
    print("On Modal, create the secret from the file (the shell reads the values; none is shown):")
    print("    " + envfile.modal_secret_command(env_path, modal_keys), flush=True)
    return 0
