"""Git smart HTTP at /{owner}/{repo}.git via `git http-backend`, authenticated like GitHub."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import authenticate, authorize_repo
from .core import Ctx, HubCore
from .errors import ApiError
from .git import run_git
from .pulls_service import on_ref_moved
from .render_core import Urls

_ALLOWED = ("info/refs", "git-upload-pack", "git-receive-pack", "HEAD")


def _parse_cgi(output: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = output.partition(b"\r\n\r\n")
    if not body and b"\n\n" in output:
        head, _, body = output.partition(b"\n\n")
    status, headers = 200, {}
    for line in head.decode(errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers, body


def routes(core: HubCore) -> list[Route]:
    """Return the git smart HTTP route."""

    async def endpoint(request: Request) -> Response:
        rest = request.path_params["rest"]
        if rest not in _ALLOWED and not rest.startswith("objects/"):
            return Response(status_code=404)
        owner, name = request.path_params["owner"], request.path_params["repo"]
        pushing = rest == "git-receive-pack" or request.query_params.get("service") == (
            "git-receive-pack"
        )
        challenge = {"WWW-Authenticate": 'Basic realm="localhub"'}
        try:
            actor = authenticate(core.state, request.headers.get("authorization"), core.now())
        except ApiError as error:
            return Response(error.message, status_code=401, headers=challenge)
        try:
            repo = core.state.repo(owner, name)
            authorize_repo(core.state, actor, repo, ("contents",), pushing, "write")
        except ApiError as error:
            # Like GitHub, ask anonymous clients for credentials instead of saying "not found".
            anonymous = actor.kind == "anonymous"
            status = 401 if anonymous or error.status == 401 else error.status
            return Response(error.message, status_code=status, headers=challenge)
        git = core.git(repo)
        env = {
            "GIT_PROJECT_ROOT": str(core.repos_dir),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{repo.owner_login}/{repo.name}.git/{rest}",
            "QUERY_STRING": request.url.query,
            "REQUEST_METHOD": request.method,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "REMOTE_USER": actor.login or "anonymous",
            "REMOTE_ADDR": request.client.host if request.client else "127.0.0.1",
        }
        if encoding := request.headers.get("content-encoding"):
            env["HTTP_CONTENT_ENCODING"] = encoding
        if protocol := request.headers.get("git-protocol"):
            env["GIT_PROTOCOL"] = protocol
        # An empty body goes to git as /dev/null: writing b"" to the pipe of a process that
        # already exited fails under uvloop ("handler is closed") and turned fetches into 500s.
        body = await request.body()
        if pushing and rest == "git-receive-pack":
            async with core.repo_lock(repo):
                before = await git.list_refs()
                _, output = await run_git(("http-backend",), stdin=body or None, env=env)
                after = await git.list_refs()
            ctx = Ctx(core, Urls(str(request.base_url)), actor.login or "")
            for ref in sorted(set(before) | set(after)):
                if before.get(ref) != after.get(ref):
                    await on_ref_moved(ctx, repo, ref, before.get(ref), after.get(ref))
            core.state.save()
        else:
            _, output = await run_git(("http-backend",), stdin=body or None, env=env)
        status, headers, payload = _parse_cgi(output)
        return Response(payload, status_code=status, headers=headers)

    return [Route("/{owner}/{repo}.git/{rest:path}", endpoint, methods=["GET", "POST"])]
