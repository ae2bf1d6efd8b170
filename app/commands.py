"""Maintainer commands in issue comments: `/townhall approve|reject|retry|status|help`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Verb(StrEnum):
    """What a command asks for."""

    APPROVE = "approve"
    REJECT = "reject"
    RETRY = "retry"
    STATUS = "status"
    HELP = "help"
    UNKNOWN = "unknown"


# Commands that change what Townhall does need write permission; the rest anyone may use.
PRIVILEGED = frozenset({Verb.APPROVE, Verb.REJECT, Verb.RETRY})

_COMMAND = re.compile(r"^\s*/townhall(?=\s|$)(?:\s+(?P<verb>\S+))?(?P<rest>[^\n]*)$", re.MULTILINE)


@dataclass(frozen=True)
class Command:
    """A parsed command: the verb, the word as typed, and any reason after it."""

    verb: Verb
    word: str
    reason: str


def parse_command(body: str) -> Command | None:
    """Find the first `/townhall ...` line of a comment (not inside a quote or code block)."""
    in_fence = False
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or stripped.startswith(">"):
            continue
        match = _COMMAND.match(line)
        if match:
            word = (match["verb"] or "help").lower()
            known = word in set(Verb) and word != Verb.UNKNOWN
            verb = Verb(word) if known else Verb.UNKNOWN
            return Command(verb, word, match["rest"].strip())
    return None


HELP_TEXT = """\
Townhall commands (comment on an issue):

| command | who | what it does |
| --- | --- | --- |
| `/townhall approve` | maintainers | approve this issue for work, whatever the vote count |
| `/townhall reject` | maintainers | veto this issue; a veto wins over any vote count |
| `/townhall retry` | maintainers | give a failed or stuck task one more attempt |
| `/townhall status` | anyone | show where this issue stands |
| `/townhall help` | anyone | show this help |

Vote with 👍 or 👎 on the issue itself."""

NOT_PERMITTED_TEXT = (
    "Sorry @{login}, `/townhall {word}` needs write access to this repository. "
    "You can still vote with 👍 or 👎 on the issue."
)

UNKNOWN_TEXT = "I don't know `/townhall {word}`.\n\n" + HELP_TEXT

RECORDED_TEXT = "Recorded: **{verb}** by @{login}. {effect}"
