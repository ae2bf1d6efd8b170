"""Maintainer commands in issue comments: `/townhall approve|reject|retry|status|help`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.untrusted import code_span


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

# Replies to one person without write access per hour; past it their commands go unanswered,
# so nobody can make Townhall fill issues (and everyone's notifications) with its replies.
REPLIES_PER_HOUR = 5
# How much of a typed word a reply repeats.
MAX_ECHOED = 40

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
    "Sorry @{login}, {command} needs write access to this repository. "
    "You can still vote with 👍 or 👎 on the issue."
)

UNKNOWN_TEXT = "I don't know {command}.\n\n" + HELP_TEXT

RECORDED_TEXT = "Recorded: **{verb}** by @{login}. {effect}"

# Every reply starts with this marker naming the command's comment: after a crash between
# posting a reply and recording it, the retry finds the reply instead of posting it again.
REPLY_MARKER = "<!-- townhall:reply:{comment_id} -->"


def echoed(command: Command) -> str:
    """Return the command as typed, shortened, as an inline code span nothing in it can end.

    The word is the commenter's: with backticks of its own it could close a plain span and
    turn the rest into live @mentions, links or markup in Townhall's name.
    """
    text = f"/townhall {command.word}"
    if len(text) > MAX_ECHOED:
        text = text[: MAX_ECHOED - 1] + "…"
    return code_span(text)
