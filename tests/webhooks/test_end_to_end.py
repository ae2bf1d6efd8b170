"""End to end: localhub sends real signed webhooks to Townhall's web app over loopback."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from githubkit import GitHub

from app.serving import ServerThread
from app.settings import GitHubAppCredentials, Settings
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.wiring import Runtime, build_runtime, build_web_app

APP_ID = 77
OWNER, REPO = "octo", "demo"
SECRET = "e2e-secret"


@dataclass
class Loop:
    ctl: LocalHubControl
    runtime: Runtime
    hub_url: str

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.runtime.store.run_sync(lambda tx: tx.fetchall(sql, params))

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until localhub delivered everything and Townhall processed it all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ctl.wait_for_webhooks(timeout)
            busy = self.rows(
                "SELECT COUNT(*) AS n FROM deliveries WHERE status IN ('pending', 'processing')"
            )[0]["n"]
            if busy == 0 and all(d.get("status_code") for d in self.ctl.deliveries()):
                return
            time.sleep(0.05)
        raise AssertionError("webhooks did not settle")


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Loop]:
    keys = generate_app_keypair()
    hub = LocalHub(tmp_path / "hub")
    source = tmp_path / "source"
    source.mkdir()
    (source / "README.md").write_text("# demo\n")
    with ServerThread(hub.create_app()) as hub_server, LocalHubControl(hub_server.url) as ctl:
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        ctl.create_repo_from_dir(OWNER, REPO, source)
        ctl.create_user("alice", token="alice-token")
        ctl.create_user("carol", token="carol-token")
        ctl.set_collaborator(OWNER, REPO, "carol", "write")
        settings = Settings(
            github_api_url=hub_server.url,
            github_app=GitHubAppCredentials(APP_ID, keys.private_key_pem),
            webhook_secret=SECRET,
            db_url=str(tmp_path / "townhall.db"),
        )
        runtime = build_runtime(settings)
        with ServerThread(build_web_app(runtime)) as townhall:
            ctl.set_webhook(f"{townhall.url}/webhook", SECRET)
            ctl.create_installation(APP_ID, OWNER)
            yield Loop(ctl, runtime, hub_server.url)
        runtime.store.close_sync()


def bot_replies(loop: Loop, number: int) -> list[str]:
    """Comments by Townhall's bot on an issue, read as a person would through the API."""
    with GitHub("alice-token", base_url=loop.hub_url + "/") as github:
        comments = github.rest.issues.list_comments(OWNER, REPO, number).parsed_data
    return [c.body or "" for c in comments if c.user and c.user.type == "Bot"]


def test_installation_and_issue_rows_follow_github(loop: Loop) -> None:
    loop.settle()
    assert loop.rows("SELECT account_login FROM installations") == [{"account_login": OWNER}]
    assert [r["full_name"] for r in loop.rows("SELECT full_name FROM repos")] == [f"{OWNER}/{REPO}"]
    issue = loop.ctl.create_issue(OWNER, REPO, "alice", "Add dark mode", "Please add it.")
    loop.settle()
    rows = loop.rows("SELECT number, title, author, state FROM issues")
    assert rows == [
        {"number": issue["number"], "title": "Add dark mode", "author": "alice", "state": "open"}
    ]
    statuses = {d["status_code"] for d in loop.ctl.deliveries()}
    assert statuses == {202}


def test_permitted_approve_is_recorded_and_unpermitted_refused(loop: Loop) -> None:
    issue = loop.ctl.create_issue(OWNER, REPO, "alice", "Add dark mode", "Please add it.")
    number = issue["number"]
    loop.ctl.create_comment(OWNER, REPO, number, "alice", "/townhall approve")
    loop.settle()
    loop.ctl.create_comment(OWNER, REPO, number, "carol", "/townhall approve because users want it")
    loop.settle()

    decisions = loop.rows("SELECT login, decision, source FROM maintainer_decisions")
    assert decisions == [{"login": "carol", "decision": "approve", "source": "command"}]
    replies = bot_replies(loop, number)
    assert len(replies) == 2, replies
    assert "needs write access" in replies[0] and "@alice" in replies[0]
    assert "Recorded: **approve** by @carol" in replies[1]
    # Townhall's own replies came back as webhooks and were not taken as commands.
    handled = loop.rows("SELECT COUNT(*) AS n FROM handled_comments")[0]["n"]
    assert handled == 2


def test_help_status_and_unknown_commands_get_answers(loop: Loop) -> None:
    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Faster builds", "")["number"]
    for body in ("/townhall help", "/townhall status"):
        loop.ctl.create_comment(OWNER, REPO, number, "alice", body)
    loop.settle()
    loop.ctl.create_comment(OWNER, REPO, number, "carol", "/townhall frobnicate")
    loop.settle()
    replies = bot_replies(loop, number)
    assert len(replies) == 3
    assert "Townhall commands" in replies[0]
    assert "**Townhall status**" in replies[1] and "task: none yet" in replies[1]
    assert "I don't know `/townhall frobnicate`" in replies[2]


def outside_code(markdown: str) -> str:
    """The text of `markdown` outside inline code spans (where GitHub renders mentions)."""
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown, flags=re.DOTALL)


def test_an_outsiders_unknown_command_gets_no_reply(loop: Loop) -> None:
    """Issue 16, finding 9: an unknown verb from someone without write access is ignored."""
    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Faster builds", "")["number"]
    loop.ctl.create_comment(OWNER, REPO, number, "alice", "/townhall frobnicate")
    loop.settle()
    assert bot_replies(loop, number) == []
    assert loop.rows("SELECT COUNT(*) AS n FROM handled_comments") == [{"n": 0}]


def test_a_typed_word_cannot_break_out_of_its_code_span(loop: Loop) -> None:
    """Issue 16, finding 9: backticks in the word must not turn the rest into live markdown."""
    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Faster builds", "")["number"]
    word = "x`@alice`[win](https://evil.example)<img"
    loop.ctl.create_comment(OWNER, REPO, number, "carol", f"/townhall {word}")
    loop.settle()
    [reply] = bot_replies(loop, number)
    assert "/townhall x`@alice`[win](" in reply  # what was typed is shown...
    live = outside_code(reply)
    assert "@alice" not in live and "evil.example" not in live and "<img" not in live  # ...inert


def test_replies_to_one_person_are_rate_limited(loop: Loop) -> None:
    """Issue 16, finding 9: nobody can make Townhall answer every comment they post."""
    from app.commands import REPLIES_PER_HOUR

    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Faster builds", "")["number"]
    for _ in range(REPLIES_PER_HOUR + 2):
        loop.ctl.create_comment(OWNER, REPO, number, "alice", "/townhall status")
    loop.settle()
    assert len(bot_replies(loop, number)) == REPLIES_PER_HOUR
    silenced = loop.rows("SELECT login, silenced FROM handled_comments WHERE silenced IS NOT NULL")
    assert silenced == [{"login": "alice", "silenced": "rate_limited"}] * 2
    # A maintainer is answered whatever the count: their commands change what Townhall does.
    for _ in range(REPLIES_PER_HOUR + 1):
        loop.ctl.create_comment(OWNER, REPO, number, "carol", "/townhall status")
    loop.settle()
    assert len(bot_replies(loop, number)) == 2 * REPLIES_PER_HOUR + 1


def test_retry_requeues_a_stuck_task_and_reject_cancels_it(loop: Loop) -> None:
    from app.clock import SystemClock
    from app.store import Tx
    from app.store.tasks import create_task_tx

    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Speed up", "")["number"]
    loop.settle()
    repo_id = loop.rows("SELECT id FROM repos")[0]["id"]

    def stuck_task(tx: Tx) -> None:
        task = create_task_tx(
            tx,
            SystemClock(),
            repo_id=repo_id,
            issue_number=number,
            max_attempts=2,
            priority=1,
            actor="test",
            reason="seed",
        )
        tx.execute("UPDATE tasks SET state = 'needs_human', attempt = 2 WHERE id = ?", (task.id,))

    loop.runtime.store.run_sync(stuck_task)
    loop.ctl.create_comment(OWNER, REPO, number, "carol", "/townhall retry")
    loop.settle()
    task = loop.rows("SELECT state, attempt, max_attempts FROM tasks")[0]
    assert task == {"state": "queued", "attempt": 2, "max_attempts": 3}

    loop.ctl.create_comment(OWNER, REPO, number, "carol", "/townhall reject not now")
    loop.settle()
    assert loop.rows("SELECT state FROM tasks") == [{"state": "cancelled"}]
    events = loop.rows("SELECT actor, kind, reason FROM events WHERE kind = 'maintainer_reject'")
    assert events == [{"actor": "carol", "kind": "maintainer_reject", "reason": "not now"}]
    assert "Its task was cancelled" in bot_replies(loop, number)[-1]


def test_a_secondary_rate_limit_is_waited_out_and_a_5xx_retried(loop: Loop) -> None:
    number = loop.ctl.create_issue(OWNER, REPO, "alice", "Docs", "")["number"]
    loop.settle()
    comments = f"/repos/{OWNER}/{REPO}/issues/{number}/comments"
    loop.ctl.inject_fault(comments, kind="secondary_rate_limit", method="POST", retry_after=1)
    loop.ctl.inject_fault(comments, kind="error", status=502, method="POST")
    started = time.monotonic()
    loop.ctl.create_comment(OWNER, REPO, number, "alice", "/townhall help")
    loop.settle()
    assert time.monotonic() - started >= 1.0  # retry-after was honoured, not busy-looped
    assert len(bot_replies(loop, number)) == 1
    # The client rode out both faults itself: the delivery never needed a second try.
    rows = loop.rows("SELECT status, tries FROM deliveries WHERE event = 'issue_comment'")
    assert rows and all(row == {"status": "done", "tries": 1} for row in rows)


def push_branch(loop: Loop, branch: str, path: str, text: str) -> None:
    """Commit one file on a new branch of the hub's repository (a person's or a fork's work)."""
    bare = loop.ctl.repo_path(OWNER, REPO)
    work = bare.parent / ("work-" + branch.replace("/", "-"))
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True)
    (work / path).write_text(text)
    for args in (
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"work on {branch}"],
        ["push", "-q", "origin", f"HEAD:refs/heads/{branch}"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True)


def test_only_the_apps_pull_requests_are_linked_to_their_tasks(loop: Loop) -> None:
    """Issue 16, finding 5: a person's PR from a `townhall/issue-N` branch is not the task's."""
    import asyncio

    from app.clock import SystemClock
    from app.store import Tx
    from app.store.tasks import create_task_tx
    from workers.publish import FileChange, PullRequestText, publish_change

    ours = loop.ctl.create_issue(OWNER, REPO, "alice", "Dark mode", "")["number"]
    theirs = loop.ctl.create_issue(OWNER, REPO, "alice", "Light mode", "")["number"]
    loop.settle()
    repo_id = loop.rows("SELECT id FROM repos")[0]["id"]

    def seed(tx: Tx) -> None:
        for number in (ours, theirs):
            create_task_tx(
                tx, SystemClock(), repo_id=repo_id, issue_number=number, max_attempts=2,
                priority=1, actor="test", reason="seed",
            )  # fmt: skip

    loop.runtime.store.run_sync(seed)
    installation = loop.rows("SELECT id FROM installations")[0]["id"]
    base = subprocess.run(
        ["git", "-C", str(loop.ctl.repo_path(OWNER, REPO)), "rev-parse", "main"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip

    async def publish() -> int:
        github = loop.runtime.github
        async with await github.installation_client(installation) as client:
            published = await publish_change(
                client, owner=OWNER, repo=REPO, base_branch="main", base_sha=base,
                issue_number=ours, changes={"dark.css": FileChange(b"body{}\n")}, message="m",
                pr=PullRequestText("Dark mode", f"Closes #{ours}"),
            )  # fmt: skip
        return published.pr_number

    app_pr = asyncio.run(publish())
    push_branch(loop, f"townhall/issue-{theirs}", "light.css", "body{}\n")
    with GitHub("alice-token", base_url=loop.hub_url + "/") as github:
        data = {"title": "Light", "head": f"townhall/issue-{theirs}", "base": "main"}
        persons_pr = github.rest.pulls.create(OWNER, REPO, data=data).parsed_data.number
    loop.settle()

    pulls = loop.rows("SELECT number, task_id FROM pull_requests")
    tasks = loop.rows("SELECT issue_number, pr_number, branch FROM tasks ORDER BY issue_number")
    assert persons_pr != app_pr
    assert pulls == [{"number": app_pr, "task_id": 1}]
    assert tasks == [
        {"issue_number": ours, "pr_number": app_pr, "branch": f"townhall/issue-{ours}"},
        {"issue_number": theirs, "pr_number": None, "branch": None},
    ]
    with GitHub("carol-token", base_url=loop.hub_url + "/") as github:
        github.rest.pulls.merge(OWNER, REPO, app_pr, data={"merge_method": "squash"})
    loop.settle()
    assert loop.rows("SELECT number, state, merged FROM pull_requests") == [
        {"number": app_pr, "state": "merged", "merged": 1}
    ]
