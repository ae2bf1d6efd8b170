"""The App manifest, localhub's side of GitHub's manifest flow, and the .env `setup` writes.

The browser walk through the whole flow is tests/test_setup_flow.py; here each step is driven
over HTTP against a real localhub, and the conversion answer is checked against GitHub's
description (tests/contract) and parsed by Townhall's own exchange.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.clock import ManualClock
from app.github.client import GitHubAccess
from app.github.manifest import (
    WEBHOOK_URL_NOT_SET,
    ConversionFailed,
    CreatedApp,
    app_manifest,
    build_manifest,
    convert_manifest_code,
    creation_url,
)
from app.serving import ServerThread
from app.settings import Need, load_settings, read_dotenv
from app.setup_flow import envfile
from app.setup_flow.page import SetupRun, setup_app
from app.standins.localhub import LocalHub, LocalHubControl
from app.standins.localhub.manifest_rules import ManifestRejected, parse_manifest
from tests.contract.checker import contract

TOWNHALL = str(Path(sys.executable).parent / "townhall")
REDIRECT = "http://127.0.0.1:9/callback"


def test_manifest_asks_for_the_minimal_permissions() -> None:
    manifest = app_manifest("Townhall", "https://townhall.example.com/")
    assert manifest["hook_attributes"] == {
        "url": "https://townhall.example.com/webhook",
        "active": True,
    }
    assert manifest["callback_urls"] == ["https://townhall.example.com/oauth/callback"]
    assert manifest["default_permissions"] == {
        "contents": "write",
        "issues": "write",
        "pull_requests": "write",
        "checks": "read",
        "statuses": "write",  # the "townhall/policy" commit status
        "metadata": "read",
    }
    assert {"issues", "issue_comment", "pull_request", "pull_request_review"} <= set(
        manifest["default_events"]
    )
    # GitHub's own rules, as localhub applies them, accept it once it says where to go back.
    checked = parse_manifest(json.dumps(manifest | {"redirect_url": REDIRECT}))
    assert checked.hook_active and checked.events == tuple(manifest["default_events"])


def test_without_a_webhook_url_the_hook_starts_off_and_says_so() -> None:
    manifest = build_manifest(
        "Townhall", homepage="https://github.com", webhook_url=None, redirect_url=REDIRECT
    )
    assert manifest["hook_attributes"] == {"url": WEBHOOK_URL_NOT_SET, "active": False}
    assert "callback_urls" not in manifest
    assert not parse_manifest(json.dumps(manifest)).hook_active


def test_the_form_goes_to_the_users_or_the_organisations_page() -> None:
    assert creation_url("https://github.com/", "s t") == (
        "https://github.com/settings/apps/new?state=s+t"
    )
    assert creation_url("https://github.com", "abc", "my-org") == (
        "https://github.com/organizations/my-org/settings/apps/new?state=abc"
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"url": None}, "url (the App's homepage) is required"),
        ({"hook_attributes": {"active": True}}, "hook_attributes.url is required"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url must be an http(s) URL"),
        ({"name": "x" * 35}, "name is too long"),
        ({"default_permissions": {"issues": "admin"}}, "default_permissions.issues: 'admin'"),
        ({"default_permissions": {"telepathy": "read"}}, "unknown permission 'telepathy'"),
        ({"default_events": ["check_run"]}, "'check_run' needs the checks permission"),
        ({"default_events": ["teleport"]}, "unsupported event 'teleport'"),
    ],
)
def test_localhub_refuses_what_github_refuses(change: dict[str, object], problem: str) -> None:
    manifest = app_manifest("Townhall", "https://t.example") | {"redirect_url": REDIRECT}
    manifest["default_permissions"] = {"issues": "write"}
    manifest["default_events"] = ["issues"]
    manifest |= change
    with pytest.raises(ManifestRejected) as refused:
        parse_manifest(json.dumps({k: v for k, v in manifest.items() if v is not None}))
    assert any(problem in line for line in refused.value.problems), refused.value.problems


def test_a_manifest_that_is_not_an_object_is_refused() -> None:
    for text in ("not json", "[1, 2]"):
        with pytest.raises(ManifestRejected):
            parse_manifest(text)


@dataclass
class Hub:
    """A localhub on loopback with a signed-in browser's cookie and a manual clock."""

    url: str
    hub: LocalHub
    clock: ManualClock
    browser: httpx.Client


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    clock = ManualClock()
    local = LocalHub(tmp_path / "hub", clock=clock)
    with ServerThread(local.create_app()) as server, LocalHubControl(server.url) as ctl:
        ctl.create_user("alice")
        ctl.create_user("acme", kind="Organization")
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            browser.get("/login", params={"login": "alice"})  # the localhub_user cookie
            yield Hub(server.url, local, clock, browser)


def _create(
    hub: Hub, manifest: dict[str, object], owner: str = "", name: str = "My Townhall"
) -> tuple[str, str]:
    """Post the manifest, press "Create GitHub App"; return the code and state sent back."""
    prefix = f"/organizations/{owner}" if owner else ""
    text = json.dumps(manifest)
    page = hub.browser.post(
        f"{prefix}/settings/apps/new", params={"state": "st-1"}, data={"manifest": text}
    )
    assert page.status_code == 200, page.text
    assert "Create GitHub App" in page.text and 'value="st-1"' in page.text
    created = hub.browser.post(
        f"{prefix}/settings/apps",
        data={"manifest": text, "state": "st-1", "name": name},
        follow_redirects=False,
    )
    assert created.status_code == 302, created.text
    location = urlsplit(created.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    return query["code"][0], query["state"][0]


def _manifest(webhook: str | None = "http://127.0.0.1:9/webhook") -> dict[str, object]:
    return build_manifest(
        "Townhall",
        homepage="https://t.example",
        webhook_url=webhook,
        redirect_url=REDIRECT,
        callback_url="https://t.example/oauth/callback",
    )


async def test_the_conversion_hands_over_a_working_app_once(hub: Hub) -> None:
    code, state = _create(hub, _manifest())
    assert state == "st-1"
    raw = httpx.post(f"{hub.url}/app-manifests/{code}/conversions")
    assert raw.status_code == 201
    found = contract().find("POST", f"/app-manifests/{code}/conversions")
    assert found is not None
    problems = contract().check_response(found[0], 201, raw.json(), dict(raw.headers))
    assert problems == [], problems
    body = raw.json()
    assert (body["slug"], body["owner"]["login"], body["name"]) == (
        "my-townhall",
        "alice",
        "My Townhall",
    )
    assert body["permissions"]["issues"] == "write" and "check_run" in body["events"]

    # A code works once: Townhall's exchange now gets GitHub's 404, as a one-line reason.
    with pytest.raises(ConversionFailed, match="HTTP 404"):
        await convert_manifest_code(hub.url, code)

    # A fresh App: Townhall's exchange parses it, and its key signs a JWT GET /app accepts.
    code, _ = _create(hub, _manifest(), name="Second Townhall")  # the page's name wins
    app = await convert_manifest_code(hub.url, code)
    assert (app.slug, app.name, app.owner) == ("second-townhall", "Second Townhall", "alice")
    settings = load_settings(
        {
            "TOWNHALL_GITHUB_APP_ID": str(app.app_id),
            "TOWNHALL_GITHUB_PRIVATE_KEY": app.pem,
            "TOWNHALL_GITHUB_API_URL": hub.url,
        },
        [Need.GITHUB_APP],
    )
    access = GitHubAccess(hub.url, settings.require_github_app(), hub.clock)
    assert await access.app_login() == f"{app.slug}[bot]"
    # Its webhook secret signs the hub's webhooks; its client secret opens the OAuth flow.
    assert hub.hub.state.data.webhook.secret == app.webhook_secret
    token = httpx.post(
        f"{hub.url}/login/oauth/access_token",
        data={"client_id": app.client_id, "client_secret": app.client_secret, "code": "nope"},
        headers={"Accept": "application/json"},
    ).json()
    assert token["error"] == "bad_verification_code"  # the client itself was accepted


def test_a_taken_name_is_refused(hub: Hub) -> None:
    _create(hub, _manifest())
    again = hub.browser.post(
        "/settings/apps",
        data={"manifest": json.dumps(_manifest()), "state": "s", "name": "my townhall"},
    )
    assert again.status_code == 422 and "already taken" in again.text


async def test_a_code_expires_after_an_hour(hub: Hub) -> None:
    code, _ = _create(hub, _manifest(webhook=None))
    assert hub.hub.state.data.webhook.url is None  # an inactive hook sends nothing
    hub.clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(ConversionFailed, match="more than an hour old"):
        await convert_manifest_code(hub.url, code)


def test_an_organisations_app_belongs_to_the_organisation(hub: Hub) -> None:
    code, _ = _create(hub, _manifest(), owner="acme")
    body = httpx.post(f"{hub.url}/app-manifests/{code}/conversions").json()
    assert body["owner"]["login"] == "acme"
    missing = hub.browser.post(
        "/organizations/nobody/settings/apps/new", data={"manifest": json.dumps(_manifest())}
    )
    assert missing.status_code == 404 and "nobody" in missing.text


def test_an_invalid_manifest_gets_a_page_listing_every_problem(hub: Hub) -> None:
    bad = _manifest() | {"url": "ftp://x", "default_events": ["teleport"]}
    page = hub.browser.post("/settings/apps/new", data={"manifest": json.dumps(bad)})
    assert page.status_code == 422
    assert "homepage" in page.text and "teleport" in page.text


def test_nobody_signed_in_is_asked_who_is_signing_in(hub: Hub) -> None:
    with httpx.Client(base_url=hub.url) as stranger:
        page = stranger.post("/settings/apps/new", data={"manifest": json.dumps(_manifest())})
        assert page.status_code == 200 and 'name="login"' in page.text
        created = stranger.post(
            "/settings/apps",
            data={"manifest": json.dumps(_manifest()), "state": "s", "login": "alice"},
            follow_redirects=False,
        )
        assert created.status_code == 302


PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\nq4+/=\n-----END RSA PRIVATE KEY-----\n"
CREATED = CreatedApp(
    app_id=77,
    slug="townhall",
    name="Townhall",
    owner="alice",
    html_url="https://github.com/apps/townhall",
    client_id="Iv1.abc",
    pem=PEM,
    webhook_secret="whs'\"$(x)",
    client_secret="cs-123",
)


def test_the_env_file_keeps_other_lines_and_settings_read_the_key_back(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# mine\nTOWNHALL_DB_URL=townhall.db\n")
    path.chmod(0o644)
    values = envfile.credential_values(CREATED, "https://api.github.com")
    text, written = envfile.merged_text(
        path.read_text(), values, {envfile.SESSION_SECRET: "s" * 40}, force=False
    )
    envfile.write_env(path, text)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("# mine\nTOWNHALL_DB_URL=townhall.db\n")
    assert written == [
        "TOWNHALL_GITHUB_APP_ID",
        "TOWNHALL_GITHUB_PRIVATE_KEY",
        "TOWNHALL_GITHUB_CLIENT_ID",
        "TOWNHALL_GITHUB_CLIENT_SECRET",
        "TOWNHALL_WEBHOOK_SECRET",
        "TOWNHALL_SESSION_SECRET",
    ]
    settings = load_settings(read_dotenv(path), [Need.GITHUB_APP, Need.WEBHOOK])
    assert settings.require_github_app().private_key == PEM
    assert (settings.webhook_secret, settings.oauth_client_secret) == ("whs'\"$(x)", "cs-123")
    assert settings.github_api_url == "https://api.github.com"


def test_existing_keys_are_kept_unless_forced(tmp_path: Path) -> None:
    old = "TOWNHALL_GITHUB_APP_ID=1\nTOWNHALL_GITHUB_PRIVATE_KEY_PATH=/k.pem\nX=1\n"
    values = envfile.credential_values(CREATED, "http://127.0.0.1:1")
    with pytest.raises(envfile.EnvFileError, match="TOWNHALL_GITHUB_APP_ID"):
        envfile.merged_text(old, values, {}, force=False)
    text, _ = envfile.merged_text(old, values, {}, force=True)
    assert text.startswith("TOWNHALL_GITHUB_APP_ID=77\nX=1\n")  # replaced in place
    assert "PRIVATE_KEY_PATH" not in text and "TOWNHALL_GITHUB_API_URL=http://127.0.0.1:1" in text
    path = tmp_path / ".env"
    path.write_text(old)
    assert envfile.conflicts(path, envfile.APP_KEYS) == [
        "TOWNHALL_GITHUB_APP_ID",
        "TOWNHALL_GITHUB_PRIVATE_KEY_PATH",
    ]


def test_the_modal_command_reads_the_values_from_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "my dir"
    folder.mkdir()
    path = folder / ".env"
    values = envfile.credential_values(CREATED, "https://api.github.com")
    envfile.write_env(path, envfile.merged_text("", values, {}, force=False)[0])
    command = envfile.modal_secret_command(path, list(values))
    assert "whs" not in command and "MIIB" not in command  # names only, never a value
    # A `modal` that records its arguments: the shell must hand it exactly the file's values.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "modal"
    fake.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(tmp_path / 'argv.json')!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    subprocess.run(["bash", "-c", command], check=True, env=env, timeout=60)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv[:4] == ["secret", "create", "--force", "townhall-github"]
    assert dict(arg.split("=", 1) for arg in argv[4:]) == values


def test_cli_prints_the_manifest_as_json(tmp_path: Path) -> None:
    result = subprocess.run(
        [TOWNHALL, "app-manifest", "--name", "My Townhall", "--url", "https://x.example"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "My Townhall"
    missing = subprocess.run(
        [TOWNHALL, "app-manifest"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode == 2
    assert "TOWNHALL_PUBLIC_URL" in missing.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--github-url", "github.com"], "--github-url: expected an http(s) URL"),
        (["--org", "no/such org"], "--org: 'no/such org' is not an organisation name"),
        ([], "already sets TOWNHALL_GITHUB_APP_ID: an App exists. Use --force"),
    ],
)
def test_setup_refuses_before_creating_anything(
    tmp_path: Path, arguments: list[str], expected: str
) -> None:
    (tmp_path / ".env").write_text("TOWNHALL_GITHUB_APP_ID=5\n")
    result = subprocess.run(
        [TOWNHALL, "setup", *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2, result.stdout
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing served, nothing created


def test_setup_gives_up_when_nobody_comes_back(tmp_path: Path) -> None:
    result = subprocess.run(
        [TOWNHALL, "setup", "--github-url", "http://127.0.0.1:9", "--wait-minutes", "0.01"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stdout.startswith("Open http://127.0.0.1:")
    assert "did not send the browser back within 0.01 minutes" in result.stderr
    assert not (tmp_path / ".env").exists()


def test_the_setup_page_checks_the_state_and_lets_an_unreached_github_be_retried(
    hub: Hub, tmp_path: Path
) -> None:
    code, _ = _create(hub, _manifest())
    run = SetupRun(
        manifest=_manifest(),
        form_url=creation_url(hub.url, "right-state"),
        api_url="http://127.0.0.1:9",  # nothing listens: GitHub unreachable
        env_path=tmp_path / ".env",
        force=False,
        state="right-state",
        session_secret="s" * 40,
    )
    with ServerThread(setup_app(run)) as page, httpx.Client(base_url=page.url) as browser:
        start = browser.get("/")
        assert 'action="' + creation_url(hub.url, "right-state").replace("&", "&amp;") in start.text
        forged = browser.get("/callback", params={"code": code, "state": "other"})
        assert forged.status_code == 400 and "wrong state" in forged.text
        unreached = browser.get("/callback", params={"code": code, "state": "right-state"})
        assert unreached.status_code == 502 and "Reload this page" in unreached.text
        assert not run.finished.is_set() and not run.env_path.exists()
        run.api_url = hub.url  # the network is back
        done = browser.get("/callback", params={"code": code, "state": "right-state"})
        assert done.status_code == 200 and "TOWNHALL_GITHUB_APP_ID" in done.text
        assert run.finished.is_set() and run.outcome is not None and run.outcome.app is not None
        again = browser.get("/callback", params={"code": code, "state": "right-state"})
        assert again.status_code == 410
    assert read_dotenv(run.env_path)["TOWNHALL_GITHUB_APP_ID"] == str(run.outcome.app.app_id)
