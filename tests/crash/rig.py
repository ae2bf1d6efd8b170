"""`townhall dev` as a process that a test kills: localhub, the demo's scripted model, a store.

The stand-ins run in the test process (so the test sees localhub's request counters and every
model request); `townhall dev` runs as a child process on a fixed port, so it can be killed with
SIGKILL and started again on the same store, like a host losing the process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from githubkit import AppInstallationAuthStrategy, GitHub

from app.clock import SystemClock
from app.demo.sample import ISSUES, USERS, DemoIssue, write_sample
from app.demo.script import build_demo_model
from app.serving import ServerThread, free_port
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ScriptedModel
from app.store import Store, open_store

TOWNHALL = str(Path(sys.executable).parent / "townhall")
APP_ID = 41
OWNER, REPO = "octo", "calc"
SECRET = "crash-secret"
TICK_SECONDS = "0.5"


@dataclass
class Rig:
    """The stand-ins, the store file, and the `townhall dev` process of the moment."""

    ctl: LocalHubControl
    hub_url: str
    model: ScriptedModel
    env: dict[str, str]
    port: int
    db: Path
    workdir: Path
    log: Path
    private_key: str = ""
    installation_id: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    issues: dict[str, int] = field(default_factory=dict)
    staged: list[int] = field(default_factory=list)  # PRs merged as the App while it was down

    def start(self) -> None:
        """Start `townhall dev` and wait until it answers /healthz."""
        assert self.process is None
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n==== start {self.starts} ====\n".encode())
            self.process = subprocess.Popen(
                [TOWNHALL, "dev", "--port", str(self.port), "--every", TICK_SECONDS,
                 "--workdir", str(self.workdir)],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, f"townhall dev exited; see {self.log}"
            assert time.monotonic() < deadline, "townhall dev did not come up"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL `townhall dev` and every process it started (workers' sandboxes)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)  # its own session: sandboxes die with it
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        """Stop `townhall dev` gracefully (the end of the test)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def routes(self) -> dict[str, int]:
        """localhub's request count per route template ("PUT /repos/{owner}/...")."""
        counted: dict[str, int] = self.ctl.counters()["routes"]
        return counted

    def model_calls(self, responder: str) -> int:
        """How many model requests a demo responder (planner, workers, reviewer) answered."""
        return sum(1 for record in self.model.requests if record.script == responder)

    def install(self) -> None:
        """Install the App on the owner's repositories."""
        self.installation_id = int(self.ctl.create_installation(APP_ID, OWNER)["id"])

    def merge_reviewed_pull_as_app(self) -> int | None:
        """Merge, as the App, an open Townhall PR whose head Townhall reviewed; return it.

        This is the merge a `townhall dev` killed right after merging had made: localhub
        drops a request whose client went away before its body was read, so a kill while
        the merge is in flight never merges, and the test makes that merge itself.
        """
        with GitHub(AppInstallationAuthStrategy(APP_ID, self.private_key, self.installation_id),
                    base_url=self.hub_url + "/") as app:  # fmt: skip
            for pull in app.rest.pulls.list(OWNER, REPO, state="open").parsed_data:
                reviews = app.rest.pulls.list_reviews(OWNER, REPO, pull.number).parsed_data
                if any(r.commit_id == pull.head.sha for r in reviews):
                    app.rest.pulls.merge(
                        OWNER, REPO, pull.number, sha=pull.head.sha, merge_method="squash"
                    )
                    return pull.number
        return None

    def open_store(self) -> Store:
        return open_store(str(self.db))

    def github(self, login: str = "maintainer") -> GitHub[Any]:
        return GitHub(f"{login}-token", base_url=self.hub_url + "/")


def file_issue(rig: Rig, issue: DemoIssue) -> int:
    """File a demo issue with its votes; return its number."""
    number = int(rig.ctl.create_issue(OWNER, REPO, issue.author, issue.title, issue.body)["number"])
    votes = [{"user": voter, "content": "+1"} for voter in issue.voters]
    rig.ctl.add_reactions(OWNER, REPO, number, votes)
    rig.issues[issue.key] = number
    return number


@contextmanager
def crash_rig(tmp_path: Path) -> Iterator[Rig]:
    """Start localhub (the demo's users and repository, the App) and the demo's model."""
    keys = generate_app_keypair()
    hub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    model = build_demo_model()
    with ExitStack() as stack:
        hub_url = stack.enter_context(ServerThread(hub.create_app())).url
        model_url = stack.enter_context(ServerThread(model.create_app())).url
        ctl = stack.enter_context(LocalHubControl(hub_url))
        now = SystemClock().now()
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        for login, age_days in USERS.items():
            ctl.create_user(
                login, token=f"{login}-token", created_at=now - timedelta(days=age_days)
            )
        ctl.create_repo_from_dir(OWNER, REPO, write_sample(tmp_path / "sample"))
        ctl.set_collaborator(OWNER, REPO, "maintainer", "write")
        port = free_port()
        ctl.set_webhook(f"http://127.0.0.1:{port}/webhook", SECRET)
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))
        }
        env = {
            **inherited,
            "TOWNHALL_GITHUB_APP_ID": str(APP_ID),
            "TOWNHALL_GITHUB_PRIVATE_KEY": keys.private_key_pem,
            "TOWNHALL_WEBHOOK_SECRET": SECRET,
            "TOWNHALL_GITHUB_API_URL": hub_url,
            "TOWNHALL_DB_URL": str(tmp_path / "townhall.db"),
            "ANTHROPIC_API_KEY": "scripted",
            "ANTHROPIC_BASE_URL": model_url,
            "TOWNHALL_LOG_LEVEL": "INFO",
        }  # fmt: skip
        rig = Rig(ctl, hub_url, model, env, port, tmp_path / "townhall.db", tmp_path / "work",
                  tmp_path / "dev.log", keys.private_key_pem)  # fmt: skip
        try:
            yield rig
        finally:
            rig.stop()


__all__ = ["ISSUES", "OWNER", "REPO", "Rig", "crash_rig", "file_issue"]
