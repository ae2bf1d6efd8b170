"""The GitHub App manifest, and the last step of GitHub's manifest flow.

The flow (docs.github.com, "Registering a GitHub App from a manifest"): a browser POSTs the
manifest to `/settings/apps/new?state=…` (or `/organizations/ORG/settings/apps/new`), GitHub
creates the App and sends the browser to `redirect_url?code=…&state=…`, and within an hour
`POST /app-manifests/{code}/conversions` (no authentication) returns the App's id, private
key, webhook secret and OAuth client. Building the manifest is pure; the exchange is one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from githubkit.exception import GitHubException, RequestFailed
from pydantic import ValidationError

from app.github.client import USER_AGENT, Client

PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "checks": "read",
    "statuses": "write",
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

WEBHOOK_PATH = "/webhook"
# The dashboard's sign-in callback (app/dashboard/signin.py CALLBACK_PATH; that package sits
# above this one, so the path is repeated here rather than imported).
SIGN_IN_CALLBACK_PATH = "/oauth/callback"
# GitHub wants a hook URL even for an inactive hook. Before the deployment's address is known
# the App is created with its webhook off and this address, which says what it is; the deploy
# guide says where to put the real one.
WEBHOOK_URL_NOT_SET = "https://example.com/townhall-webhook-url-not-set-yet"
DESCRIPTION = "Townhall: the repository evolves by its users' votes."
TIMEOUT_SECONDS = 20.0


def build_manifest(
    name: str,
    *,
    homepage: str,
    webhook_url: str | None,
    redirect_url: str | None = None,
    callback_url: str | None = None,
) -> dict[str, Any]:
    """Return a manifest for the App; without `webhook_url` its webhook starts inactive."""
    manifest: dict[str, Any] = {
        "name": name,
        "url": homepage,
        "hook_attributes": {"url": webhook_url or WEBHOOK_URL_NOT_SET, "active": bool(webhook_url)},
        "description": DESCRIPTION,
        "public": False,
        "default_permissions": dict(PERMISSIONS),
        "default_events": list(EVENTS),
    }
    if redirect_url:
        manifest["redirect_url"] = redirect_url
    if callback_url:
        # Dashboard sign-in (the App's user authorization) comes back here.
        manifest["callback_urls"] = [callback_url]
    return manifest


def app_manifest(name: str, public_url: str) -> dict[str, Any]:
    """Return the manifest of a deployment served at `public_url` (`townhall app-manifest`)."""
    base = public_url.rstrip("/")
    return build_manifest(
        name,
        homepage=base,
        webhook_url=base + WEBHOOK_PATH,
        callback_url=base + SIGN_IN_CALLBACK_PATH,
    )


def creation_url(web_url: str, state: str, org: str | None = None) -> str:
    """Return the page the manifest form posts to: the user's, or the organisation's."""
    base = web_url.rstrip("/")
    owner = f"/organizations/{quote(org, safe='')}" if org else ""
    return f"{base}{owner}/settings/apps/new?{urlencode({'state': state})}"


@dataclass(frozen=True)
class CreatedApp:
    """What the conversion returns: the App's identity, key, webhook secret and OAuth client."""

    app_id: int
    slug: str
    name: str
    owner: str
    html_url: str
    client_id: str
    pem: str = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    client_secret: str = field(repr=False)


class ConversionFailed(Exception):
    """GitHub did not hand over the App's credentials; the message says why, in one line.

    `retryable` when GitHub was not reached: the code may still work, so asking again is safe.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


async def convert_manifest_code(api_url: str, code: str) -> CreatedApp:
    """Exchange the redirect's `code` for the App's credentials (no authentication needed)."""
    try:
        async with Client(
            base_url=api_url.rstrip("/") + "/",
            user_agent=USER_AGENT,
            http_cache=False,
            timeout=TIMEOUT_SECONDS,
        ) as github:
            answer = (await github.rest.apps.async_create_from_manifest(code)).parsed_data
    except RequestFailed as error:
        status = error.response.status_code
        raise ConversionFailed(
            f"GitHub refused the code (HTTP {status}): it was used already or is more than an"
            " hour old; run `townhall setup` again"
        ) from error
    except GitHubException as error:
        reason = f"cannot reach {api_url}: {type(error).__name__}"
        raise ConversionFailed(reason, retryable=True) from error
    except ValidationError as error:
        raise ConversionFailed(f"{api_url} answered in an unexpected shape: {error}") from error
    owner = getattr(answer.owner, "login", None) or getattr(answer.owner, "slug", "")
    return CreatedApp(
        app_id=answer.id,
        slug=answer.slug or "",
        name=answer.name,
        owner=str(owner),
        html_url=answer.html_url,
        client_id=answer.client_id,
        pem=answer.pem,
        webhook_secret=answer.webhook_secret,
        client_secret=answer.client_secret,
    )
