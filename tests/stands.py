"""The offline stand-ins running together for a test: localhub with an App installed on a
seeded repository, the scripted model server, GitHub access and the LLM wrapper over them,
plus the store rows a task needs to be running its first attempt."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import anthropic
from githubkit import GitHub

from app.clock import SystemClock
from app.github.client import GitHubAccess
from app.llm import LLM, store_recorder
from app.serving import ServerThread
from app.settings import DEFAULT_MODELS, DEFAULT_PRICES, GitHubAppCredentials
from app.standins.localhub import AppKeyPair, LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ScriptedModel
from app.store import Store, Tx
from app.store.attempts import start_attempt_tx
from app.store.tasks import create_task_tx, transition_tx
from app.taskstate import TaskState

CALC_CORE = "def add(a, b):\n    return a - b\n"
CALC_TESTS = (
    "import unittest\nfrom calc.core import add\n\n\n"
    "class AddTest(unittest.TestCase):\n    def test_add(self):\n"
    "        self.assertEqual(add(2, 3), 5)\n"
)


def calc_repository(policy: str) -> dict[str, str]:
    """A tiny package whose add() subtracts, its failing test, and a policy."""
    return {
        "calc/__init__.py": "",
        "calc/core.py": CALC_CORE,
        "test_core.py": CALC_TESTS,
        ".townhall.toml": policy,
    }


@dataclass
class Stands:
    """Running stand-ins and the clients a test drives Townhall with."""

    ctl: LocalHubControl
    hub_url: str
    model: ScriptedModel
    model_url: str
    keys: AppKeyPair
    access: GitHubAccess
    llm: LLM
    installation_id: int
    repo_path: Path
    issue_number: int
    owner: str
    repo: str

    def main_sha(self) -> str:
        """The default branch's head in the hub's bare repository."""
        return subprocess.run(
            ["git", "-C", str(self.repo_path), "rev-parse", "main"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()


@contextmanager
def running_stands(
    tmp_path: Path,
    store: Store,
    files: Mapping[str, str],
    *,
    owner: str = "octo",
    repo: str = "calc",
    app_id: int = 66,
    issue: tuple[str, str] = ("add() subtracts", "2 + 3 should be 5"),
    client_timeout: float = 20.0,
    api_key: str = "k",
    links: Mapping[str, str] = {},
) -> Iterator[Stands]:
    """Start localhub and the scripted model with the App installed on a seeded repository."""
    source = tmp_path / "source"
    for relative, text in files.items():
        path = source / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for relative, target in links.items():
        (source / relative).symlink_to(target)
    keys = generate_app_keypair()
    hub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    model = ScriptedModel()
    with (
        ServerThread(hub.create_app()) as hub_server,
        ServerThread(model.create_app()) as model_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=app_id, owner="townhall-org")
        created = ctl.create_repo_from_dir(owner, repo, source)
        ctl.create_user("alice", token="alice-token")
        ctl.set_collaborator(owner, repo, "alice", "write")
        installation = ctl.create_installation(app_id, owner)
        number = int(ctl.create_issue(owner, repo, "alice", *issue)["number"])
        clock = SystemClock()
        access = GitHubAccess(
            hub_server.url, GitHubAppCredentials(app_id, keys.private_key_pem), clock
        )
        client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=model_server.url, max_retries=0, timeout=client_timeout
        )
        llm = LLM(client, DEFAULT_MODELS, DEFAULT_PRICES, store_recorder(store, clock))
        yield Stands(
            ctl, hub_server.url, model, model_server.url, keys, access, llm,
            int(installation["id"]), Path(created["path"]), number, owner, repo,
        )  # fmt: skip


def seed_running_task(
    store: Store, stands: Stands, *, title: str, body: str, max_attempts: int = 2,
    brief: str = "Make add() add.", predicted: tuple[str, ...] = ("calc/core.py",),
) -> int:  # fmt: skip
    """Record the installation, repo, issue and a task running its first attempt; return it.

    GitHub's issue is given the same title and body, as the sweep that approved it saw them:
    the worker and the reviewer check that the approved text still stands before they publish
    or merge.
    """
    clock = SystemClock()
    base = stands.main_sha()
    with GitHub("alice-token", base_url=stands.hub_url + "/") as author:
        author.rest.issues.update(
            stands.owner, stands.repo, stands.issue_number, data={"title": title, "body": body}
        )

    def seed(tx: Tx) -> int:
        tx.execute(
            "INSERT INTO installations (id, account_login, created_at) VALUES (?, ?, '')",
            (stands.installation_id, stands.owner),
        )
        tx.execute(
            "INSERT INTO repos (id, installation_id, full_name, default_branch, created_at,"
            " updated_at) VALUES (1, ?, ?, 'main', '', '')",
            (stands.installation_id, f"{stands.owner}/{stands.repo}"),
        )
        tx.execute(
            "INSERT INTO issues (repo_id, number, title, body, author, created_at, updated_at)"
            " VALUES (1, ?, ?, ?, 'alice', '', '')",
            (stands.issue_number, title, body),
        )
        task = create_task_tx(
            tx, clock, repo_id=1, issue_number=stands.issue_number, max_attempts=max_attempts,
            priority=1, actor="test", reason="seed",
        )  # fmt: skip
        transition_tx(
            tx, clock, task.id, TaskState.PLANNED, actor="ceo", reason="planned",
            role="developer", brief=brief, complexity="small", predicted_files=list(predicted),
        )  # fmt: skip
        transition_tx(tx, clock, task.id, TaskState.QUEUED, actor="ceo", reason="queued")
        start_attempt_tx(tx, clock, task.id, base, "ceo", "worker-1")
        return task.id

    return store.run_sync(seed)
