"""Parsing `/townhall` commands out of comment text."""

from __future__ import annotations

import pytest

from app.commands import Command, Verb, parse_command


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/townhall approve", Command(Verb.APPROVE, "approve", "")),
        ("/townhall reject too risky", Command(Verb.REJECT, "reject", "too risky")),
        ("LGTM\n/townhall  Retry  please", Command(Verb.RETRY, "retry", "please")),
        ("/townhall", Command(Verb.HELP, "help", "")),
        ("/townhall status", Command(Verb.STATUS, "status", "")),
        ("/townhall deploy", Command(Verb.UNKNOWN, "deploy", "")),
        ("/townhall unknown", Command(Verb.UNKNOWN, "unknown", "")),
    ],
)
def test_commands_are_recognised(body: str, expected: Command) -> None:
    assert parse_command(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        "no command here",
        "please run /townhall approve",  # not at the start of a line
        "> /townhall approve",  # quoted from someone else
        "```\n/townhall approve\n```",  # inside a code block
        "/townhallapprove",
    ],
)
def test_non_commands_are_ignored(body: str) -> None:
    assert parse_command(body) is None
