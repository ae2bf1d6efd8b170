"""REST routes for the git data API: blobs, trees, commits and references."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from app.clock import parse_timestamp

from . import render_git
from .api import Call, api_route, json_response, no_content
from .core import HubCore
from .errors import ApiError, not_found, validation_failed
from .git import Signature, TreeChange
from .pulls_service import on_ref_moved

_CONTENTS = ("contents",)
_SHA = re.compile(r"^[0-9a-f]{40}$")
_MODES = {
    "100644": "blob",
    "100755": "blob",
    "120000": "blob",
    "040000": "tree",
    "160000": "commit",
}


async def create_blob(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/git/blobs."""
    body = await call.body()
    content = body.get("content")
    if not isinstance(content, str):
        raise validation_failed("Blob", "content", "missing_field")
    encoding = body.get("encoding") or "utf-8"
    if encoding == "base64":
        try:
            data = base64.b64decode(content, validate=False)
        except binascii.Error as exc:
            raise validation_failed("Blob", "content") from exc
    elif encoding in ("utf-8", "utf8"):
        data = content.encode()
    else:
        raise validation_failed("Blob", "encoding")
    sha = await call.core.git(call.repo).write_blob(data)
    return json_response(render_git.short_blob(call.ctx.urls, call.repo, sha), status=201)


async def get_blob(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/git/blobs/{file_sha}."""
    git = call.core.git(call.repo)
    sha = call.path("file_sha")
    if not _SHA.match(sha) or await git.object_type(sha) != "blob":
        raise not_found()
    data = await git.read_object("blob", sha)
    return json_response(render_git.blob(call.ctx.urls, call.repo, sha, data))


def _tree_change(item: Any) -> TreeChange:
    if not isinstance(item, dict):
        raise validation_failed("Tree", "tree")
    path, mode = str(item.get("path") or ""), str(item.get("mode") or "")
    kind = str(item.get("type") or _MODES.get(mode, ""))
    if not path or mode not in _MODES or _MODES[mode] != kind:
        raise validation_failed("Tree", "tree.path" if not path else "tree.mode")
    if item.get("content") is not None and kind != "blob":
        raise validation_failed("Tree", "tree.content")
    sha = item.get("sha")
    return TreeChange(path, mode, kind, None if sha is None else str(sha))


async def create_tree(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/git/trees (with optional base_tree)."""
    body = await call.body()
    items = body.get("tree")
    if not isinstance(items, list):
        raise validation_failed("Tree", "tree", "missing_field")
    git = call.core.git(call.repo)
    changes = [_tree_change(item) for item in items]
    base_tree = body.get("base_tree")
    # One cat-file process checks the base tree and every object the entries point at.
    referenced = [c for c in changes if c.sha is not None and c.type != "commit"]
    wanted = [str(base_tree)] if base_tree else []
    found = await git.object_types(wanted + [str(c.sha) for c in referenced])
    if base_tree and found[0] not in ("tree", "commit"):
        raise ApiError(422, "Invalid tree info", errors=["base_tree is not a valid tree oid"])
    for change, kind in zip(referenced, found[len(wanted) :], strict=True):
        if kind != change.type:
            raise ApiError(422, f"tree.sha {change.sha} is not a valid {change.type}")
    for index, item in enumerate(items):
        if item.get("content") is not None:
            blob = await git.write_blob(str(item["content"]).encode())
            changes[index] = TreeChange(changes[index].path, changes[index].mode, "blob", blob)
    sha = await git.write_tree(str(base_tree) if base_tree else None, changes)
    entries = await git.read_tree(sha)
    return json_response(render_git.tree(call.ctx.urls, call.repo, sha, entries), status=201)


async def get_tree(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/git/trees/{tree_sha}[?recursive=1]."""
    git = call.core.git(call.repo)
    sha = await git.resolve(call.path("tree_sha"), "tree")
    if sha is None:
        raise not_found()
    recursive = call.query("recursive") not in (None, "", "0", "false")
    entries = await git.read_tree(sha, recursive=recursive)
    return json_response(render_git.tree(call.ctx.urls, call.repo, sha, entries))


def _signature(raw: Any, fallback: Signature) -> Signature:
    if not isinstance(raw, dict):
        return fallback
    when = parse_timestamp(raw["date"]) if raw.get("date") else fallback.date
    return Signature(str(raw.get("name") or fallback.name), str(raw.get("email") or ""), when)


async def create_commit(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/git/commits."""
    body = await call.body()
    git = call.core.git(call.repo)
    message, tree = body.get("message"), str(body.get("tree") or "")
    if not isinstance(message, str):
        raise validation_failed("Commit", "message", "missing_field")
    parents = [str(p) for p in body.get("parents") or []]
    kinds = await git.object_types([tree, *parents])
    if kinds[0] != "tree":
        raise ApiError(422, "Tree SHA does not exist")
    if any(kind != "commit" for kind in kinds[1:]):
        raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    actor = call.core.state.find_user(call.ctx.login) if call.ctx.login else None
    name = actor.login if actor else "localhub"
    default = Signature(name, f"{name}@users.noreply.localhub", call.core.now())
    author = _signature(body.get("author"), default)
    committer = _signature(body.get("committer"), author)
    sha = await git.write_commit(tree, parents, message, author, committer)
    info = await git.read_commit(sha)
    return json_response(render_git.git_commit(call.ctx.urls, call.repo, info), status=201)


async def get_commit(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/git/commits/{commit_sha}."""
    git = call.core.git(call.repo)
    sha = call.path("commit_sha")
    if not _SHA.match(sha) or await git.object_type(sha) != "commit":
        raise not_found()
    return json_response(
        render_git.git_commit(call.ctx.urls, call.repo, await git.read_commit(sha))
    )


def _full_ref(name: str) -> str:
    return name if name.startswith("refs/") else f"refs/{name}"


async def get_ref(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/git/ref/{ref}."""
    name = _full_ref(call.path("ref"))
    refs = await call.core.git(call.repo).list_refs(name)
    if name not in refs:
        raise not_found()
    return json_response(render_git.ref(call.ctx.urls, call.repo, name, refs[name]))


async def matching_refs(call: Call) -> Response:
    """Answer GET /repos/{owner}/{repo}/git/matching-refs/{ref}."""
    prefix = _full_ref(call.path("ref"))
    refs = await call.core.git(call.repo).list_refs("refs/")
    found = [render_git.ref(call.ctx.urls, call.repo, n, s) for n, s in sorted(refs.items())]
    return json_response([r for r in found if str(r["ref"]).startswith(prefix)])


async def create_ref(call: Call) -> Response:
    """Answer POST /repos/{owner}/{repo}/git/refs."""
    body = await call.body()
    name, sha = str(body.get("ref") or ""), str(body.get("sha") or "")
    if not name.startswith("refs/") or name.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes")
    git = call.core.git(call.repo)
    if await git.object_type(sha) is None:
        raise ApiError(422, "Object does not exist")
    async with call.core.repo_lock(call.repo):
        if name in await git.list_refs(name):
            raise ApiError(422, "Reference already exists")
        await git.update_ref(name, sha, "")
    await on_ref_moved(call.ctx, call.repo, name, None, sha)
    return json_response(render_git.ref(call.ctx.urls, call.repo, name, sha), status=201)


async def update_ref(call: Call) -> Response:
    """Answer PATCH /repos/{owner}/{repo}/git/refs/{ref} (fast-forward only unless `force`)."""
    body = await call.body()
    name = _full_ref(call.path("ref"))
    sha, force = str(body.get("sha") or ""), bool(body.get("force", False))
    git = call.core.git(call.repo)
    if await git.object_type(sha) != "commit":
        raise ApiError(422, "Object does not exist")
    async with call.core.repo_lock(call.repo):
        before = (await git.list_refs(name)).get(name)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        if not force and not await git.is_ancestor(before, sha):
            raise ApiError(422, "Update is not a fast forward")
        await git.update_ref(name, sha, before)
    if before != sha:
        await on_ref_moved(call.ctx, call.repo, name, before, sha)
    return json_response(render_git.ref(call.ctx.urls, call.repo, name, sha))


async def delete_ref(call: Call) -> Response:
    """Answer DELETE /repos/{owner}/{repo}/git/refs/{ref}."""
    name = _full_ref(call.path("ref"))
    git = call.core.git(call.repo)
    async with call.core.repo_lock(call.repo):
        before = (await git.list_refs(name)).get(name)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        await git.delete_ref(name)
    await on_ref_moved(call.ctx, call.repo, name, before, None)
    return no_content()


def routes(core: HubCore) -> list[Route]:
    """Return the git data routes."""
    base = "/repos/{owner}/{repo}/git"

    def r(method: str, path: str, handler: Any) -> Route:
        return api_route(core, method, base + path, handler, categories=_CONTENTS)

    return [
        r("POST", "/blobs", create_blob),
        r("GET", "/blobs/{file_sha}", get_blob),
        r("POST", "/trees", create_tree),
        r("GET", "/trees/{tree_sha:path}", get_tree),
        r("POST", "/commits", create_commit),
        r("GET", "/commits/{commit_sha}", get_commit),
        r("GET", "/ref/{ref:path}", get_ref),
        r("GET", "/matching-refs/{ref:path}", matching_refs),
        r("POST", "/refs", create_ref),
        r("PATCH", "/refs/{ref:path}", update_ref),
        r("DELETE", "/refs/{ref:path}", delete_ref),
    ]
