"""The control API under /_localhub: set up accounts, apps, repos and content; read counters."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.clock import parse_timestamp

from . import issues_service as svc
from . import render_core, render_issues
from .auth import new_user_token
from .codec import to_jsonable
from .core import Ctx, HubCore
from .errors import ApiError
from .events import emit
from .models import COLLABORATOR_ROLES, PERMISSION_LEVELS, App, Installation, Repo
from .repos_service import create_repository

PREFIX = "/_localhub"

DEFAULT_APP_PERMISSIONS = {
    "metadata": "read",
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "checks": "write",
    "statuses": "write",
}
DEFAULT_APP_EVENTS = [
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "check_suite",
]

ControlHandler = Callable[[Request, dict[str, Any]], Awaitable[Any]]


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(422, f"{key} is required")
    return value


def _when(body: dict[str, Any], key: str = "created_at") -> Any:
    raw = body.get(key)
    return parse_timestamp(raw) if raw else None


class Control:
    """Handlers of the control API, bound to one hub."""

    def __init__(self, core: HubCore) -> None:
        self.core = core

    def ctx(self, request: Request, login: str = "") -> Ctx:
        """Return a context acting as `login`, which must be a known user."""
        if login:
            login = self.core.state.user(login).login
        return Ctx(self.core, render_core.Urls(str(request.base_url)), login)

    def _repo(self, request: Request) -> Repo:
        params = request.path_params
        return self.core.state.repo(params["owner"], params["repo"])

    async def create_user(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer POST /users: {login, type?, created_at?, name?, email?, token?}."""
        kind = body.get("type") or "User"
        if kind not in ("User", "Bot", "Organization"):
            raise ApiError(422, "type must be User, Bot or Organization")
        created = _when(body) or self.core.now()
        user = self.core.state.add_user(_text(body, "login"), kind, created, body.get("name"))
        user.email = body.get("email") or user.email
        rendered = render_core.public_user(self.ctx(request).urls, user)
        if body.get("token"):
            self.core.state.data.user_tokens[str(body["token"])] = user.login
            rendered["token"] = body["token"]
        return rendered

    async def set_user_token(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer POST /users/{login}/token: {token?} → {token}."""
        user = self.core.state.user(request.path_params["login"])
        token = str(body.get("token") or new_user_token())
        self.core.state.data.user_tokens[token] = user.login
        return {"login": user.login, "token": token}

    async def create_app(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer POST /apps: {slug, public_key_pem, id?, name?, owner?, permissions?, events?}."""
        state = self.core.state
        slug = _text(body, "slug")
        owner = state.add_user(str(body.get("owner") or "localhub"), "User", self.core.now(), None)
        app = App(
            id=int(body.get("id") or state.new_id()),
            slug=slug,
            name=str(body.get("name") or slug),
            owner_login=owner.login,
            public_key_pem=_text(body, "public_key_pem"),
            permissions=dict(body.get("permissions") or DEFAULT_APP_PERMISSIONS),
            events=list(body.get("events") or DEFAULT_APP_EVENTS),
            created_at=self.core.now(),
            description=body.get("description"),
        )
        state.data.apps[app.id] = app
        state.add_user(state.bot_login(app), "Bot", self.core.now(), None)
        self.core.webhooks.app_id = app.id
        return render_core.integration(self.ctx(request).urls, app, owner)

    async def create_installation(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer POST /installations: {app_id, account, repositories?, permissions?, events?}."""
        state = self.core.state
        app = state.data.apps.get(int(body.get("app_id") or 0))
        if app is None:
            raise ApiError(404, "Not Found")
        account = state.add_user(_text(body, "account"), "User", self.core.now(), None)
        names = body.get("repositories")
        ids: list[int] = []
        for name in names or []:
            repo = state.find_repo(account.login, str(name).split("/")[-1])
            if repo is None:
                raise ApiError(422, f"unknown repository {name}")
            ids.append(repo.id)
        permissions = dict(body.get("permissions") or app.permissions)
        if any(level not in PERMISSION_LEVELS for level in permissions.values()):
            raise ApiError(422, "permission levels are read, write or admin")
        inst = Installation(
            id=int(body.get("id") or state.new_id()),
            app_id=app.id,
            account_login=account.login,
            repository_selection="all" if names is None else "selected",
            repository_ids=ids,
            permissions=permissions,
            events=list(body.get("events") or app.events),
            created_at=self.core.now(),
        )
        state.data.installations[inst.id] = inst
        ctx = self.ctx(request, account.login)
        rendered = render_core.installation(ctx.urls, inst, app, account)
        repos = [r for r in state.data.repos.values() if r.owner_login == account.login]
        if names is not None:
            repos = [r for r in repos if r.id in ids]
        listed = [
            {
                "id": r.id,
                "node_id": render_core.node_id("Repository", r.id),
                "name": r.name,
                "full_name": r.full_name,
                "private": r.private,
            }
            for r in repos
        ]
        payload = {"action": "created", "installation": rendered, "repositories": listed}
        emit(ctx, "installation", None, payload | {"requester": None})
        return rendered

    async def create_repo(self, request: Request, body: dict[str, Any]) -> Any:
        """Create a repository: {owner, name, source_dir?, default_branch?, private?, ...}."""
        source = body.get("source_dir")
        repo = await create_repository(
            self.core,
            owner=_text(body, "owner"),
            name=_text(body, "name"),
            source_dir=Path(source) if source else None,
            default_branch=str(body.get("default_branch") or "main"),
            private=bool(body.get("private", False)),
            description=body.get("description"),
        )
        return self._repo_info(request, repo)

    def _repo_info(self, request: Request, repo: Repo) -> dict[str, Any]:
        urls = render_core.Urls(str(request.base_url))
        state = self.core.state
        owner = state.user(repo.owner_login)
        return {
            "repository": render_core.repository(urls, repo, owner, state.open_issue_count(repo)),
            "path": str(self.core.git(repo).path),
            "clone_url": urls.html(f"/{repo.full_name}.git"),
            "default_branch": repo.default_branch,
        }

    async def get_repo(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer GET /repos/{owner}/{repo}: where the bare repository lives and how to clone it."""
        return self._repo_info(request, self._repo(request))

    async def set_collaborator(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer PUT /repos/{owner}/{repo}/collaborators/{login}: {permission}."""
        repo = self._repo(request)
        user = self.core.state.user(request.path_params["login"])
        permission = str(body.get("permission") or "write")
        if permission == "pull":
            permission = "read"
        if permission == "push":
            permission = "write"
        if permission not in COLLABORATOR_ROLES:
            raise ApiError(422, f"permission must be one of {COLLABORATOR_ROLES}")
        repo.collaborators[user.login] = permission
        return {"login": user.login, "permission": permission}

    async def protect_branch(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer PUT /repos/{owner}/{repo}/branches/{branch}/protection:
        {required_approving_review_count}; merges into the branch then need that many."""
        repo = self._repo(request)
        branch = request.path_params["branch"]
        count = body.get("required_approving_review_count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 6:
            raise ApiError(422, "required_approving_review_count must be an integer from 0 to 6")
        repo.protected_branches[branch] = count
        return {"branch": branch, "required_approving_review_count": count}

    async def unprotect_branch(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer DELETE /repos/{owner}/{repo}/branches/{branch}/protection."""
        repo = self._repo(request)
        repo.protected_branches.pop(request.path_params["branch"], None)
        return {}

    async def create_issue(self, request: Request, body: dict[str, Any]) -> Any:
        """File an issue as someone: {author, title, body?, labels?, created_at?}."""
        repo = self._repo(request)
        ctx = self.ctx(request, _text(body, "author"))
        issue = await svc.create_issue(
            ctx,
            repo,
            _text(body, "title"),
            body.get("body"),
            [str(x) for x in body.get("labels") or []],
            [str(x) for x in body.get("assignees") or []],
            _when(body),
        )
        return render_issues.issue(ctx.urls, ctx.state, repo, issue)

    async def create_comment(self, request: Request, body: dict[str, Any]) -> Any:
        """Comment as someone: {author, body, created_at?}."""
        repo = self._repo(request)
        ctx = self.ctx(request, _text(body, "author"))
        issue = ctx.state.issue(repo, int(request.path_params["number"]))
        comment = svc.create_comment(ctx, repo, issue, _text(body, "body"), _when(body))
        return render_issues.comment(ctx.urls, ctx.state, repo, comment)

    async def add_reactions(self, request: Request, body: dict[str, Any]) -> Any:
        """React as someone: one {user, content[, created_at]} or {reactions: [...]}."""
        repo = self._repo(request)
        number = self.core.state.issue(repo, int(request.path_params["number"])).number
        wanted = body["reactions"] if isinstance(body.get("reactions"), list) else [body]
        rendered = []
        for item in wanted:
            ctx = self.ctx(request, _text(item, "user"))
            content = _text(item, "content")
            reaction, _ = svc.add_reaction(ctx, repo, "issue", number, content, _when(item))
            rendered.append(render_issues.reaction(ctx.urls, ctx.state, reaction))
        return rendered

    async def set_webhook(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer PUT /webhook: {url, secret}."""
        config = self.core.state.data.webhook
        config.url = body.get("url") or None
        config.secret = str(body.get("secret") or "")
        return {"url": config.url, "hook_id": config.hook_id}

    async def deliveries(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer GET /webhooks/deliveries[?payload=1]."""
        with_payload = request.query_params.get("payload") in ("1", "true")
        return [d.describe(with_payload=with_payload) for d in self.core.webhooks.deliveries]

    async def wait_webhooks(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer POST /webhooks/wait: {timeout?} → {drained, deliveries}."""
        drained = await self.core.webhooks.wait_idle(float(body.get("timeout") or 10.0))
        return {
            "drained": drained,
            "deliveries": [d.describe() for d in self.core.webhooks.deliveries],
        }

    async def add_fault(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer POST /faults: {route, kind?, times?, method?, status?, retry_after?, delay?}."""
        rule = self.core.faults.add(
            _text(body, "route"),
            str(body.get("kind") or "error"),
            int(body.get("times") or 1),
            method=body.get("method"),
            status=int(body.get("status") or 502),
            retry_after=int(body.get("retry_after") or 60),
            delay=float(body.get("delay") or 0.0),
        )
        return rule.describe()

    async def list_faults(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer GET /faults."""
        return [rule.describe() for rule in self.core.faults.rules]

    async def clear_faults(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer DELETE /faults."""
        self.core.faults.clear()
        return {"cleared": True}

    async def counters(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer GET /counters."""
        return self.core.counters.snapshot()

    async def reset_counters(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer DELETE /counters."""
        self.core.counters.reset()
        return self.core.counters.snapshot()

    async def record_exchanges(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer PUT /exchanges: {record} turns recording on or off (and clears the record)."""
        self.core.exchanges.enabled = bool(body.get("record", True))
        self.core.exchanges.clear()
        return {"record": self.core.exchanges.enabled}

    async def list_exchanges(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer GET /exchanges: every recorded request and answer."""
        return [exchange.describe() for exchange in self.core.exchanges.exchanges]

    async def dump_state(self, request: Request, body: dict[str, Any]) -> Any:
        """Answer GET /state: the whole state as JSON (debugging)."""
        return to_jsonable(self.core.state.data)


def _wrap(core: HubCore, handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ApiError(400, "Problems parsing JSON")
            result = await handler(request, body)
        except ValueError:
            return ApiError(400, "Problems parsing JSON").response()
        except ApiError as error:
            return error.response()
        if request.method != "GET":
            core.state.save()
        return JSONResponse(result, status_code=201 if request.method == "POST" else 200)

    return endpoint


def routes(core: HubCore) -> list[Route]:
    """Return the control API routes."""
    c = Control(core)
    repo = "/repos/{owner}/{repo}"
    table: list[tuple[str, str, ControlHandler]] = [
        ("POST", "/users", c.create_user),
        ("POST", "/users/{login}/token", c.set_user_token),
        ("POST", "/apps", c.create_app),
        ("POST", "/installations", c.create_installation),
        ("POST", "/repos", c.create_repo),
        ("GET", repo, c.get_repo),
        ("PUT", repo + "/collaborators/{login}", c.set_collaborator),
        ("PUT", repo + "/branches/{branch}/protection", c.protect_branch),
        ("DELETE", repo + "/branches/{branch}/protection", c.unprotect_branch),
        ("POST", repo + "/issues", c.create_issue),
        ("POST", repo + "/issues/{number:int}/comments", c.create_comment),
        ("POST", repo + "/issues/{number:int}/reactions", c.add_reactions),
        ("PUT", "/webhook", c.set_webhook),
        ("GET", "/webhooks/deliveries", c.deliveries),
        ("POST", "/webhooks/wait", c.wait_webhooks),
        ("POST", "/faults", c.add_fault),
        ("GET", "/faults", c.list_faults),
        ("DELETE", "/faults", c.clear_faults),
        ("GET", "/counters", c.counters),
        ("DELETE", "/counters", c.reset_counters),
        ("GET", "/state", c.dump_state),
        ("PUT", "/exchanges", c.record_exchanges),
        ("GET", "/exchanges", c.list_exchanges),
    ]
    return [
        Route(PREFIX + path, _wrap(core, handler), methods=[method])
        for method, path, handler in table
    ]
