"""LocalHubControl: a small typed client for localhub's control API (tests, the demo)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from app.clock import format_timestamp

from .control import PREFIX
from .tls import shared_ssl_context

JSON = dict[str, Any]


class LocalHubError(Exception):
    """The control API refused a request."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"localhub control API answered {status}: {body}")
        self.status = status


class LocalHubControl:
    """Drive a running localhub over HTTP: accounts, apps, repos, content, faults, counters."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url + PREFIX, timeout=timeout, verify=shared_ssl_context()
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> LocalHubControl:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self, method: str, path: str, body: JSON | None = None, params: dict[str, str] | None = None
    ) -> Any:
        response = self._http.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            raise LocalHubError(response.status_code, response.text)
        return response.json()

    # Accounts and apps

    def create_user(
        self,
        login: str,
        *,
        kind: str = "User",
        created_at: Any = None,
        name: str | None = None,
        token: str | None = None,
    ) -> JSON:
        """Create a user (`kind` "User" or "Bot"); `created_at` sets the account's age."""
        body: JSON = {"login": login, "type": kind, "name": name, "token": token}
        if created_at is not None:
            body["created_at"] = format_timestamp(created_at)
        result: JSON = self._call("POST", "/users", body)
        return result

    def set_user_token(self, login: str, token: str | None = None) -> str:
        """Give `login` a personal token (generated when not given) and return it."""
        result = self._call("POST", f"/users/{login}/token", {"token": token})
        return str(result["token"])

    def create_app(
        self,
        slug: str,
        public_key_pem: str,
        *,
        app_id: int | None = None,
        name: str | None = None,
        owner: str | None = None,
        permissions: dict[str, str] | None = None,
        events: list[str] | None = None,
    ) -> JSON:
        """Register a GitHub App identity; its JWTs must be signed by the matching private key."""
        body: JSON = {
            "slug": slug,
            "public_key_pem": public_key_pem,
            "id": app_id,
            "name": name,
            "owner": owner,
            "permissions": permissions,
            "events": events,
        }
        result: JSON = self._call("POST", "/apps", body)
        return result

    def create_installation(
        self,
        app_id: int,
        account: str,
        *,
        repositories: list[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> JSON:
        """Install an app on `account` (all repositories, or only `repositories`)."""
        body: JSON = {"app_id": app_id, "account": account, "permissions": permissions}
        if repositories is not None:
            body["repositories"] = repositories
        result: JSON = self._call("POST", "/installations", body)
        return result

    # Repositories and content

    def create_repo(
        self,
        owner: str,
        name: str,
        *,
        source_dir: Path | None = None,
        default_branch: str = "main",
        private: bool = False,
        description: str | None = None,
    ) -> JSON:
        """Create a repository, empty or with `source_dir` imported as its first commit."""
        body: JSON = {
            "owner": owner,
            "name": name,
            "source_dir": str(source_dir) if source_dir else None,
            "default_branch": default_branch,
            "private": private,
            "description": description,
        }
        result: JSON = self._call("POST", "/repos", body)
        return result

    def create_repo_from_dir(self, owner: str, name: str, source_dir: Path, **options: Any) -> JSON:
        """Create a repository whose first commit holds the files of `source_dir`."""
        return self.create_repo(owner, name, source_dir=source_dir, **options)

    def repo_path(self, owner: str, name: str) -> Path:
        """Return the filesystem path of the bare repository (clone or fetch from it)."""
        return Path(self._call("GET", f"/repos/{owner}/{name}")["path"])

    def clone_url(self, owner: str, name: str) -> str:
        """Return the smart-HTTP clone URL of a repository."""
        return str(self._call("GET", f"/repos/{owner}/{name}")["clone_url"])

    def create_client_secret(self, app_id: int) -> JSON:
        """Generate an OAuth client secret for an App: `{client_id, client_secret}`."""
        result: JSON = self._call("POST", f"/apps/{app_id}/client_secrets", {})
        return result

    def set_collaborator(self, owner: str, name: str, login: str, permission: str) -> JSON:
        """Give `login` a role (read, triage, write, maintain, admin) on a repository."""
        body = {"permission": permission}
        result: JSON = self._call("PUT", f"/repos/{owner}/{name}/collaborators/{login}", body)
        return result

    def protect_branch(self, owner: str, name: str, branch: str, approvals: int = 1) -> JSON:
        """Require `approvals` approving reviews by writers before a merge into `branch`."""
        path = f"/repos/{owner}/{name}/branches/{branch}/protection"
        result: JSON = self._call("PUT", path, {"required_approving_review_count": approvals})
        return result

    def create_issue(
        self,
        owner: str,
        name: str,
        author: str,
        title: str,
        body: str | None = None,
        *,
        labels: list[str] | None = None,
        created_at: Any = None,
    ) -> JSON:
        """File an issue as `author` (announced by webhook like a real one)."""
        payload: JSON = {"author": author, "title": title, "body": body, "labels": labels}
        if created_at is not None:
            payload["created_at"] = format_timestamp(created_at)
        result: JSON = self._call("POST", f"/repos/{owner}/{name}/issues", payload)
        return result

    def create_comment(
        self, owner: str, name: str, number: int, author: str, body: str, created_at: Any = None
    ) -> JSON:
        """Comment on an issue or pull request as `author` (now, or at `created_at`)."""
        payload = {"author": author, "body": body}
        if created_at is not None:
            payload["created_at"] = format_timestamp(created_at)
        result: JSON = self._call(
            "POST", f"/repos/{owner}/{name}/issues/{number}/comments", payload
        )
        return result

    def add_reaction(
        self, owner: str, name: str, number: int, user: str, content: str, created_at: Any = None
    ) -> JSON:
        """React to an issue as `user` (`content` in GitHub's REST names: "+1", "heart", ...)."""
        item: JSON = {"user": user, "content": content}
        if created_at is not None:
            item["created_at"] = format_timestamp(created_at)
        return self.add_reactions(owner, name, number, [item])[0]

    def add_reactions(self, owner: str, name: str, number: int, items: list[JSON]) -> list[JSON]:
        """Add many reactions in one call; each item is {user, content[, created_at]}."""
        path = f"/repos/{owner}/{name}/issues/{number}/reactions"
        result: list[JSON] = self._call("POST", path, {"reactions": items})
        return result

    # Webhooks

    def set_webhook(self, url: str | None, secret: str = "") -> JSON:
        """Send webhooks to `url`, signed with `secret` (None stops deliveries)."""
        result: JSON = self._call("PUT", "/webhook", {"url": url, "secret": secret})
        return result

    def deliveries(self, *, with_payload: bool = False) -> list[JSON]:
        """Return every webhook delivery so far with the receiver's status."""
        params = {"payload": "1"} if with_payload else {}
        result: list[JSON] = self._call("GET", "/webhooks/deliveries", params=params)
        return result

    def wait_for_webhooks(self, timeout: float = 10.0) -> list[JSON]:
        """Wait until every queued webhook was delivered; return the deliveries."""
        result = self._call("POST", "/webhooks/wait", {"timeout": timeout})
        if not result["drained"]:
            raise TimeoutError(f"webhook queue not drained within {timeout}s")
        deliveries: list[JSON] = result["deliveries"]
        return deliveries

    # Faults and counters

    def inject_fault(
        self,
        route: str,
        *,
        kind: str = "error",
        times: int = 1,
        method: str | None = None,
        status: int = 502,
        retry_after: int = 60,
        delay: float = 0.0,
    ) -> JSON:
        """Make the next `times` requests matching `route` fail, hit a rate limit, or stall."""
        # `route` is a glob on the request path ("/repos/*/issues*") or a route template
        # ("/repos/{owner}/{repo}/issues"). `kind` is "error" (answer `status`),
        # "secondary_rate_limit" (403 with retry-after), "primary_rate_limit" (403 with
        # x-ratelimit-remaining 0, resetting after `retry_after` seconds) or "delay" (wait
        # `delay` seconds, then answer normally).
        body: JSON = {
            "route": route,
            "kind": kind,
            "times": times,
            "method": method,
            "status": status,
            "retry_after": retry_after,
            "delay": delay,
        }
        result: JSON = self._call("POST", "/faults", body)
        return result

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._call("DELETE", "/faults")

    def counters(self) -> JSON:
        """Return request counts per route, statuses, faults hit and GraphQL costs."""
        result: JSON = self._call("GET", "/counters")
        return result

    def reset_counters(self) -> None:
        """Zero every counter."""
        self._call("DELETE", "/counters")

    def record_exchanges(self, record: bool = True) -> None:
        """Start (or stop) recording every REST and GraphQL exchange; clears the record."""
        self._call("PUT", "/exchanges", {"record": record})

    def exchanges(self) -> list[JSON]:
        """Return the recorded exchanges (method, path, bodies, status, headers)."""
        result: list[JSON] = self._call("GET", "/exchanges")
        return result
