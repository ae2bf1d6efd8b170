"""Catch-up: read back what webhooks may have missed since the repository was last caught up.

GitHub never redelivers a webhook that failed, so a `/townhall reject` or a veto label made
while Townhall was down would otherwise never be seen. Each tick lists the repository's issue
comments created since its mark (`issues/comments?since=`) and its issue events (`labeled`,
`unlabeled`; newest first, read back to the mark), and hands them to the same code the webhook
handlers run. Both paths are idempotent: a command is claimed by its comment id, a label change
is compared with the decision that stands, so whichever path sees a change first acts on it.
The mark moves only after a complete pass, to when that pass started, and each pass reads a
little further back than the mark (GitHub's clock and ours differ, listings lag a little).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from app.ceo.deps import TickDeps
from app.clock import format_timestamp, parse_timestamp
from app.github.client import Client
from app.handlers.comments import IssueComment, answer_comment
from app.store.catch_up import caught_up_to_tx, set_caught_up_tx
from app.store.handled_comments import finished_comment_ids_tx
from app.store.repos import ActiveRepo
from app.votes.webhooks import OVERRIDE_LABELS, LabelChange, record_label_change_tx
from app.webhooks.handler_context import HandlerContext, is_bot
from app.webhooks.permissions import PermissionCache, api_lookup
from app.webhooks.processor import ShortFieldsAdapter

log = logging.getLogger("townhall.ceo.catch_up")

# How much further back than the mark each pass reads; what it sees twice changes nothing.
OVERLAP = timedelta(minutes=5)
# The comment listing asks from the start of this span, not from the exact moment: the same URL
# tick after tick lets GitHub answer an idle repository 304 Not Modified, which costs no rate
# limit. What the wider listing adds is filtered out by creation time; a repository with more
# than a hundred comments an hour pays a page more per hundred.
QUERY_GRAIN_S = 3600
PER_PAGE = 100
_LABEL_EVENTS = {"labeled": True, "unlabeled": False}

Page = Callable[[int], Awaitable[list[dict[str, Any]]]]


class _QueryTime(datetime):
    """A time that goes into a query string the way GitHub writes times.

    githubkit hands query values to httpx, which writes them with `str()`: for a datetime
    that is "2026-12-02 10:53:08.155069+00:00", not the ISO 8601 `since` GitHub describes.
    """

    def __str__(self) -> str:
        return format_timestamp(self)

    @classmethod
    def of(cls, moment: datetime) -> _QueryTime:
        """Return `moment` as a _QueryTime."""
        return cls.fromtimestamp(moment.timestamp(), UTC)


def grained(moment: datetime) -> datetime:
    """`moment` rounded down to a multiple of QUERY_GRAIN_S (UTC)."""
    seconds = int(moment.timestamp()) // QUERY_GRAIN_S * QUERY_GRAIN_S
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class CaughtUp:
    """What one repository's catch-up read and handed on."""

    comments: int = 0
    label_changes: int = 0


async def catch_up(deps: TickDeps, client: Client, repo: ActiveRepo) -> CaughtUp:
    """Apply the commands and veto/approve labels made since the repository's mark."""
    started = deps.clock.now()
    mark = await deps.store.run(lambda tx: caught_up_to_tx(tx, repo.id))
    if mark is None:
        # The first pass only sets the mark: before it, webhooks were all Townhall had, and
        # replaying older history would act on label changes long since undone.
        await deps.store.run(lambda tx: set_caught_up_tx(tx, deps.clock, repo.id, started))
        return CaughtUp()
    since = mark - OVERLAP
    owner, name = repo.full_name.split("/", 1)
    context = HandlerContext(
        store=deps.store,
        clock=deps.clock,
        github=deps.github,
        permissions=PermissionCache(deps.clock),
        delivery_id=f"catch-up:{repo.full_name}",
        installation_id=repo.installation_id,
        log=ShortFieldsAdapter(log, {"delivery": f"catch-up:{repo.full_name}"}),
    )
    comments = await _comments(context, client, repo, owner, name, since)
    labels = await _labels(context, client, repo, owner, name, since)
    await deps.store.run(lambda tx: set_caught_up_tx(tx, deps.clock, repo.id, started))
    return CaughtUp(comments, labels)


async def _pages(page: Page) -> AsyncIterator[list[dict[str, Any]]]:
    number = 1
    while True:
        items = await page(number)
        if items:
            yield items
        if len(items) < PER_PAGE:
            return
        number += 1


async def _comments(
    context: HandlerContext,
    client: Client,
    repo: ActiveRepo,
    owner: str,
    name: str,
    since: datetime,
) -> int:
    """Answer the commands in comments created since `since` that are not answered yet."""

    asked = _QueryTime.of(grained(since))

    async def page(number: int) -> list[dict[str, Any]]:
        response = await client.rest.issues.async_list_comments_for_repo(
            owner, name, sort="created", direction="asc", since=asked,
            per_page=PER_PAGE, page=number,
        )  # fmt: skip
        found: list[dict[str, Any]] = response.json()
        return found

    handed = 0
    async for items in _pages(page):
        # GitHub's `since` filters by last update, and the query reaches back to the grain:
        # only comments created since the mark (less the overlap) are read as commands.
        fresh = [c for c in items if parse_timestamp(c["created_at"]) >= since]
        fresh = [c for c in fresh if not is_bot(c.get("user")) and "/townhall" in (c["body"] or "")]
        ids = [int(c["id"]) for c in fresh]
        done = await context.store.run(partial(finished_comment_ids_tx, comment_ids=ids))
        for comment in fresh:
            if int(comment["id"]) in done:
                continue
            number = int(str(comment["issue_url"]).rstrip("/").rsplit("/", 1)[1])
            seen = IssueComment.from_github(owner, name, number, comment)
            await answer_comment(context, seen, lambda _tx: repo.id)
            handed += 1
    return handed


async def _labels(
    context: HandlerContext,
    client: Client,
    repo: ActiveRepo,
    owner: str,
    name: str,
    since: datetime,
) -> int:
    """Bring each approve/veto label a maintainer last changed since `since` to its end state.

    Only the last change per issue and label counts, as a sequence of webhooks would leave it:
    a veto added and removed while Townhall was down never stood.
    """

    async def page(number: int) -> list[dict[str, Any]]:
        response = await client.rest.issues.async_list_events_for_repo(
            owner, name, per_page=PER_PAGE, page=number
        )
        found: list[dict[str, Any]] = response.json()
        return found

    events: list[dict[str, Any]] = []
    async for items in _pages(page):  # newest first: stop at the first page reaching back
        events += [e for e in items if parse_timestamp(e["created_at"]) >= since]
        if any(parse_timestamp(e["created_at"]) < since for e in items):
            break
    last: dict[tuple[int, str], dict[str, Any]] = {}
    lookup = api_lookup(client)
    for event in sorted(events, key=lambda e: (e["created_at"], e["id"])):
        label = (event.get("label") or {}).get("name")
        issue = event.get("issue") or {}
        if event.get("event") not in _LABEL_EVENTS or label not in OVERRIDE_LABELS:
            continue
        actor = event.get("actor")
        if is_bot(actor) or "number" not in issue or "pull_request" in issue:
            continue  # Townhall syncs these labels itself; only people decide, on issues
        login = str(actor["login"]) if actor else ""
        if await context.permissions.is_maintainer(owner, name, login, lookup):
            last[(int(issue["number"]), str(label))] = event
    changed = 0
    for (number, label), event in last.items():
        change = LabelChange(
            issue_number=number,
            login=str(event["actor"]["login"]),
            label=label,
            added=_LABEL_EVENTS[event["event"]],
            made_at=parse_timestamp(event["created_at"]),
        )
        record = partial(
            record_label_change_tx, clock=context.clock, repo_id=repo.id, change=change
        )
        if await context.store.run(record):
            changed += 1
    return changed
