"""The GitHub App manifest: create the App in one step with the minimal permissions."""

from __future__ import annotations

from typing import Any

PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "checks": "read",
    "statuses": "read",
    "metadata": "read",
}

EVENTS = [
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_suite",
    "check_run",
]


def app_manifest(name: str, public_url: str) -> dict[str, Any]:
    """Return the manifest GitHub's "create from manifest" flow accepts."""
    base = public_url.rstrip("/")
    return {
        "name": name,
        "url": base,
        "hook_attributes": {"url": f"{base}/webhook", "active": True},
        "redirect_url": base,
        # Dashboard sign-in (the App's user authorization) comes back here.
        "callback_urls": [f"{base}/oauth/callback"],
        "description": "Townhall: the repository evolves by its users' votes.",
        "public": False,
        "default_permissions": dict(PERMISSIONS),
        "default_events": list(EVENTS),
    }
