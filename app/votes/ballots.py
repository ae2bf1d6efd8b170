"""Plain data the vote rules read and write; no I/O, no behaviour beyond small helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# Where an issue stands in the vote (the `issues.decision` column, the tally's status).
VoteStatus = Literal["pending", "approved", "rejected", "held"]
Verdict = Literal["approve", "reject"]
Direction = Literal["for", "against", "both"]

# Permissions that make someone a maintainer (GitHub's collaborator permission names).
MAINTAINER_PERMISSIONS = frozenset({"admin", "maintain", "write"})


@dataclass(frozen=True)
class Account:
    """Who reacted: login, GitHub account type (User, Bot, ...) and creation time if known."""

    login: str
    kind: str = "User"
    created_at: datetime | None = None

    @property
    def key(self) -> str:
        """Return the login as GitHub compares it (case-insensitively)."""
        return self.login.lower()

    @property
    def is_bot(self) -> bool:
        """Tell whether the account is a bot or an app."""
        return self.kind == "Bot" or self.login.lower().endswith("[bot]")


@dataclass(frozen=True)
class Reaction:
    """One reaction on an issue: who, which content (REST names: "+1", "rocket"), and when."""

    account: Account
    content: str
    reacted_at: datetime


@dataclass(frozen=True)
class IssueSnapshot:
    """An open issue as one sweep saw it."""

    number: int
    title: str
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    labels: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    reactions: tuple[Reaction, ...] = ()


@dataclass(frozen=True)
class MaintainerAct:
    """A maintainer's approve or reject, from a command, a label or a reaction."""

    login: str
    verdict: Verdict
    source: str
    at: datetime


@dataclass(frozen=True)
class Standing:
    """What the store remembers about an issue from before this sweep."""

    decision: VoteStatus = "pending"
    approved_body_hash: str | None = None
    held_since: datetime | None = None


@dataclass(frozen=True)
class VoterFacts:
    """What the API told us about voters: permissions (by lower-case login) and contributors."""

    app_login: str = ""
    permissions: Mapping[str, str] = field(default_factory=dict)
    contributors: frozenset[str] = frozenset()

    def is_maintainer(self, login: str) -> bool:
        """Tell whether `login` has write access, as far as we looked it up."""
        return self.permissions.get(login.lower(), "") in MAINTAINER_PERMISSIONS


@dataclass(frozen=True)
class VoteLine:
    """How one person's vote was treated: counted with a weight, or excluded and why."""

    login: str
    contents: tuple[str, ...]
    direction: Direction
    counted: bool
    weight: float
    value: float
    reason: str
    reacted_at: datetime


@dataclass(frozen=True)
class SignalLine:
    """How one maintainer signal (approve/veto by command, label or reaction) was treated."""

    login: str
    verdict: Verdict
    source: str
    at: datetime
    effective: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    """The rules' answer for one issue, with everything needed to explain it."""

    number: int
    outcome: VoteStatus
    reasons: tuple[str, ...]
    score: float
    threshold: float
    window_ends: datetime
    body_hash: str
    approved_body_hash: str | None
    held_since: datetime | None
    votes: tuple[VoteLine, ...]
    signals: tuple[SignalLine, ...]

    @property
    def counted(self) -> tuple[VoteLine, ...]:
        """Return the votes that counted."""
        return tuple(line for line in self.votes if line.counted)

    @property
    def excluded(self) -> tuple[VoteLine, ...]:
        """Return the votes that did not count."""
        return tuple(line for line in self.votes if not line.counted)

    @property
    def has_activity(self) -> bool:
        """Tell whether anyone voted or signalled, or the issue left `pending`."""
        return bool(self.votes or self.signals) or self.outcome != "pending"
