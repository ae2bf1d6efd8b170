"""`townhall votes ISSUE`: the stored explanation of a decision, for people and machines."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from app.settings import Settings
from app.votes.cli import UsageError, main, parse_issue

from .conftest import OWNER, REPO, Hub


def test_issue_references_parse_with_or_without_repo() -> None:
    assert parse_issue("octo/demo#12", None) == ("octo/demo", 12)
    assert parse_issue("12", "octo/demo") == ("octo/demo", 12)
    assert parse_issue("12", None) == (None, 12)  # the store decides: its only repository
    with pytest.raises(UsageError, match="expected owner/repo#N"):
        parse_issue("octo/demo/12", None)


async def test_votes_explains_the_latest_decision_and_its_history(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(db_url=str(tmp_path / "townhall.db"))  # the `store` fixture's file
    number = hub.issue("Explain me")
    hub.react(number, [hub.user("v1"), hub.user("v2"), "alice"])
    hub.clock.advance(timedelta(hours=2))
    await hub.sweep()
    hub.react(number, [hub.user("v3")])
    await hub.sweep()

    assert main([f"{OWNER}/{REPO}#{number}"], settings) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{OWNER}/{REPO}#{number}: Explain me (by alice")
    assert "decision: approved" in out
    assert "counted votes (3):" in out
    assert "alice" in out and "issue author (count_author is off)" in out

    assert main([str(number), "--repo", f"{OWNER}/{REPO}", "--history", "--json"], settings) == 0
    history = json.loads(capsys.readouterr().out)
    assert [entry["outcome"] for entry in history] == ["pending", "approved"]
    assert [len(entry["votes"]) for entry in history] == [3, 4]


async def test_votes_says_when_there_is_nothing_to_explain(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(db_url=str(tmp_path / "townhall.db"))
    assert main([f"{OWNER}/{REPO}#99"], settings) == 1
    assert "has not been swept" in capsys.readouterr().err
    assert main(["nobody/nothing#1"], settings) == 1
    assert "repository is not known" in capsys.readouterr().err
    # One repository installed: a bare number means an issue of that one.
    assert main(["99"], settings) == 1
    assert f"{OWNER}/{REPO}#99: this issue has not been swept" in capsys.readouterr().err


async def test_a_bare_number_with_two_repositories_asks_which(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(db_url=str(tmp_path / "townhall.db"))
    await hub.store.execute(
        "INSERT INTO repos (installation_id, full_name, created_at, updated_at)"
        " SELECT installation_id, 'octo/second', created_at, updated_at FROM repos LIMIT 1"
    )
    assert main(["1"], settings) == 2
    err = capsys.readouterr().err
    assert "give --repo" in err and "octo/second" in err
