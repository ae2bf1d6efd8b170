"""REST routes for issues, labels, assignees, issue comments and reactions."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from app.clock import parse_timestamp

from . import issues_service as svc
from . import render_core, render_issues
from .api import Call, Handler, api_route, json_response, no_content, paginate
from .core import HubCore
from .errors import ApiError, validation_failed
from .models import Comment, Issue

_ISSUES = ("issues",)
_ISSUES_OR_PULLS = ("issues", "pull_requests")


def _issue(call: Call) -> Issue:
    return call.core.state.issue(call.repo, call.path_int("issue_number"))


def _may_edit(call: Call, author: str) -> None:
    # People may edit what they wrote; editing others' needs triage. Tokens passed the route check.
    if call.actor.kind != "user" or author == call.ctx.login:
        return
    if not call.core.state.role_at_least(call.repo, call.ctx.login, "triage"):
        raise ApiError(403, "Must have triage rights to edit this issue.")


def _issue_json(call: Call, issue: Issue) -> render_core.JSON:
    return render_issues.issue(call.ctx.urls, call.core.state, call.repo, issue)


def _comment_json(call: Call, comment: Comment) -> render_core.JSON:
    return render_issues.comment(call.ctx.urls, call.core.state, call.repo, comment)


async def list_issues(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues."""
    state = call.query("state") or "open"
    if state not in ("open", "closed", "all"):
        raise validation_failed("Issue", "state")
    found = [i for i in call.repo.issues.values() if state == "all" or i.state == state]
    if labels := call.query("labels"):
        wanted = {name.strip().lower() for name in labels.split(",") if name.strip()}
        found = [i for i in found if wanted <= {n.lower() for n in i.labels}]
    if creator := call.query("creator"):
        found = [i for i in found if i.user_login.lower() == creator.lower()]
    if since := call.query("since"):
        moment = parse_timestamp(since)
        found = [i for i in found if i.updated_at >= moment]
    sort = call.query("sort") or "created"
    keys = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
        "comments": lambda i: (
            sum(1 for c in call.repo.comments.values() if c.issue_number == i.number),
            i.number,
        ),
    }
    if sort not in keys:
        raise validation_failed("Issue", "sort")
    found.sort(key=keys[sort], reverse=(call.query("direction") or "desc") == "desc")
    page, headers = paginate(call, found)
    return json_response([_issue_json(call, i) for i in page], headers=headers)


async def create_issue(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/issues."""
    body = await call.body()
    labels = [str(item) for item in body.get("labels") or []]
    assignees = [str(item) for item in body.get("assignees") or []]
    if body.get("assignee"):
        assignees.append(str(body["assignee"]))
    # Like GitHub, people without triage rights silently lose labels and assignees.
    untrusted = call.actor.kind == "user" and not call.core.state.role_at_least(
        call.repo, call.ctx.login, "triage"
    )
    if untrusted:
        labels, assignees = [], []
    issue = await svc.create_issue(
        call.ctx, call.repo, str(body.get("title") or ""), body.get("body"), labels, assignees
    )
    return json_response(_issue_json(call, issue), status=201)


async def get_issue(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues/{issue_number}."""
    return json_response(_issue_json(call, _issue(call)))


async def update_issue(call: Call) -> Response:
    """Answer PATCH /repos/{owner}/{repo}/issues/{issue_number}."""
    issue = _issue(call)
    _may_edit(call, issue.user_login)
    body = await call.body()
    await svc.update_issue(call.ctx, call.repo, issue, body)
    return json_response(_issue_json(call, issue))


async def list_labels(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues/{issue_number}/labels."""
    issue = _issue(call)
    return json_response(render_issues.issue_labels(call.ctx.urls, call.repo, issue))


def _label_names(body: dict[str, object]) -> list[str]:
    raw = body.get("labels")
    if not isinstance(raw, list):
        raise validation_failed("Label", "labels", "missing_field")
    return [str(item["name"] if isinstance(item, dict) else item) for item in raw]


async def add_labels(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/issues/{issue_number}/labels."""
    issue = _issue(call)
    await svc.add_labels(call.ctx, call.repo, issue, _label_names(await call.body()))
    return json_response(render_issues.issue_labels(call.ctx.urls, call.repo, issue))


async def set_labels(call: Call) -> Response:
    """Answer PUT /repos/{owner}/{repo}/issues/{issue_number}/labels."""
    issue = _issue(call)
    await svc.set_labels(call.ctx, call.repo, issue, _label_names(await call.body()))
    return json_response(render_issues.issue_labels(call.ctx.urls, call.repo, issue))


async def remove_label(call: Call) -> Response:
    """Answer DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}."""
    issue = _issue(call)
    await svc.remove_label(call.ctx, call.repo, issue, call.path("name"))
    return json_response(render_issues.issue_labels(call.ctx.urls, call.repo, issue))


async def add_assignees(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/issues/{issue_number}/assignees."""
    issue = _issue(call)
    logins = [str(x) for x in (await call.body()).get("assignees") or []]
    await svc.add_assignees(call.ctx, call.repo, issue, logins)
    return json_response(_issue_json(call, issue), status=201)


async def remove_assignees(call: Call) -> Response:
    """Answer DELETE /repos/{owner}/{repo}/issues/{issue_number}/assignees."""
    issue = _issue(call)
    logins = [str(x) for x in (await call.body()).get("assignees") or []]
    await svc.remove_assignees(call.ctx, call.repo, issue, logins)
    return json_response(_issue_json(call, issue))


async def list_comments(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues/{issue_number}/comments."""
    issue = _issue(call)
    found = sorted(
        (c for c in call.repo.comments.values() if c.issue_number == issue.number),
        key=lambda c: c.id,
    )
    if since := call.query("since"):
        moment = parse_timestamp(since)
        found = [c for c in found if c.updated_at >= moment]
    page, headers = paginate(call, found)
    return json_response([_comment_json(call, c) for c in page], headers=headers)


async def create_comment(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/issues/{issue_number}/comments."""
    issue = _issue(call)
    body = await call.body()
    comment = svc.create_comment(call.ctx, call.repo, issue, str(body.get("body") or ""))
    return json_response(_comment_json(call, comment), status=201)


async def get_comment(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    return json_response(
        _comment_json(call, svc.find_comment(call.repo, call.path_int("comment_id")))
    )


async def update_comment(call: Call) -> Response:
    """Answer PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    comment = svc.find_comment(call.repo, call.path_int("comment_id"))
    _may_edit(call, comment.user_login)
    body = await call.body()
    svc.update_comment(call.ctx, call.repo, comment, str(body.get("body") or ""))
    return json_response(_comment_json(call, comment))


async def delete_comment(call: Call) -> Response:
    """Answer DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}."""
    comment = svc.find_comment(call.repo, call.path_int("comment_id"))
    _may_edit(call, comment.user_login)
    svc.delete_comment(call.ctx, call.repo, comment)
    return no_content()


def _subject(call: Call) -> tuple[str, int]:
    if "comment_id" in call.request.path_params:
        return "comment", svc.find_comment(call.repo, call.path_int("comment_id")).id
    return "issue", _issue(call).number


async def list_reactions(call: Call) -> Response:
    """Answer GET .../reactions on an issue or an issue comment."""
    kind, ident = _subject(call)
    found = svc.reactions_on(call.repo, kind, ident)
    if content := call.query("content"):
        found = [r for r in found if r.content == content]
    page, headers = paginate(call, found)
    state = call.core.state
    rendered = [render_issues.reaction(call.ctx.urls, state, r) for r in page]
    return json_response(rendered, headers=headers)


async def create_reaction(call: Call) -> Response:
    """Answer POST .../reactions: 201 when new, 200 when the same reaction already exists."""
    kind, ident = _subject(call)
    content = str((await call.body()).get("content") or "")
    reaction, created = svc.add_reaction(call.ctx, call.repo, kind, ident, content)
    rendered = render_issues.reaction(call.ctx.urls, call.core.state, reaction)
    return json_response(rendered, status=201 if created else 200)


async def delete_reaction(call: Call) -> Response:
    """Answer DELETE .../reactions/{reaction_id}."""
    kind, ident = _subject(call)
    reaction_id = call.path_int("reaction_id")
    found = call.repo.reactions.get(reaction_id)
    if found is not None and found.user_login != call.ctx.login:
        raise ApiError(403, "You can only delete your own reactions.")
    svc.delete_reaction(call.repo, kind, ident, reaction_id)
    return no_content()


def routes(core: HubCore) -> list[Route]:
    """Return the issue routes."""
    base = "/repos/{owner}/{repo}/issues"
    one = base + "/{issue_number:int}"
    comment = base + "/comments/{comment_id:int}"

    def r(method: str, path: str, handler: Handler, role: str | None = None) -> Route:
        # Conversation features (comments, labels, reactions) also work on pull requests.
        categories = _ISSUES if path in (base, one) else _ISSUES_OR_PULLS
        return api_route(core, method, path, handler, categories=categories, user_role=role)

    return [
        r("GET", base, list_issues),
        r("POST", base, create_issue, "read"),
        r("GET", one, get_issue),
        r("PATCH", one, update_issue, "read"),
        r("GET", one + "/labels", list_labels),
        r("POST", one + "/labels", add_labels, "triage"),
        r("PUT", one + "/labels", set_labels, "triage"),
        r("DELETE", one + "/labels/{name}", remove_label, "triage"),
        r("POST", one + "/assignees", add_assignees, "triage"),
        r("DELETE", one + "/assignees", remove_assignees, "triage"),
        r("GET", one + "/comments", list_comments),
        r("POST", one + "/comments", create_comment, "read"),
        r("GET", comment, get_comment),
        r("PATCH", comment, update_comment, "read"),
        r("DELETE", comment, delete_comment, "read"),
        r("GET", one + "/reactions", list_reactions),
        r("POST", one + "/reactions", create_reaction, "read"),
        r("DELETE", one + "/reactions/{reaction_id:int}", delete_reaction, "read"),
        r("GET", comment + "/reactions", list_reactions),
        r("POST", comment + "/reactions", create_reaction, "read"),
        r("DELETE", comment + "/reactions/{reaction_id:int}", delete_reaction, "read"),
    ]
