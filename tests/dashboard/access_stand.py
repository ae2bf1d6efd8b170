"""A served Townhall over localhub with one public and one private repository, for access tests.

Both repositories reach the store the way they do in production: localhub sends the signed
`installation` and `issues` webhooks, the web app stores them, the inbox processor records
them (privacy included). Each repository then gets a running task with file claims and spend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from app.clock import SystemClock
from app.dashboard.signin import SignIn
from app.github.client import GitHubAccess
from app.github.oauth import OAuthApp
from app.handlers import build_router
from app.serving import ServerThread
from app.settings import GitHubAppCredentials
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.store import Store, Tx, open_store
from app.store.attempts import start_attempt_tx
from app.store.llm_calls import LLMCall, record_llm_call
from app.store.repos import repo_id_by_name_tx
from app.store.tasks import create_task_tx, transition_tx
from app.taskstate import TaskState
from app.web import WebConfig, create_web_app
from app.webhooks.processor import InboxProcessor

APP_ID = 5150
OWNER = "octo"
PUBLIC, PRIVATE = "calc", "vault"
PUBLIC_TITLE = "Public idea: dark mode"
PRIVATE_TITLE = "Vault plan: rotate the launch codes"
PUBLIC_CLAIM = "calc/dark_mode.py"
PRIVATE_CLAIM = "vault/launch_codes.py"
PUBLIC_COST, PRIVATE_COST = 0.25, 4.75
WEBHOOK_SECRET = "access-webhook-secret-0123456789"
SESSION_SECRET = "access-session-secret-0123456789abcdef"
READER, STRANGER = "alice", "bob"


@dataclass
class AccessStand:
    """The running stand: Townhall's URL, localhub's URL and control client, and the store."""

    url: str
    hub_url: str
    ctl: LocalHubControl
    store: Store
    client_id: str


def _source(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(f"# {name}\n")
    return folder


def _seed_task(tx: Tx, clock: SystemClock, full_name: str, number: int, claim: str) -> int:
    repo_id = repo_id_by_name_tx(tx, full_name)
    assert repo_id is not None, f"{full_name} was not recorded from its webhook"
    task = create_task_tx(
        tx, clock, repo_id=repo_id, issue_number=number, max_attempts=2, priority=1,
        actor="test", reason="approved",
    )  # fmt: skip
    transition_tx(
        tx, clock, task.id, TaskState.PLANNED, actor="ceo", reason="planned",
        role="developer", brief="do it", complexity="small", predicted_files=[claim],
    )  # fmt: skip
    transition_tx(tx, clock, task.id, TaskState.QUEUED, actor="ceo", reason="queued")
    start_attempt_tx(tx, clock, task.id, "0" * 40, "ceo", "worker-1")
    return task.id


async def _spend(store: Store, task_id: int, dollars: float) -> None:
    call = LLMCall(
        phase="agent", model="claude-sonnet-5-5", task_id=task_id, attempt=1, role="developer",
        input_tokens=1000, output_tokens=100, cache_creation_tokens=0, cache_read_tokens=0,
        cost_usd=dollars, latency_ms=5.0, error=None, created_at=datetime.now(UTC),
    )  # fmt: skip
    await record_llm_call(store, call)


@contextmanager
def access_stand(tmp_path: Path, *, sign_in: bool = True) -> Iterator[AccessStand]:
    """Serve localhub and Townhall with octo/calc (public) and octo/vault (private) recorded."""
    keys = generate_app_keypair()
    clock = SystemClock()
    store = open_store(str(tmp_path / "townhall.db"))
    hub = LocalHub(tmp_path / "hub")
    try:
        with (
            ServerThread(hub.create_app()) as hub_server,
            LocalHubControl(hub_server.url) as ctl,
        ):
            ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
            client = ctl.create_client_secret(APP_ID)
            access = GitHubAccess(
                hub_server.url, GitHubAppCredentials(APP_ID, keys.private_key_pem), clock
            )
            oauth = OAuthApp(
                client["client_id"], client["client_secret"], hub_server.url, hub_server.url
            )
            config = WebConfig(
                store, clock, WEBHOOK_SECRET, 1 << 20, processor=None,
                github=access if sign_in else None,
                sign_in=SignIn(oauth, SESSION_SECRET) if sign_in else None,
            )  # fmt: skip
            with ServerThread(create_web_app(config)) as web:
                ctl.set_webhook(web.url + "/webhook", WEBHOOK_SECRET)
                ctl.create_repo_from_dir(OWNER, PUBLIC, _source(tmp_path, PUBLIC))
                ctl.create_repo_from_dir(OWNER, PRIVATE, _source(tmp_path, PRIVATE), private=True)
                for login in (READER, STRANGER):
                    ctl.create_user(login)
                ctl.set_collaborator(OWNER, PRIVATE, READER, "read")
                ctl.create_installation(APP_ID, OWNER)
                public = int(ctl.create_issue(OWNER, PUBLIC, READER, PUBLIC_TITLE)["number"])
                secret = int(ctl.create_issue(OWNER, PRIVATE, READER, PRIVATE_TITLE)["number"])
                ctl.wait_for_webhooks()
                processor = InboxProcessor(store, clock, build_router(), access)
                asyncio.run(processor.drain())

                def seed(tx: Tx) -> tuple[int, int]:
                    return (
                        _seed_task(tx, clock, f"{OWNER}/{PUBLIC}", public, PUBLIC_CLAIM),
                        _seed_task(tx, clock, f"{OWNER}/{PRIVATE}", secret, PRIVATE_CLAIM),
                    )

                public_task, private_task = store.run_sync(seed)
                asyncio.run(_spend(store, public_task, PUBLIC_COST))
                asyncio.run(_spend(store, private_task, PRIVATE_COST))
                yield AccessStand(web.url, hub_server.url, ctl, store, client["client_id"])
    finally:
        store.close_sync()


def as_user(authorize_url: str, login: str) -> httpx.URL:
    """Return localhub's authorize URL answering for `login` (a test's shortcut)."""
    return httpx.URL(authorize_url).copy_add_param("login", login)


@contextmanager
def signed_in(stand: AccessStand, login: str) -> Iterator[httpx.Client]:
    """Yield a client (cookies kept) that went through the sign-in flow as `login`."""
    with httpx.Client(timeout=30.0) as client:
        start = client.get(stand.url + "/signin")
        assert start.status_code == 302, start.text
        authorized = client.get(as_user(start.headers["location"], login))
        assert authorized.status_code == 302, authorized.text
        back = client.get(authorized.headers["location"])
        assert back.status_code == 303, back.text
        yield client
