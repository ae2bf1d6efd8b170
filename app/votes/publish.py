"""Show a decision on the issue: one tally comment edited in place, and the state labels."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from githubkit.exception import RequestFailed

from app.github.client import Client
from app.votes.fetch import Meter
from app.votes.tally import OWN_LABELS, is_tally

COMMENTS_PER_PAGE = 100


class Publisher:
    """Write tally comments and labels on one repository's issues, counting every request."""

    def __init__(self, client: Client, owner: str, name: str, app_login: str, meter: Meter):
        self._client = client
        self._owner = owner
        self._name = name
        self._app_login = app_login.lower()
        self._meter = meter

    def _is_ours(self, login: str, kind: str) -> bool:
        # Only the App's own comment may be edited: anyone can paste the marker into theirs.
        if self._app_login:
            return login.lower() == self._app_login
        return kind == "Bot"

    async def find_tally(self, number: int) -> int | None:
        """Return the id of Townhall's tally comment on the issue, if one exists."""
        page = 1
        while True:
            self._meter.rest_reads += 1
            response = await self._client.rest.issues.async_list_comments(
                self._owner, self._name, number, per_page=COMMENTS_PER_PAGE, page=page
            )
            comments: list[dict[str, Any]] = response.json()
            for comment in comments:
                user = comment.get("user") or {}
                ours = self._is_ours(str(user.get("login", "")), str(user.get("type", "")))
                if ours and is_tally(comment.get("body") or ""):
                    return int(comment["id"])
            if len(comments) < COMMENTS_PER_PAGE:
                return None
            page += 1

    async def tally(self, number: int, body: str, known_id: int | None) -> int:
        """Edit the tally comment in place (finding it first if needed) or create it."""
        comment_id = known_id if known_id is not None else await self.find_tally(number)
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
        self._meter.rest_writes += 1
        response = await self._client.rest.issues.async_create_comment(
            self._owner, self._name, number, data={"body": body}
        )
        return response.parsed_data.id

    async def labels(self, number: int, present: Collection[str], wanted: Collection[str]) -> None:
        """Add the wanted Townhall labels and remove Townhall's others; leave other labels be."""
        have = {label for label in present if label in OWN_LABELS}
        missing = sorted(set(wanted) - have)
        if missing:
            self._meter.rest_writes += 1
            await self._client.rest.issues.async_add_labels(
                self._owner, self._name, number, data={"labels": missing}
            )
        for label in sorted(have - set(wanted)):
            self._meter.rest_writes += 1
            try:
                await self._client.rest.issues.async_remove_label(
                    self._owner, self._name, number, label
                )
            except RequestFailed as error:
                if error.response.status_code != 404:  # already gone: that is what we wanted
                    raise
