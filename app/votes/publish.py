"""Show a decision on the issue: one tally comment edited in place, and the state labels."""

from __future__ import annotations

from collections.abc import Collection

from githubkit.exception import RequestFailed

from app.github.bot_comments import BotComments
from app.github.client import Client
from app.votes.fetch import Meter
from app.votes.tally import OWN_LABELS
from app.votes.texts import TALLY_MARKER


class Publisher:
    """Write tally comments and labels on one repository's issues, counting every request."""

    def __init__(self, client: Client, owner: str, name: str, app_login: str, meter: Meter):
        self._client = client
        self._owner = owner
        self._name = name
        self._meter = meter
        self._comments = BotComments(client, owner, name, app_login, meter)

    async def tally(self, number: int, body: str, known_id: int | None) -> int:
        """Edit the tally comment in place (finding it first if needed) or create it."""
        return await self._comments.upsert(number, TALLY_MARKER, body, known_id)

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
