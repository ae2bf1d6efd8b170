"""Townhall's own marker comments: found by author and marker, edited in place or posted once.

Every comment Townhall keeps up to date (the tally, the queue status, a needs-human notice)
starts with a hidden marker so a later tick finds it again. Anyone can paste a marker into
their own comment, so a comment counts as Townhall's only when the App wrote it: a user's copy
is never edited and never stands in for a notice Townhall still has to post.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from githubkit.exception import RequestFailed

from app.github.client import Client

COMMENTS_PER_PAGE = 100


class RequestMeter(Protocol):
    """Counts the REST requests made (a vote sweep reports them)."""

    rest_reads: int
    rest_writes: int


@dataclass
class _Uncounted:
    rest_reads: int = 0
    rest_writes: int = 0


class BotComments:
    """Townhall's marker comments on one repository's issues, written as the App."""

    def __init__(
        self,
        client: Client,
        owner: str,
        name: str,
        app_login: str,
        meter: RequestMeter | None = None,
    ) -> None:
        self._client = client
        self._owner = owner
        self._name = name
        self._app_login = app_login.lower()
        self._meter: RequestMeter = meter if meter is not None else _Uncounted()

    def _is_ours(self, comment: dict[str, Any]) -> bool:
        user = comment.get("user") or {}
        if self._app_login:
            return str(user.get("login", "")).lower() == self._app_login
        # Without the App's login only its kind is known: a bot, never a person.
        return str(user.get("type", "")) == "Bot"

    async def find(self, number: int, marker: str) -> int | None:
        """Return the id of Townhall's comment on issue `number` that starts with `marker`."""
        page = 1
        while True:
            self._meter.rest_reads += 1
            response = await self._client.rest.issues.async_list_comments(
                self._owner, self._name, number, per_page=COMMENTS_PER_PAGE, page=page
            )
            comments: list[dict[str, Any]] = response.json()
            for comment in comments:
                body = str(comment.get("body") or "")
                if self._is_ours(comment) and body.lstrip().startswith(marker):
                    return int(comment["id"])
            if len(comments) < COMMENTS_PER_PAGE:
                return None
            page += 1

    async def upsert(self, number: int, marker: str, body: str, known_id: int | None = None) -> int:
        """Edit Townhall's `marker` comment in place (finding it unless known) or post it."""
        _check_marked(marker, body)
        comment_id = known_id if known_id is not None else await self.find(number, marker)
        if comment_id is not None:
            self._meter.rest_writes += 1
            try:
                await self._client.rest.issues.async_update_comment(
                    self._owner, self._name, comment_id, data={"body": body}
                )
                return comment_id
            except RequestFailed as error:
                if error.response.status_code != 404:
                    raise
                # Someone deleted it: post a fresh one below.
        return await self._post(number, body)

    async def post_once(self, number: int, marker: str, body: str) -> int:
        """Post Townhall's `marker` comment unless it is already there; return its id."""
        _check_marked(marker, body)
        found = await self.find(number, marker)
        return found if found is not None else await self._post(number, body)

    async def _post(self, number: int, body: str) -> int:
        self._meter.rest_writes += 1
        response = await self._client.rest.issues.async_create_comment(
            self._owner, self._name, number, data={"body": body}
        )
        return response.parsed_data.id


def _check_marked(marker: str, body: str) -> None:
    # A body without its marker at the start could never be found again: it would be re-posted.
    if not body.lstrip().startswith(marker):
        raise ValueError(f"a Townhall comment must start with its marker {marker!r}")
