"""Townhall's marker comments against localhub: found by author and marker, across pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from githubkit import GitHub

from app.github.bot_comments import BotComments
from app.store import Store
from tests.stands import Stands, running_stands

MARKER = "<!-- townhall:test-status -->"


@dataclass
class Counted:
    rest_reads: int = 0
    rest_writes: int = 0


@pytest.fixture
def stands(tmp_path: Path, store: Store) -> Iterator[Stands]:
    with running_stands(tmp_path, store, {"README.md": "# calc\n"}) as running:
        yield running


def listed(stands: Stands) -> list[tuple[str, str]]:
    """Every comment on the seeded issue as (author login, body), oldest first."""
    with GitHub("alice-token", base_url=stands.hub_url + "/") as github:
        comments = github.rest.paginate(
            github.rest.issues.list_comments,
            owner=stands.owner,
            repo=stands.repo,
            issue_number=stands.issue_number,
            per_page=100,
        )
        return [(c.user.login if c.user else "", c.body or "") for c in comments]


def user_comment(stands: Stands, body: str) -> None:
    stands.ctl.create_comment(stands.owner, stands.repo, stands.issue_number, "alice", body)


@asynccontextmanager
async def bot_comments(
    stands: Stands, meter: Counted | None = None, *, app_login: str | None = None
) -> AsyncIterator[BotComments]:
    """Townhall's comments on the seeded repository, as the App (its real login by default)."""
    login = await stands.access.app_login() if app_login is None else app_login
    async with await stands.access.installation_client(stands.installation_id) as client:
        yield BotComments(client, stands.owner, stands.repo, login, meter)


async def test_a_user_comment_with_the_marker_is_never_edited(stands: Stands) -> None:
    forged = f"{MARKER}\nI pasted Townhall's marker."
    user_comment(stands, forged)
    async with bot_comments(stands) as comments:
        first = await comments.upsert(stands.issue_number, MARKER, f"{MARKER}\nQueued.")
        second = await comments.upsert(stands.issue_number, MARKER, f"{MARKER}\nStarted.")

    assert first == second
    assert listed(stands) == [("alice", forged), ("townhall[bot]", f"{MARKER}\nStarted.")]


async def test_a_user_comment_with_the_marker_does_not_suppress_a_notice(stands: Stands) -> None:
    forged = f"{MARKER}\nAlready told, honest."
    user_comment(stands, forged)
    notice = f"{MARKER}\nNeeds a person."
    async with bot_comments(stands) as comments:
        posted = await comments.post_once(stands.issue_number, MARKER, notice)
        again = await comments.post_once(stands.issue_number, MARKER, notice)

    assert posted == again
    assert listed(stands) == [("alice", forged), ("townhall[bot]", notice)]


async def test_the_own_comment_is_found_past_the_first_page(stands: Stands) -> None:
    for index in range(100):
        user_comment(stands, f"{MARKER}\ncopy {index}" if index % 10 == 0 else f"+1 ({index})")
    meter = Counted()
    async with bot_comments(stands, meter) as comments:
        own = await comments.post_once(stands.issue_number, MARKER, f"{MARKER}\nfirst")
        meter.rest_reads = meter.rest_writes = 0
        assert await comments.upsert(stands.issue_number, MARKER, f"{MARKER}\nedited") == own
    assert (meter.rest_reads, meter.rest_writes) == (2, 1)
    mine = [body for login, body in listed(stands) if login == "townhall[bot]"]
    assert mine == [f"{MARKER}\nedited"]


async def test_a_known_id_is_edited_without_listing(stands: Stands) -> None:
    meter = Counted()
    async with bot_comments(stands, meter) as comments:
        own = await comments.post_once(stands.issue_number, MARKER, f"{MARKER}\nfirst")
        meter.rest_reads = meter.rest_writes = 0
        assert await comments.upsert(stands.issue_number, MARKER, f"{MARKER}\nsecond", own) == own
    assert (meter.rest_reads, meter.rest_writes) == (0, 1)


async def test_without_the_app_login_only_a_bot_comment_counts(stands: Stands) -> None:
    forged = f"{MARKER}\nA person, not a bot."
    user_comment(stands, forged)
    async with bot_comments(stands, app_login="") as comments:
        assert await comments.find(stands.issue_number, MARKER) is None
        own = await comments.post_once(stands.issue_number, MARKER, f"{MARKER}\nours")
        assert await comments.find(stands.issue_number, MARKER) == own


async def test_a_body_must_start_with_its_marker(stands: Stands) -> None:
    async with bot_comments(stands) as comments:
        with pytest.raises(ValueError, match="must start with its marker"):
            await comments.upsert(stands.issue_number, MARKER, f"Queued.\n{MARKER}")
    assert listed(stands) == []
