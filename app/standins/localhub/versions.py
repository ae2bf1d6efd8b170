"""REST API versions: which one a request asked for, and that version's shapes.

GitHub picks the version from `X-GitHub-Api-Version` (2022-11-28 when absent), answers 400 to
one it does not know, and names the one it served in `X-GitHub-Api-Version-Selected`. Bodies
are rendered in 2022-11-28's shapes; 2026-03-10 removed a few fields, dropped here.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError

DEFAULT_VERSION = "2022-11-28"
SUPPORTED_VERSIONS = ("2022-11-28", "2026-03-10")
VERSION_HEADER = "x-github-api-version"
SELECTED_HEADER = "x-github-api-version-selected"

# Fields 2026-03-10 no longer sends, by the kind of object that carried them.
_REMOVED_IN_2026 = {
    "pull request": ("merge_commit_sha", "assignee"),
    "repository": ("has_downloads",),
}


def select_version(requested: str | None) -> str:
    """Return the version to answer with; raise GitHub's 400 for an unknown one."""
    if requested is None or not requested.strip():
        return DEFAULT_VERSION
    version = requested.strip()
    if version not in SUPPORTED_VERSIONS:
        raise ApiError(
            400,
            f"The '{version}' API version is not supported. "
            f"Supported versions: {', '.join(SUPPORTED_VERSIONS)}.",
        )
    return version


def _kind(item: dict[str, Any]) -> str | None:
    if "head" in item and "base" in item and "diff_url" in item:
        return "pull request"
    if "full_name" in item and "default_branch" in item:
        return "repository"
    return None


def reshape(data: Any, version: str) -> Any:
    """Return `data` (a 2022-11-28 body) as `version` shapes it."""
    if version == DEFAULT_VERSION:
        return data
    if isinstance(data, list):
        return [reshape(item, version) for item in data]
    if not isinstance(data, dict):
        return data
    removed = _REMOVED_IN_2026.get(_kind(data) or "", ())
    return {key: reshape(value, version) for key, value in data.items() if key not in removed}
