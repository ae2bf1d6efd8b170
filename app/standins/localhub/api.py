"""The REST endpoint wrapper: counting, faults, authentication, authorization, errors, headers,
API versions and conditional requests."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import conditional, versions
from .auth import Actor, authenticate, authorize_repo, require_app
from .core import Ctx, HubCore
from .counters import rate_headers
from .errors import ApiError
from .models import Repo
from .render_core import Urls

T = TypeVar("T")

_COMMON_HEADERS = {
    "x-github-media-type": "github.v3; format=json",
    # GitHub sends `private, max-age=60, s-maxage=60`; localhub asks caches to revalidate
    # every time instead, so a caching client in a test never reads a minute-old answer.
    "cache-control": "private, max-age=0, must-revalidate",
    "vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
}


@dataclass
class Call:
    """One authenticated API call, handed to a route handler."""

    request: Request
    ctx: Ctx
    actor: Actor
    repo_or_none: Repo | None

    @property
    def core(self) -> HubCore:
        """Return the hub services."""
        return self.ctx.core

    @property
    def repo(self) -> Repo:
        """Return the repository named in the path (only on repository routes)."""
        assert self.repo_or_none is not None, "not a repository route"
        return self.repo_or_none

    def path_int(self, name: str) -> int:
        """Return an integer path parameter."""
        try:
            return int(self.request.path_params[name])
        except (KeyError, ValueError) as exc:
            raise ApiError(404, "Not Found") from exc

    def path(self, name: str) -> str:
        """Return a path parameter."""
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        """Return a query parameter."""
        return self.request.query_params.get(name)

    async def body(self) -> dict[str, Any]:
        """Return the JSON request body (empty object when there is none)."""
        raw = await self.request.body()
        if not raw.strip():
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "Problems parsing JSON") from exc
        if not isinstance(parsed, dict):
            raise ApiError(400, "Problems parsing JSON")
        return parsed


Handler = Callable[[Call], Awaitable[Response]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return `data` as a JSON response."""
    return JSONResponse(data, status_code=status, headers=headers)


def no_content() -> Response:
    """Return an empty 204."""
    return Response(status_code=204)


def paginate(call: Call, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """Slice `items` by `page`/`per_page` and build GitHub's Link header for the other pages."""
    try:
        per_page = min(max(int(call.query("per_page") or 30), 1), 100)
        page = max(int(call.query("page") or 1), 1)
    except ValueError as exc:
        raise ApiError(422, "Invalid pagination parameters") from exc
    last = max((len(items) + per_page - 1) // per_page, 1)
    chosen = list(items[(page - 1) * per_page : page * per_page])
    url = call.request.url
    params = dict(parse_qsl(url.query))

    def link(target: int, rel: str) -> str:
        query = urlencode(params | {"per_page": str(per_page), "page": str(target)})
        return f'<{call.ctx.urls.base}{url.path}?{query}>; rel="{rel}"'

    links = []
    if page > 1:
        links += [link(min(page - 1, last), "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    return chosen, ({"link": ", ".join(links)} if links else {})


def _acting_login(actor: Actor) -> str:
    return actor.login or ""


def api_route(
    core: HubCore,
    method: str,
    path: str,
    handler: Handler,
    *,
    categories: tuple[str, ...] = (),
    user_role: str | None = None,
    resource: str = "core",
    app_auth: bool = False,
) -> Route:
    """Wrap `handler` as a Starlette route with GitHub's authentication and error behaviour."""
    # Counters and fault rules name routes without Starlette's `:int` convertors.
    template = f"{method} {re.sub(r':[a-z]+}', '}', path)}"
    # App routes (JWT) that name a repository do not use repository permissions.
    is_repo_route = path.startswith("/repos/{owner}/{repo}") and not app_auth
    write = method != "GET"
    role = user_role or ("write" if write else "read")

    async def endpoint(request: Request) -> Response:
        core.counters.count(template)
        headers = dict(_COMMON_HEADERS)
        headers["x-github-request-id"] = uuid.uuid4().hex[:20].upper()
        actor: Actor | None = None
        try:
            fault = core.faults.take(method, request.url.path, template.split(" ", 1)[1])
            if fault is not None:
                core.counters.count_fault(template)
                if fault.kind == "delay":
                    await asyncio.sleep(fault.delay)
                else:
                    raise fault.as_error(core.now().timestamp())
            actor = authenticate(core.state, request.headers.get("authorization"), core.now())
            version = versions.select_version(request.headers.get(versions.VERSION_HEADER))
            headers[versions.SELECTED_HEADER] = version
            if app_auth:
                require_app(actor)
            repo = None
            if is_repo_route:
                repo = core.state.repo(request.path_params["owner"], request.path_params["repo"])
                authorize_repo(core.state, actor, repo, categories, write, role)
            urls = Urls(str(request.base_url))
            call = Call(request, Ctx(core, urls, _acting_login(actor)), actor, repo)
            response = _in_version(await handler(call), version)
            if write and response.status_code < 400:
                core.state.save()
            if method == "GET" and response.status_code == 200:
                response = _conditional(request, response)
        except ApiError as error:
            response = error.response()
            headers |= error.headers
        if actor is not None:
            # GitHub does not count a 304 against the rate limit.
            counted = response.status_code != 304
            budget = core.counters.charge(resource, actor.rate_key, int(counted), core.now())
            headers |= rate_headers(resource, budget)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        core.counters.count_status(template, response.status_code)
        await core.exchanges.record(template, request, response)
        return response

    return Route(path, endpoint, methods=[method])


def _in_version(response: Response, version: str) -> Response:
    """Return `response` with its JSON body in `version`'s shapes."""
    if version == versions.DEFAULT_VERSION or not isinstance(response, JSONResponse):
        return response
    data = versions.reshape(json.loads(bytes(response.body)), version)
    reshaped = JSONResponse(data, status_code=response.status_code)
    for name, value in response.headers.items():
        if name not in ("content-length", "content-type"):
            reshaped.headers[name] = value
    return reshaped


def _conditional(request: Request, response: Response) -> Response:
    """Add ETag and Last-Modified to a JSON 200; answer 304 when the request's validators match."""
    if not isinstance(response, JSONResponse):
        return response
    body = bytes(response.body)
    etag = conditional.etag_of(body)
    response.headers["etag"] = etag
    # Only a single resource (an object) has an update time; lists are not parsed again.
    modified = conditional.last_modified_of(json.loads(body)) if body[:1] == b"{" else None
    if modified is not None:
        response.headers["last-modified"] = conditional.http_date(modified)
    if conditional.not_modified(request.headers, etag):
        return conditional.not_modified_response(response)
    return response
