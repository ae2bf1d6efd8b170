"""GraphQL object values: dict nodes with callables for connections, and cursor pagination."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import GraphQLError

from app.clock import format_timestamp

from .auth import Actor
from .core import HubCore
from .models import REACTION_CONTENTS, Comment, Issue, Reaction, Repo, User
from .pull_facts import current_shas, pull_facts
from .render_core import Urls, node_id

T = TypeVar("T")
Node = dict[str, Any]

GRAPHQL_CONTENT = dict(
    zip(
        REACTION_CONTENTS,
        ("THUMBS_UP", "THUMBS_DOWN", "LAUGH", "HOORAY", "CONFUSED", "HEART", "ROCKET", "EYES"),
        strict=True,
    )
)
REST_CONTENT = {value: key for key, value in GRAPHQL_CONTENT.items()}


@dataclass
class GqlContext:
    """What resolvers need: the hub, URL builder, caller, and this query's cost figures."""

    core: HubCore
    urls: Urls
    actor: Actor
    cost: int
    node_count: int


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _offset(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        prefix, _, number = text.rpartition(":")
        if prefix != "cursor:v2":
            raise ValueError(text)
        return int(number)
    except ValueError as exc:
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from exc


def connection(
    items: Sequence[T],
    args: dict[str, Any],
    to_node: Callable[[T], Any],
    edge_extra: Callable[[T], dict[str, Any]] | None = None,
) -> Node:
    """Page `items` with first/after/last/before and return a Relay connection value."""
    start = _offset(args["after"]) if args.get("after") else 0
    end = _offset(args["before"]) - 1 if args.get("before") else len(items)
    indices = list(range(start, max(min(end, len(items)), start)))
    if args.get("first") is not None:
        indices = indices[: int(args["first"])]
    if args.get("last") is not None:
        indices = indices[-int(args["last"]) :] if int(args["last"]) else []
    nodes = [to_node(items[i]) for i in indices]
    edges = []
    for index, node in zip(indices, nodes, strict=True):
        edge = {"cursor": _cursor(index + 1), "node": node}
        if edge_extra is not None:
            edge |= edge_extra(items[index])
        edges.append(edge)
    return {
        "totalCount": len(items),
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": bool(indices) and indices[-1] + 1 < len(items),
            "hasPreviousPage": bool(indices) and indices[0] > 0,
            "startCursor": _cursor(indices[0] + 1) if indices else None,
            "endCursor": _cursor(indices[-1] + 1) if indices else None,
        },
    }


def actor_node(g: GqlContext, user: User) -> Node:
    """Return a User, Bot or Organization node; bots log in without their `[bot]` suffix."""
    kind = user.type if user.type in ("User", "Bot", "Organization") else "User"
    path = f"/apps/{user.login.removesuffix('[bot]')}" if kind == "Bot" else f"/{user.login}"
    return {
        "__typename": kind,
        "id": node_id(kind, user.id),
        "databaseId": user.id,
        "login": user.login.removesuffix("[bot]") if kind == "Bot" else user.login,
        "name": user.name,
        "email": user.email or "",
        "createdAt": format_timestamp(user.created_at),
        "avatarUrl": lambda info, size=None: g.urls.html(f"/avatars/u/{user.id}?v=4"),
        "resourcePath": path,
        "url": g.urls.html(path),
    }


def _reaction_node(g: GqlContext, item: Reaction, parent: Node) -> Node:
    user = g.core.state.user(item.user_login)
    return {
        "id": node_id("Reaction", item.id),
        "databaseId": item.id,
        "content": GRAPHQL_CONTENT[item.content],
        "createdAt": format_timestamp(item.created_at),
        # GitHub types Reaction.user as User: other reactors are only visible as reactors.
        "user": actor_node(g, user) if user.type == "User" else None,
        "reactable": parent,
    }


def add_reactable(g: GqlContext, node: Node, reactions: list[Reaction]) -> Node:
    """Give `node` reactionGroups and reactions fields over `reactions` (oldest first)."""
    viewer = g.actor.login

    def reactions_field(info: Any, **args: Any) -> Node:
        found = list(reactions)
        if args.get("content"):
            found = [r for r in found if r.content == REST_CONTENT[args["content"]]]
        order = args.get("orderBy") or {}
        if order.get("direction") == "DESC":
            found.reverse()
        page = connection(found, args, lambda r: _reaction_node(g, r, node))
        page["viewerHasReacted"] = any(r.user_login == viewer for r in found)
        return page

    def group(content: str) -> Node:
        members = [r for r in reactions if r.content == content]
        return {
            "content": GRAPHQL_CONTENT[content],
            "createdAt": format_timestamp(members[0].created_at) if members else None,
            "viewerHasReacted": any(r.user_login == viewer for r in members),
            "reactors": lambda info, **args: connection(
                members,
                args,
                lambda r: actor_node(g, g.core.state.user(r.user_login)),
                lambda r: {"reactedAt": format_timestamp(r.created_at)},
            ),
        }

    node["reactionGroups"] = lambda info: [group(c) for c in REACTION_CONTENTS]
    node["reactions"] = reactions_field
    node["viewerCanReact"] = True
    return node


def _reactions(repo: Repo, kind: str, ident: int) -> list[Reaction]:
    found = [r for r in repo.reactions.values() if (r.subject_type, r.subject_id) == (kind, ident)]
    return sorted(found, key=lambda r: r.id)


def comment_node(g: GqlContext, repo: Repo, item: Comment) -> Node:
    """Return an IssueComment node."""
    state = g.core.state
    node: Node = {
        "id": node_id("IssueComment", item.id),
        "databaseId": item.id,
        "body": item.body,
        "createdAt": format_timestamp(item.created_at),
        "updatedAt": format_timestamp(item.updated_at),
        "url": g.urls.html(f"/{repo.full_name}/issues/{item.issue_number}#issuecomment-{item.id}"),
        "author": actor_node(g, state.user(item.user_login)),
        "authorAssociation": state.author_association(repo, item.user_login),
    }
    return add_reactable(g, node, _reactions(repo, "comment", item.id))


def issue_node(g: GqlContext, repo: Repo, item: Issue) -> Node:
    """Return an Issue (or, for pull requests, a PullRequest) node."""
    state = g.core.state
    kind = "PullRequest" if item.is_pull else "Issue"
    path = f"/{repo.full_name}/{'pull' if item.is_pull else 'issues'}/{item.number}"
    labels = [repo.labels[name] for name in item.labels if name in repo.labels]
    comments = sorted(
        (c for c in repo.comments.values() if c.issue_number == item.number), key=lambda c: c.id
    )
    node: Node = {
        "__typename": kind,
        "id": node_id(kind, item.id),
        "databaseId": item.id,
        "number": item.number,
        "title": item.title,
        "body": item.body or "",
        "createdAt": format_timestamp(item.created_at),
        "updatedAt": format_timestamp(item.updated_at),
        "closedAt": format_timestamp(item.closed_at) if item.closed_at else None,
        "closed": item.state == "closed",
        "state": item.state.upper(),
        "url": g.urls.html(path),
        "author": actor_node(g, state.user(item.user_login)),
        "authorAssociation": state.author_association(repo, item.user_login),
        "labels": lambda info, **args: connection(
            labels,
            args,
            lambda lab: {
                "id": node_id("Label", lab.id),
                "name": lab.name,
                "color": lab.color,
                "description": lab.description,
            },
        ),
        "assignees": lambda info, **args: connection(
            item.assignees, args, lambda login: actor_node(g, state.user(login))
        ),
        "comments": lambda info, **args: connection(
            comments, args, lambda c: comment_node(g, repo, c)
        ),
    }
    if item.is_pull:
        _add_pull_fields(g, repo, item, node)
    return add_reactable(g, node, _reactions(repo, "issue", item.number))


def _add_pull_fields(g: GqlContext, repo: Repo, item: Issue, node: Node) -> None:
    pull = repo.pulls[item.number]

    async def head_oid(info: Any) -> str:
        head, _ = await current_shas(g.core, repo, pull)
        return head

    async def mergeable(info: Any) -> str:
        facts = await pull_facts(g.core, repo, pull)
        if facts.mergeable is None:
            return "UNKNOWN"
        return "MERGEABLE" if facts.mergeable else "CONFLICTING"

    node |= {
        "state": "MERGED" if pull.merged else item.state.upper(),
        "merged": pull.merged,
        "mergedAt": format_timestamp(pull.merged_at) if pull.merged_at else None,
        "headRefName": pull.head_ref,
        "baseRefName": pull.base_ref,
        "isDraft": pull.draft,
        "headRefOid": head_oid,
        "mergeable": mergeable,
    }
