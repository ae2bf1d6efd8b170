"""Say on GitHub whether a repository's `.townhall.toml` is usable: a commit status on its head.

A repository whose policy is invalid is left alone by every tick; without a sign on GitHub its
maintainers only see issues that stay pending. The status "townhall/policy" on the default
branch's head names the bad key and why (or says the file is valid again), and links to the
dashboard when Townhall knows its public URL. It is posted only when what it says changes, so
a broken policy costs one status, not one per tick; the commit that broke (or fixed) the file
is usually the head it lands on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Literal

from githubkit.exception import RateLimitExceeded, RequestError, RequestFailed
from githubkit.utils import UNSET

from app.clock import Clock
from app.github.client import Client
from app.policy import POLICY_FILE, PolicyError
from app.store import Store
from app.store.repos import (
    POLICY_STATUS_EVENT,
    ActiveRepo,
    PolicyStatusNote,
    last_policy_status,
)
from app.store.tasks import record_event

log = logging.getLogger("townhall.ceo")

CONTEXT = "townhall/policy"
MAX_DESCRIPTION = 140  # GitHub's limit for a status description
# A status GitHub refused (the installation has not accepted the `statuses` permission yet) is
# tried again after this long, not every tick.
RETRY_REFUSED = timedelta(hours=24)


@dataclass(frozen=True)
class PolicyStatus:
    """What the status says: GitHub's state and a one-line description."""

    state: Literal["failure", "success"]
    description: str

    @property
    def key(self) -> str:
        """What is compared with the last status posted (the head it went to does not count)."""
        return f"{self.state}: {self.description}"


def policy_status(error: PolicyError | str | None) -> PolicyStatus:
    """Build the status for a policy error (None: the file is valid or absent)."""
    if error is None:
        return PolicyStatus("success", f"{POLICY_FILE} is valid")
    problems = error.problems if isinstance(error, PolicyError) else [error]
    first = problems[0] if problems else "invalid"
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return PolicyStatus("failure", shorten(f"{POLICY_FILE} invalid: {first}", more))


def shorten(text: str, tail: str = "") -> str:
    """`text` + `tail` within GitHub's 140 characters, cutting `text` with an ellipsis."""
    room = MAX_DESCRIPTION - len(tail)
    if len(text) > room:
        text = text[: room - 1].rstrip() + "…"
    return text + tail


def dashboard_link(public_url: str | None, repo_id: int) -> str | None:
    """The dashboard's row for the repository, when Townhall knows its public URL."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/#repo-{repo_id}"


def due(last: PolicyStatusNote | None, status: PolicyStatus, now_age: timedelta | None) -> bool:
    """Tell whether to post `status`, given the last note and how old it is."""
    if last is None or last.key != status.key:
        return True
    return last.refused and now_age is not None and now_age >= RETRY_REFUSED


async def report_policy(
    github_client: Client,
    store: Store,
    repo: ActiveRepo,
    error_or_none: PolicyError | str | None,
    *,
    clock: Clock,
    public_url: str | None = None,
) -> bool:
    """Post the policy's status on the default branch's head if it changed; True if posted.

    Never raises for GitHub's sake: a policy status is a courtesy, and the tick goes on.
    """
    status = policy_status(error_or_none)
    last = await last_policy_status(store, repo.id)
    age = None if last is None else clock.now() - last.at
    if not due(last, status, age):
        return False
    owner, name = repo.full_name.split("/", 1)
    try:
        sha = await _head(github_client, owner, name, repo.default_branch)
        if sha is None:
            return False  # an empty repository: nothing to put a status on yet
        link = dashboard_link(public_url, repo.id)
        await github_client.rest.repos.async_create_commit_status(
            owner,
            name,
            sha,
            state=status.state,
            context=CONTEXT,
            description=status.description,
            target_url=UNSET if link is None else link,
        )
    except RequestFailed as error:
        code = error.response.status_code
        if isinstance(error, RateLimitExceeded) or code not in (403, 404, 422):
            log.warning("policy status of %s not posted: %s", repo.full_name, error)
            return False
        # Refused for good (no `statuses` permission, say): note it, so the next tick does
        # not ask again; it is retried after RETRY_REFUSED.
        log.warning("GitHub refused the policy status of %s (%s)", repo.full_name, code)
        await _note(store, clock, repo.id, f"refused ({code}) {status.key}")
        return False
    except RequestError as error:  # GitHub out of reach: the next tick tries again
        log.warning("policy status of %s not posted: %s", repo.full_name, error)
        return False
    await _note(store, clock, repo.id, status.key)
    return True


async def _head(client: Client, owner: str, name: str, branch: str) -> str | None:
    """The default branch's head commit, or None when the branch does not exist yet."""
    ref = f"heads/{branch}"
    refs = await client.rest.git.async_list_matching_refs(owner, name, ref)
    for found in refs.parsed_data:
        if found.ref == f"refs/{ref}":
            return found.object_.sha
    return None


async def _note(store: Store, clock: Clock, repo_id: int, reason: str) -> None:
    await store.run(
        partial(
            record_event,
            clock=clock,
            actor="ceo",
            kind=POLICY_STATUS_EVENT,
            repo_id=repo_id,
            reason=reason,
        )
    )
