"""The live text of an issue, hashed as the vote sweep hashes it (app.store.issues.body_hash).

The worker before publishing and the reviewer before merging compare it with the text the task
was approved with, so an edit that no sweep or webhook has recorded yet still holds the work.
"""

from __future__ import annotations

from app.github.client import Client
from app.store.issues import body_hash


async def live_issue_hash(client: Client, owner: str, repo: str, number: int) -> str:
    """Return the hash of the issue's title and body as GitHub has them now."""
    # The raw JSON, not githubkit's model: only two fields are needed, and building the Issue
    # model the first time blocks the event loop long enough to starve lease renewals.
    issue = (await client.rest.issues.async_get(owner, repo, number)).json()
    title, body = issue.get("title"), issue.get("body")
    return body_hash(str(title or ""), body if isinstance(body, str) else "")
