"""Webhooks: signed deliveries of GitHub-shaped payloads to a receiver on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from githubkit_schemas.v2022_11_28.webhooks import WebhookNamespace as webhooks
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.github.compat import compatible_body
from app.serving import ServerThread

from .conftest import APP_ID, OWNER, REPO, World
from .test_pulls import commit_files, main_sha, open_pull

SECRET = "It's a Secret to Everybody"


@dataclass
class Receiver:
    """A webhook receiver that records what it gets and answers `status`."""

    url: str = ""
    status: int = 202
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Run a Starlette app on loopback that records webhook deliveries."""
    state = Receiver()

    async def hook(request: Request) -> Response:
        state.received.append((dict(request.headers), await request.body()))
        return Response(status_code=state.status)

    app = Starlette(routes=[Route("/webhook", hook, methods=["POST"])])
    with ServerThread(app) as server:
        state.url = server.url + "/webhook"
        yield state


def parse(event: str, body: bytes) -> Any:
    """Parse a payload with githubkit's models, label fields filled in as Townhall's client does."""
    return webhooks.parse(event, compatible_body(body) or body)


def _events(world: World) -> list[tuple[str, str | None]]:
    return [(d["event"], d["action"]) for d in world.ctl.wait_for_webhooks()]


def test_state_changes_are_delivered_signed_and_in_githubs_shapes(
    world: World, receiver: Receiver
) -> None:
    world.ctl.set_webhook(receiver.url, SECRET)
    world.ctl.create_repo("alice", "tools")
    world.ctl.create_installation(APP_ID, "alice")
    alice, bot, carol = world.as_user("alice"), world.as_installation(), world.as_user("carol")

    issue = alice.rest.issues.create(OWNER, REPO, title="Idea", body="b").parsed_data
    alice.rest.issues.update(OWNER, REPO, issue.number, body="better")
    bot.rest.issues.add_labels(OWNER, REPO, issue.number, labels=["townhall:approved"])
    bot.rest.issues.remove_label(OWNER, REPO, issue.number, "townhall:approved")
    comment = bot.rest.issues.create_comment(OWNER, REPO, issue.number, body="tally").parsed_data
    bot.rest.issues.update_comment(OWNER, REPO, comment.id, body="tally 2")
    bot.rest.issues.delete_comment(OWNER, REPO, comment.id)
    bot.rest.issues.update(OWNER, REPO, issue.number, state="closed")
    bot.rest.issues.update(OWNER, REPO, issue.number, state="open")
    before_reaction = len(world.ctl.wait_for_webhooks())
    alice.rest.reactions.create_for_issue(OWNER, REPO, issue.number, content="+1")
    assert len(world.ctl.wait_for_webhooks()) == before_reaction, "reactions send no webhook"

    head = commit_files(bot, main_sha(bot), {"pkg/core.py": "line 1\nline 2!\n"}, "Edit")
    number = open_pull(bot, "townhall/issue-1", head, "Fix", f"Closes #{issue.number}")
    newer = commit_files(bot, head, {"pkg/core.py": "line 1\nline 2?\n"}, "Again")
    bot.rest.git.update_ref(OWNER, REPO, "heads/townhall/issue-1", sha=newer)
    bot.rest.pulls.update(OWNER, REPO, number, title="Fix it")
    carol.rest.pulls.create_review(
        OWNER, REPO, number, event="COMMENT", body="hm",
        comments=[{"path": "pkg/core.py", "line": 2, "body": "?"}],
    )  # fmt: skip
    run = bot.rest.checks.create(OWNER, REPO, name="review", head_sha=newer).parsed_data
    bot.rest.checks.update(OWNER, REPO, run.id, conclusion="success")
    bot.rest.pulls.merge(OWNER, REPO, number, sha=newer, merge_method="squash")

    events = _events(world)
    assert events == [
        ("installation", "created"),
        ("issues", "opened"),
        ("issues", "edited"),
        ("issues", "labeled"),
        ("issues", "unlabeled"),
        ("issue_comment", "created"),
        ("issue_comment", "edited"),
        ("issue_comment", "deleted"),
        ("issues", "closed"),
        ("issues", "reopened"),
        ("pull_request", "opened"),
        ("pull_request", "synchronize"),
        ("pull_request", "edited"),
        ("pull_request_review", "submitted"),
        ("pull_request_review_comment", "created"),
        ("check_run", "created"),
        ("check_run", "completed"),
        ("check_suite", "completed"),
        ("pull_request", "closed"),
        ("issues", "closed"),
    ]
    assert len(receiver.received) == len(events)
    for headers, body in receiver.received:
        assert webhooks.verify(SECRET, body, headers["x-hub-signature-256"])
        assert headers["user-agent"].startswith("GitHub-Hookshot/")
        assert uuid.UUID(headers["x-github-delivery"])
        assert headers["x-github-hook-id"] == "1"
        event = parse(headers["x-github-event"], body)
        assert getattr(event, "sender", None) is not None
        if headers["x-github-event"] != "installation":
            assert event.installation and event.installation.id == world.installation_id  # type: ignore[union-attr]
    merged = parse("pull_request", receiver.received[-2][1])
    assert merged.pull_request.merged is True
    opened = parse("issues", receiver.received[1][1])
    assert opened.sender.login == "alice" and opened.issue.user.login == "alice"  # type: ignore[union-attr]
    statuses = {d["status_code"] for d in world.ctl.deliveries()}
    assert statuses == {202}


def test_failed_deliveries_are_recorded_and_unsigned_without_a_secret(
    world: World, receiver: Receiver
) -> None:
    receiver.status = 500
    world.ctl.set_webhook(receiver.url)
    world.ctl.create_issue(OWNER, REPO, "bob", "Broken receiver")
    deliveries = world.ctl.wait_for_webhooks()
    assert [(d["event"], d["status_code"], d["delivered"]) for d in deliveries] == [
        ("issues", 500, False)
    ]
    headers, _ = receiver.received[0]
    assert "x-hub-signature-256" not in headers
    world.ctl.set_webhook("http://127.0.0.1:9/unreachable", SECRET)
    world.ctl.create_issue(OWNER, REPO, "bob", "Nobody listens")
    last = world.ctl.wait_for_webhooks()[-1]
    assert last["status_code"] is None and last["error"]
