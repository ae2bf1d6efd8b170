"""Read open issues and their reactions through GitHub's GraphQL API, counting what it costs."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from githubkit.exception import GraphQLFailed
from githubkit.graphql import GraphQLResponse

from app.github.client import Client
from app.votes import query
from app.votes.query import IssueRead

T = TypeVar("T")


@dataclass
class Meter:
    """What a sweep asked of GitHub: requests by kind and GraphQL points."""

    graphql_requests: int = 0
    graphql_cost: int = 0
    rest_reads: int = 0
    rest_writes: int = 0
    follow_ups: int = 0
    not_found: list[int] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Return every request made."""
        return self.graphql_requests + self.rest_reads + self.rest_writes


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class VoteReader:
    """Run the sweep's GraphQL queries for one repository."""

    def __init__(self, client: Client, owner: str, name: str, meter: Meter) -> None:
        self._client = client
        self._owner = owner
        self._name = name
        self.meter = meter

    async def _run(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Post one query; tolerate NOT_FOUND for single issues, raise on any other error."""
        response = await self._client.arequest(
            "POST",
            "/graphql",
            json={
                "query": document,
                "variables": {"owner": self._owner, "name": self._name, **variables},
            },
            response_model=GraphQLResponse,
        )
        self.meter.graphql_requests += 1
        parsed = response.parsed_data
        errors = parsed.errors or []
        if any(error.type != "NOT_FOUND" for error in errors) or parsed.data is None:
            # githubkit's own check raises the right error (rate limit, or GraphQLFailed).
            self._client.graphql.parse_graphql_response(response)
            raise GraphQLFailed(parsed)
        for error in errors:
            alias = str((error.path or [""])[-1])
            if alias.startswith("i") and alias[1:].isdigit():
                self.meter.not_found.append(int(alias[1:]))
        data: dict[str, Any] = parsed.data
        self.meter.graphql_cost += int((data.get("rateLimit") or {}).get("cost") or 0)
        return data

    async def open_issues(self) -> list[IssueRead]:
        """Read every open issue, 100 a page, with the first page of its reactions."""
        found: list[IssueRead] = []
        cursor: str | None = None
        while True:
            data = await self._run(query.OPEN_ISSUES_QUERY, {"cursor": cursor})
            repository = data.get("repository") or {}
            connection = repository["issues"]
            found += [query.read_issue(node) for node in connection["nodes"] or [] if node]
            info = connection["pageInfo"]
            if not info["hasNextPage"]:
                return found
            cursor = info["endCursor"]

    async def issues(self, numbers: Collection[int]) -> list[IssueRead]:
        """Read the given issues (those still open), aliased many to a request."""
        found: list[IssueRead] = []
        for batch in chunks(sorted(set(numbers)), query.ISSUES_PER_LOOKUP):
            data = await self._run(query.issues_by_number_query(batch), {})
            repository = data.get("repository") or {}
            for number in batch:
                node = repository.get(f"i{number}")
                if node and node.get("state") == "OPEN":
                    found.append(query.read_issue(node))
        return found

    async def complete(self, reads: Sequence[IssueRead], contents: Collection[str]) -> None:
        """Page each issue's reactions to the end when counted contents are still unread."""
        pending = [read for read in reads if read.missing(contents)]
        while pending:
            for batch in chunks(pending, query.FOLLOW_UPS_PER_REQUEST):
                numbers = [read.number for read in batch]
                cursors = {f"c{read.number}": read.cursor for read in batch}
                data = await self._run(query.more_reactions_query(numbers), cursors)
                self.meter.follow_ups += 1
                repository = data.get("repository") or {}
                for read in batch:
                    node = repository.get(f"i{read.number}")
                    if not node:
                        read.has_more = False
                        continue
                    reactions, cursor, has_more = query.read_reactions(node["reactions"])
                    read.reactions += reactions
                    read.cursor, read.has_more = cursor, has_more
            pending = [read for read in pending if read.missing(contents)]
