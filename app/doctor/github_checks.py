"""GitHub: the key parses, GitHub accepts the App's JWT, and each installed repository's policy."""

from __future__ import annotations

import httpx
from githubkit.exception import RequestError, RequestFailed

from app.clock import SystemClock
from app.doctor.lines import Line, fail, ok, warn
from app.github.app_key import key_problem
from app.github.client import Client, GitHubAccess
from app.github.policy import policy_from_github
from app.policy import POLICY_FILE, PolicyError
from app.settings import Settings

# A doctor run lists at most this many repositories per installation: enough to read on one
# screen, and a bounded number of requests however large the installation.
MAX_REPOS = 30


async def github_checks(settings: Settings) -> list[Line]:
    """Check the App's credentials online, then each installation and repository."""
    credentials = settings.github_app
    if credentials is None:
        return [
            fail(
                "GitHub App",
                "TOWNHALL_GITHUB_APP_ID and TOWNHALL_GITHUB_PRIVATE_KEY(_PATH) are not set: "
                "run `townhall setup` to create the App, or put them in .env",
            )
        ]
    problem = key_problem(credentials.private_key)
    if problem is not None:
        return [fail("private key", problem)]
    lines = [ok("private key", "an RSA key that can sign the App's JWT")]
    access = GitHubAccess(settings.github_api_url, credentials, SystemClock())
    try:
        async with access.app_client() as app:
            me = (await app.rest.apps.async_get_authenticated()).json()
            installations = (await app.rest.apps.async_list_installations(per_page=100)).json()
    except RequestFailed as error:
        return [*lines, fail("GitHub App", _rejected(error, credentials.app_id))]
    except (RequestError, httpx.HTTPError) as error:
        return [*lines, fail("GitHub App", _unreachable(settings.github_api_url, error))]
    name = me.get("slug") or me.get("name") or "?"
    lines.append(ok("GitHub App", f"{name} (id {me.get('id')}) at {settings.github_api_url}"))
    if not installations:
        lines.append(
            warn("installations", "none yet: install the App on a repository from its page")
        )
    for installation in installations:
        lines += await _installation(access, installation)
    return lines


async def _installation(access: GitHubAccess, installation: dict[str, object]) -> list[Line]:
    account = installation.get("account")
    owner = account.get("login", "?") if isinstance(account, dict) else "?"
    subject = f"installation {owner}"
    if installation.get("suspended_at"):
        return [warn(subject, "suspended: unsuspend it in the App's installation settings")]
    installation_id = int(str(installation.get("id")))
    try:
        async with await access.installation_client(installation_id) as client:
            listed = await client.rest.apps.async_list_repos_accessible_to_installation(
                per_page=MAX_REPOS
            )
            repos = listed.json()["repositories"]
            lines = [ok(subject, f"{len(repos)} repositor{'y' if len(repos) == 1 else 'ies'}")]
            for repo in repos:
                lines.append(await _policy_line(client, repo))
    except RequestFailed as error:
        return [fail(subject, f"GitHub answered {error.response.status_code} for its token")]
    except (RequestError, httpx.HTTPError) as error:
        return [fail(subject, f"request failed: {error}")]
    return lines


async def _policy_line(client: Client, repo: dict[str, object]) -> Line:
    full_name = str(repo.get("full_name"))
    owner, _, name = full_name.partition("/")
    branch = str(repo.get("default_branch") or "main")
    try:
        policy = await policy_from_github(client, owner, name, branch)
    except PolicyError as error:
        return fail(full_name, f"{POLICY_FILE} on {branch} is invalid: {'; '.join(error.problems)}")
    return ok(full_name, f"{POLICY_FILE} valid (merge mode {policy.merge.mode})")


def _rejected(error: RequestFailed, app_id: int) -> str:
    status = error.response.status_code
    if status == 401:
        return (
            f"GitHub rejected the App's JWT (401): the private key does not belong to App "
            f"{app_id}, or it was deleted; check TOWNHALL_GITHUB_APP_ID and generate a new key"
        )
    if status == 404:
        return f"no App {app_id} at this API URL (404): check TOWNHALL_GITHUB_API_URL"
    return f"GitHub answered {status} to GET /app"


def _unreachable(api_url: str, error: Exception) -> str:
    reason = str(error) or type(error).__name__
    return f"cannot reach {api_url} ({reason}): check TOWNHALL_GITHUB_API_URL and the network"
