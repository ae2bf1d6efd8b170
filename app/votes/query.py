"""The sweep's GraphQL documents and the pure functions that read their answers.

One page of the issues query carries 100 open issues with their labels, their reaction counts
per content (`reactionGroups`) and the first page of their reactions (who, what, when). Only an
issue whose counted contents are not all in that first page needs a follow-up query; follow-ups
for many issues share one request through aliases.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.clock import parse_timestamp
from app.votes.ballots import Account, IssueSnapshot, Reaction

ISSUES_PER_PAGE = 100
# Reactions read inline with each issue. GitHub charges a nested connection by how many parents
# it has, not by its page size, so the largest page costs no more points than a small one.
INLINE_REACTIONS = 100
REACTIONS_PER_PAGE = 100
LABELS_PER_ISSUE = 30
# Aliased issues per follow-up request: 25 connections of 100 still cost GitHub's minimum point.
FOLLOW_UPS_PER_REQUEST = 25
ISSUES_PER_LOOKUP = 50

GRAPHQL_CONTENT = {
    "+1": "THUMBS_UP",
    "-1": "THUMBS_DOWN",
    "laugh": "LAUGH",
    "hooray": "HOORAY",
    "confused": "CONFUSED",
    "heart": "HEART",
    "rocket": "ROCKET",
    "eyes": "EYES",
}
REST_CONTENT = {value: key for key, value in GRAPHQL_CONTENT.items()}

_REACTION_FIELDS = """
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { content createdAt user { __typename login createdAt } }
"""

_ISSUE_FIELDS = f"""
fragment VoteIssue on Issue {{
  number title body createdAt updatedAt state
  author {{ __typename login }}
  labels(first: {LABELS_PER_ISSUE}) {{ nodes {{ name }} }}
  reactionGroups {{ content reactors(first: 0) {{ totalCount }} }}
  reactions(first: {INLINE_REACTIONS}) {{ {_REACTION_FIELDS} }}
}}
"""

OPEN_ISSUES_QUERY = (
    f"""
query VoteSweep($owner: String!, $name: String!, $cursor: String) {{
  rateLimit {{ cost remaining }}
  repository(owner: $owner, name: $name) {{
    issues(
      states: [OPEN], first: {ISSUES_PER_PAGE}, after: $cursor,
      orderBy: {{field: CREATED_AT, direction: ASC}}
    ) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ ...VoteIssue }}
    }}
  }}
}}
"""
    + _ISSUE_FIELDS
)


def issues_by_number_query(numbers: Collection[int]) -> str:
    """Return a query for the given issues, one alias each (for sweeps after webhooks)."""
    aliases = "\n".join(f"    i{n}: issue(number: {int(n)}) {{ ...VoteIssue }}" for n in numbers)
    return (
        "query VoteIssues($owner: String!, $name: String!) {\n"
        "  rateLimit { cost remaining }\n"
        "  repository(owner: $owner, name: $name) {\n"
        f"{aliases}\n"
        "  }\n"
        "}\n" + _ISSUE_FIELDS
    )


def more_reactions_query(numbers: Collection[int]) -> str:
    """Return a query for the next page of reactions of each issue, one cursor variable each."""
    cursors = ", ".join(f"$c{int(n)}: String" for n in numbers)
    aliases = "\n".join(
        f"    i{int(n)}: issue(number: {int(n)}) {{\n"
        f"      reactions(first: {REACTIONS_PER_PAGE}, after: $c{int(n)})"
        f" {{ {_REACTION_FIELDS} }}\n"
        "    }"
        for n in numbers
    )
    return (
        f"query VoteReactions($owner: String!, $name: String!, {cursors}) {{\n"
        "  rateLimit { cost remaining }\n"
        "  repository(owner: $owner, name: $name) {\n"
        f"{aliases}\n"
        "  }\n"
        "}\n"
    )


@dataclass
class IssueRead:
    """An issue being read: what has arrived so far, and where its reactions continue."""

    number: int
    title: str
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    labels: tuple[str, ...]
    counts: dict[str, int]
    reactions: list[Reaction]
    cursor: str | None
    has_more: bool

    def missing(self, contents: Collection[str]) -> bool:
        """Tell whether reactions of these contents are still unread (so a follow-up is due)."""
        if not self.has_more:
            return False
        seen: dict[str, int] = {}
        for reaction in self.reactions:
            seen[reaction.content] = seen.get(reaction.content, 0) + 1
        return any(seen.get(content, 0) < self.counts.get(content, 0) for content in contents)

    def snapshot(self) -> IssueSnapshot:
        """Freeze what was read into the rules' input."""
        return IssueSnapshot(
            number=self.number,
            title=self.title,
            body=self.body,
            author=self.author,
            created_at=self.created_at,
            updated_at=self.updated_at,
            labels=self.labels,
            counts=dict(self.counts),
            reactions=tuple(self.reactions),
        )


def _account(user: Mapping[str, Any] | None) -> Account:
    # GitHub types Reaction.user as User: bots, apps and deleted accounts arrive as null.
    if not user:
        return Account(login="", kind="Unknown")
    created = user.get("createdAt")
    return Account(
        login=str(user.get("login") or ""),
        kind=str(user.get("__typename") or "User"),
        created_at=parse_timestamp(created) if created else None,
    )


def read_reactions(connection: Mapping[str, Any]) -> tuple[list[Reaction], str | None, bool]:
    """Return (reactions, end cursor, has next page) from a reactions connection."""
    reactions = [
        Reaction(
            account=_account(node.get("user")),
            content=REST_CONTENT.get(node["content"], node["content"].lower()),
            reacted_at=parse_timestamp(node["createdAt"]),
        )
        for node in connection.get("nodes") or []
        if node
    ]
    info = connection.get("pageInfo") or {}
    return reactions, info.get("endCursor"), bool(info.get("hasNextPage"))


def read_issue(node: Mapping[str, Any]) -> IssueRead:
    """Return an IssueRead from one `VoteIssue` node."""
    reactions, cursor, has_more = read_reactions(node["reactions"])
    counts = {
        REST_CONTENT.get(group["content"], group["content"].lower()): int(
            group["reactors"]["totalCount"]
        )
        for group in node.get("reactionGroups") or []
    }
    labels = tuple(label["name"] for label in (node.get("labels") or {}).get("nodes") or [])
    author = node.get("author") or {}
    return IssueRead(
        number=int(node["number"]),
        title=node["title"],
        body=node.get("body") or "",
        author=str(author.get("login") or "ghost"),
        created_at=parse_timestamp(node["createdAt"]),
        updated_at=parse_timestamp(node["updatedAt"]),
        labels=labels,
        counts={content: count for content, count in counts.items() if count},
        reactions=reactions,
        cursor=cursor,
        has_more=has_more,
    )


def counted_contents(up: Iterable[str], down: Iterable[str], signals: Iterable[str]) -> set[str]:
    """Return the reaction contents whose reactors the rules need to know."""
    return {content for content in (*up, *down, *signals) if content}
