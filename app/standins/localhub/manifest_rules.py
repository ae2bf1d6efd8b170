"""Check a GitHub App manifest as GitHub's "create from manifest" page does (pure).

GitHub refuses a manifest that is not a JSON object, lacks a homepage `url`, has a hook
without a URL, names an unknown permission or level, or subscribes to an event that none of
its permissions grants. Every problem is listed at once, each naming the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Permission names and levels of GitHub's `app-permissions` schema (api.github.com 2022-11-28).
_READ_WRITE = ("read", "write")
PERMISSION_LEVELS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        [
            "actions",
            "administration",
            "artifact_metadata",
            "attestations",
            "checks",
            "code_quality",
            "codespaces",
            "contents",
            "custom_properties_for_organizations",
            "dependabot_secrets",
            "deployments",
            "discussions",
            "email_addresses",
            "environments",
            "followers",
            "git_ssh_keys",
            "gpg_keys",
            "interaction_limits",
            "issues",
            "members",
            "merge_queues",
            "metadata",
            "organization_administration",
            "organization_announcement_banners",
            "organization_copilot_agent_settings",
            "organization_copilot_seat_management",
            "organization_custom_org_roles",
            "organization_custom_roles",
            "organization_hooks",
            "organization_packages",
            "organization_personal_access_token_requests",
            "organization_personal_access_tokens",
            "organization_secrets",
            "organization_self_hosted_runners",
            "organization_user_blocking",
            "packages",
            "pages",
            "pull_requests",
            "repository_custom_properties",
            "repository_hooks",
            "secret_scanning_alerts",
            "secrets",
            "security_events",
            "single_file",
            "starring",
            "statuses",
            "vulnerability_alerts",
        ],
        _READ_WRITE,
    ),
    "enterprise_custom_properties_for_organizations": ("read", "write", "admin"),
    "organization_custom_properties": ("read", "write", "admin"),
    "organization_projects": ("read", "write", "admin"),
    "repository_projects": ("read", "write", "admin"),
    "organization_events": ("read",),
    "organization_plan": ("read",),
    "profile": ("write",),
    "workflows": ("write",),
}

# Which permissions let an App subscribe to an event (any one of them will do). Every App
# holds `metadata: read`, so the events it grants are always allowed.
EVENT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "check_run": ("checks",),
    "check_suite": ("checks",),
    "commit_comment": ("contents",),
    "create": ("contents",),
    "delete": ("contents",),
    "deployment": ("deployments",),
    "deployment_status": ("deployments",),
    "discussion": ("discussions",),
    "discussion_comment": ("discussions",),
    "gollum": ("contents",),
    "issue_comment": ("issues", "pull_requests"),
    "issues": ("issues",),
    "label": ("metadata",),
    "member": ("members",),
    "merge_group": ("merge_queues",),
    "milestone": ("issues", "pull_requests"),
    "public": ("metadata",),
    "pull_request": ("pull_requests",),
    "pull_request_review": ("pull_requests",),
    "pull_request_review_comment": ("pull_requests",),
    "pull_request_review_thread": ("pull_requests",),
    "push": ("contents",),
    "release": ("contents",),
    "repository": ("metadata",),
    "star": ("metadata",),
    "status": ("statuses",),
    "watch": ("metadata",),
    "workflow_dispatch": ("actions",),
    "workflow_job": ("actions",),
    "workflow_run": ("actions",),
}

MAX_NAME_LENGTH = 34  # GitHub: "Name is too long (maximum is 34 characters)"
MAX_CALLBACK_URLS = 10


@dataclass(frozen=True)
class Manifest:
    """A manifest that passed every check."""

    name: str
    url: str
    hook_url: str | None
    hook_active: bool
    redirect_url: str
    callback_urls: tuple[str, ...]
    description: str | None
    public: bool
    permissions: dict[str, str] = field(default_factory=dict)
    events: tuple[str, ...] = ()


class ManifestRejected(Exception):
    """The manifest breaks GitHub's rules; `problems` names every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"https?://[^\s/]+", value) is not None


def _permissions(raw: Any, problems: list[str]) -> dict[str, str]:
    if raw is None:
        return {"metadata": "read"}
    if not isinstance(raw, dict):
        problems.append("default_permissions must be an object of permission: level")
        return {}
    permissions = {"metadata": "read"}
    for name, level in raw.items():
        allowed = PERMISSION_LEVELS.get(str(name))
        if allowed is None:
            problems.append(f"default_permissions: unknown permission {name!r}")
        elif level not in allowed:
            problems.append(
                f"default_permissions.{name}: {level!r} is not one of {', '.join(allowed)}"
            )
        else:
            permissions[str(name)] = str(level)
    return permissions


def _events(raw: Any, permissions: dict[str, str], problems: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(e, str) for e in raw):
        problems.append("default_events must be a list of event names")
        return ()
    for event in raw:
        needs = EVENT_PERMISSIONS.get(event)
        if needs is None:
            problems.append(f"default_events: unsupported event {event!r}")
        elif not any(p in permissions for p in needs):
            problems.append(f"default_events: {event!r} needs the {' or '.join(needs)} permission")
    return tuple(dict.fromkeys(raw))


def _hook(raw: Any, problems: list[str]) -> tuple[str | None, bool]:
    if raw is None:
        return None, False
    if not isinstance(raw, dict):
        problems.append("hook_attributes must be an object with a url")
        return None, False
    active = raw.get("active", True)
    if not isinstance(active, bool):
        problems.append("hook_attributes.active must be true or false")
    if not _is_url(raw.get("url")):
        problems.append("hook_attributes.url is required and must be an http(s) URL")
        return None, False
    return str(raw["url"]), active is not False


def check_name(name: Any) -> list[str]:
    """Return why `name` cannot name a GitHub App (none when it can)."""
    if not isinstance(name, str) or not name.strip():
        return ["name can't be blank"]
    if len(name.strip()) > MAX_NAME_LENGTH:
        return [f"name is too long (maximum is {MAX_NAME_LENGTH} characters)"]
    if not slug_of(name):
        return ["name needs at least one letter or digit"]
    return []


def slug_of(name: str) -> str:
    """Return the App's URL name: lower case, runs of other characters become one dash."""
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")


def parse_manifest(text: str, name_override: str | None = None) -> Manifest:
    """Return the checked manifest in `text`, or raise ManifestRejected listing every problem."""
    try:
        raw: Any = json.loads(text)
    except ValueError:
        raise ManifestRejected(["the manifest is not valid JSON"]) from None
    if not isinstance(raw, dict):
        raise ManifestRejected(["the manifest must be a JSON object"])
    problems: list[str] = []
    name = name_override if name_override is not None else raw.get("name")
    problems += check_name(name)
    if not _is_url(raw.get("url")):
        problems.append("url (the App's homepage) is required and must be an http(s) URL")
    hook_url, hook_active = _hook(raw.get("hook_attributes"), problems)
    redirect_url = raw.get("redirect_url")
    if not _is_url(redirect_url):
        problems.append("redirect_url must be an http(s) URL (where the code is sent)")
    callbacks = raw.get("callback_urls") or []
    if not isinstance(callbacks, list) or not all(_is_url(u) for u in callbacks):
        problems.append("callback_urls must be a list of http(s) URLs")
        callbacks = []
    elif len(callbacks) > MAX_CALLBACK_URLS:
        problems.append(f"callback_urls: at most {MAX_CALLBACK_URLS}")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.append("description must be a string")
    public = raw.get("public", False)
    if not isinstance(public, bool):
        problems.append("public must be true or false")
    permissions = _permissions(raw.get("default_permissions"), problems)
    events = _events(raw.get("default_events"), permissions, problems)
    if problems:
        raise ManifestRejected(problems)
    return Manifest(
        name=str(name).strip(),
        url=str(raw["url"]),
        hook_url=hook_url,
        hook_active=hook_active,
        redirect_url=str(redirect_url),
        callback_urls=tuple(str(u) for u in callbacks),
        description=description,
        public=public,
        permissions=permissions,
        events=events,
    )
