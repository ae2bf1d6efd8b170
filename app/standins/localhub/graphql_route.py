"""POST /graphql: authenticate, validate, check pagination limits, charge cost, execute."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.clock import format_timestamp, parse_timestamp

from .auth import authenticate, authorize_repo
from .core import HubCore
from .counters import RATE_LIMIT, rate_headers
from .errors import ApiError
from .graphql_cost import analyse
from .graphql_nodes import GqlContext, Node, actor_node, connection, issue_node
from .graphql_schema import schema
from .models import Issue, Repo
from .render_core import Urls, node_id

_AUTH_DOCS = (
    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
)
_ORDER_KEYS = {
    "CREATED_AT": lambda i: (i.created_at, i.number),
    "UPDATED_AT": lambda i: (i.updated_at, i.number),
}


def _typed_error(message: str, kind: str) -> GraphQLError:
    return GraphQLError(message, extensions={"type": kind})


def _format(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(cast(dict[str, Any], error.formatted))
    extensions = dict(formatted.pop("extensions", None) or {})
    if "type" in extensions:
        # GitHub reports the error type at the top level, not under extensions.
        formatted = {"type": extensions.pop("type"), **formatted}
    if extensions:
        formatted["extensions"] = extensions
    return formatted


def _filter_issues(repo: Repo, comments: dict[int, int], args: dict[str, Any]) -> list[Issue]:
    found = [i for i in repo.issues.values() if not i.is_pull]
    filters = args.get("filterBy") or {}
    states = args.get("states") or filters.get("states")
    if states:
        found = [i for i in found if i.state.upper() in states]
    labels = args.get("labels") or filters.get("labels")
    if labels:
        wanted = {name.lower() for name in labels}
        found = [i for i in found if wanted & {n.lower() for n in i.labels}]
    if filters.get("createdBy"):
        found = [i for i in found if i.user_login.lower() == filters["createdBy"].lower()]
    if filters.get("assignee"):
        found = [i for i in found if filters["assignee"] in i.assignees]
    if filters.get("since"):
        since = parse_timestamp(filters["since"])
        found = [i for i in found if i.updated_at >= since]
    order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
    key = _ORDER_KEYS.get(order["field"], lambda i: (comments.get(i.number, 0), i.number))
    found.sort(key=key, reverse=order["direction"] == "DESC")
    return found


def _repository_node(g: GqlContext, repo: Repo) -> Node:
    state = g.core.state
    owner = state.user(repo.owner_login)

    def needs(category: str) -> None:
        try:
            authorize_repo(state, g.actor, repo, (category,), False, "read")
        except ApiError as exc:
            raise _typed_error("Resource not accessible by integration", "FORBIDDEN") from exc

    def issues(info: Any, **args: Any) -> Node:
        needs("issues")
        counts: dict[int, int] = {}
        for comment in repo.comments.values():
            counts[comment.issue_number] = counts.get(comment.issue_number, 0) + 1
        found = _filter_issues(repo, counts, args)
        return connection(found, args, lambda i: issue_node(g, repo, i))

    def issue(info: Any, number: int) -> Node | None:
        needs("issues")
        found = repo.issues.get(number)
        if found is None or found.is_pull:
            raise _typed_error(
                f"Could not resolve to an Issue with the number of {number}.", "NOT_FOUND"
            )
        return issue_node(g, repo, found)

    def pull_requests(info: Any, **args: Any) -> Node:
        needs("pull_requests")
        found = sorted((i for i in repo.issues.values() if i.is_pull), key=lambda i: i.number)
        if args.get("states"):
            found = [i for i in found if _pull_state(repo, i) in args["states"]]
        if args.get("headRefName"):
            found = [i for i in found if repo.pulls[i.number].head_ref == args["headRefName"]]
        if args.get("baseRefName"):
            found = [i for i in found if repo.pulls[i.number].base_ref == args["baseRefName"]]
        if (args.get("orderBy") or {}).get("direction") == "DESC":
            found.reverse()
        return connection(found, args, lambda i: issue_node(g, repo, i))

    def pull_request(info: Any, number: int) -> Node | None:
        needs("pull_requests")
        found = repo.issues.get(number)
        if found is None or not found.is_pull:
            raise _typed_error(
                f"Could not resolve to a PullRequest with the number of {number}.", "NOT_FOUND"
            )
        return issue_node(g, repo, found)

    return {
        "id": node_id("Repository", repo.id),
        "databaseId": repo.id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "owner": actor_node(g, owner),
        "url": g.urls.html(f"/{repo.full_name}"),
        "isPrivate": repo.private,
        "createdAt": format_timestamp(repo.created_at),
        "defaultBranchRef": {
            "id": node_id("Ref", f"{repo.id}:{repo.default_branch}"),
            "name": repo.default_branch,
            "prefix": "refs/heads/",
        },
        "issues": issues,
        "issue": issue,
        "pullRequests": pull_requests,
        "pullRequest": pull_request,
    }


def _pull_state(repo: Repo, issue: Issue) -> str:
    return "MERGED" if repo.pulls[issue.number].merged else issue.state.upper()


def _root(g: GqlContext, budget_used: int, reset_at: str) -> Node:
    state = g.core.state

    def repository(info: Any, owner: str, name: str, followRenames: bool = True) -> Node | None:
        repo = state.find_repo(owner, name)
        missing = _typed_error(
            f"Could not resolve to a Repository with the name '{owner}/{name}'.", "NOT_FOUND"
        )
        if repo is None:
            raise missing
        try:
            authorize_repo(state, g.actor, repo, ("metadata",), False, "read")
        except ApiError as exc:
            raise missing from exc
        return _repository_node(g, repo)

    def user(info: Any, login: str) -> Node | None:
        found = state.find_user(login)
        if found is None:
            raise _typed_error(
                f"Could not resolve to a User with the login of '{login}'.", "NOT_FOUND"
            )
        return actor_node(g, found)

    viewer_login = g.actor.login or ""
    return {
        "repository": repository,
        "user": user,
        "viewer": lambda info: actor_node(g, state.user(viewer_login)) if viewer_login else None,
        "rateLimit": lambda info, dryRun=False: {
            "cost": g.cost,
            "limit": RATE_LIMIT,
            "nodeCount": g.node_count,
            "remaining": max(RATE_LIMIT - budget_used, 0),
            "used": budget_used,
            "resetAt": reset_at,
        },
    }


async def run_query(core: HubCore, request: Request) -> Response:
    """Answer one GraphQL request the way api.github.com/graphql does."""
    core.counters.count("POST /graphql")
    try:
        fault = core.faults.take("POST", "/graphql", "/graphql")
        if fault is not None and fault.kind != "delay":
            core.counters.count_fault("POST /graphql")
            raise fault.as_error(core.now().timestamp())
        if fault is not None:
            await asyncio.sleep(fault.delay)
        actor = authenticate(core.state, request.headers.get("authorization"), core.now())
        if actor.kind in ("anonymous", "app"):
            raise ApiError(
                401, "This endpoint requires you to be authenticated.", documentation_url=_AUTH_DOCS
            )
        try:
            payload = json.loads(await request.body())
        except ValueError as exc:
            raise ApiError(400, "Problems parsing JSON") from exc
    except ApiError as error:
        return error.response()
    query = payload.get("query") if isinstance(payload, dict) else None
    variables = (payload.get("variables") if isinstance(payload, dict) else None) or {}
    if not isinstance(query, str):
        message = "A query attribute must be specified and must be a string."
        return JSONResponse({"errors": [{"message": message}]})
    try:
        document = parse(query)
    except GraphQLError as error:
        return JSONResponse({"errors": [_format(error)]})
    problems = validate(schema(), document)
    if problems:
        return JSONResponse({"errors": [_format(e) for e in problems]})
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    wanted = payload.get("operationName")
    operation = next((o for o in operations if o.name and o.name.value == wanted), operations[0])
    report = analyse(schema(), document, operation, variables)
    if report.errors:
        return JSONResponse({"errors": report.errors})
    budget = core.counters.charge("graphql", actor.rate_key, report.cost, core.now())
    core.counters.record_graphql(report.cost)
    g = GqlContext(core, Urls(str(request.base_url)), actor, report.cost, report.node_count)
    result = execute(
        schema(),
        document,
        root_value=_root(g, budget.used, format_timestamp(budget.reset_at)),
        variable_values=variables,
        operation_name=wanted,
    )
    if not isinstance(result, ExecutionResult):
        result = await result
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_format(e) for e in result.errors]
    return JSONResponse(body, headers=rate_headers("graphql", budget))


def routes(core: HubCore) -> list[Route]:
    """Return the GraphQL route."""

    async def endpoint(request: Request) -> Response:
        response = await run_query(core, request)
        core.counters.count_status("POST /graphql", response.status_code)
        await core.exchanges.record("POST /graphql", request, response)
        return response

    return [Route("/graphql", endpoint, methods=["POST"])]
