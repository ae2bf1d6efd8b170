"""Read a repository's `.townhall.toml`: from a checkout, or from the default branch via the API."""

from __future__ import annotations

import base64
from pathlib import Path

from githubkit.exception import RequestFailed

from app.github.client import Client
from app.policy import POLICY_FILE, Policy, parse_policy


def policy_from_tree(tree: Path) -> Policy:
    """Parse the checkout's policy file; a repository without one gets the defaults."""
    path = tree / POLICY_FILE
    if not path.is_file():
        return Policy()
    return parse_policy(path.read_text(encoding="utf-8"))


async def policy_from_github(client: Client, owner: str, repo: str, ref: str) -> Policy:
    """Fetch and parse the policy file at `ref`; raise PolicyError when it is invalid."""
    try:
        response = await client.rest.repos.async_get_content(owner, repo, POLICY_FILE, ref=ref)
    except RequestFailed as error:
        if error.response.status_code == 404:
            return Policy()
        raise
    content = getattr(response.parsed_data, "content", None)
    if not isinstance(content, str):
        return Policy()
    return parse_policy(base64.b64decode(content).decode("utf-8"))
