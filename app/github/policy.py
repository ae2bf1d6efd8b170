"""Read a repository's `.townhall.toml`: from a checkout, or from the default branch via the API."""

from __future__ import annotations

import base64
from pathlib import Path

from githubkit.exception import RequestFailed

from app.github.client import Client
from app.pathrules import PathError, read_tree_file
from app.policy import POLICY_FILE, Policy, PolicyError, parse_policy

# A policy is a few hundred bytes; anything near this is not one.
MAX_POLICY_BYTES = 1_000_000


def policy_from_tree(tree: Path) -> Policy:
    """Parse the checkout's policy file; a repository without one gets the defaults.

    The file is read without following links: a committed symlink is refused, not read.
    """
    try:
        data = read_tree_file(tree, POLICY_FILE, MAX_POLICY_BYTES)
    except PathError as error:
        raise PolicyError([str(error)]) from error
    if data is None:
        return Policy()
    return parse_policy(_text(data))


async def policy_from_github(client: Client, owner: str, repo: str, ref: str) -> Policy:
    """Fetch and parse the policy file at `ref`; raise PolicyError when it is invalid."""
    try:
        response = await client.rest.repos.async_get_content(owner, repo, POLICY_FILE, ref=ref)
    except RequestFailed as error:
        if error.response.status_code == 404:
            return Policy()
        raise
    kind = getattr(response.parsed_data, "type", "file")
    if kind != "file":  # a symlink (or a directory) is refused as it is from a checkout
        raise PolicyError([f"{POLICY_FILE} is a {kind}, not a file; it is not read"])
    content = getattr(response.parsed_data, "content", None)
    if not isinstance(content, str):
        return Policy()
    return parse_policy(_text(base64.b64decode(content)))


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError([f"{POLICY_FILE} is not UTF-8 text ({error})"]) from error
