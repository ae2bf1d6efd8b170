"""Extract the part of GitHub's published descriptions that Townhall's contract tests need.

    .venv/bin/python -m tests.contract.refresh [--openapi VERSION] [--graphql VERSION]

Downloads the pinned npm packages (`npm pack`, into a temporary directory): @octokit/openapi
(GitHub's REST description, `generated/api.github.com.json`, the 2022-11-28 API version that
app/github/client.py pins) and @octokit/graphql-schema. It writes tests/contract/data/:
- `openapi.json`: every operation Townhall calls (found in its source by tests/contract/calls.py)
  plus EXTRA_OPERATIONS, the webhooks localhub sends, and every component they refer to;
- `github.graphql.gz`: GitHub's GraphQL schema (SDL, gzipped: 1.2 MB as text).
CI reads only these files, so it needs no download. Re-run after Townhall calls a new operation
(tests/contract says so) or to move to a newer description, then run tests/contract.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from tests.contract.calls import rest_operations

OPENAPI_PACKAGE = "@octokit/openapi"
OPENAPI_VERSION = "23.0.2"
OPENAPI_FILE = "package/generated/api.github.com.json"
GRAPHQL_PACKAGE = "@octokit/graphql-schema"
GRAPHQL_VERSION = "15.26.1"
GRAPHQL_FILE = "package/schema.graphql"

DATA = Path(__file__).resolve().parent / "data"
OPENAPI_OUT = DATA / "openapi.json"
GRAPHQL_OUT = DATA / "github.graphql.gz"

# Operations localhub serves that Townhall does not call today but tests check, and ones a
# change in flight is likely to call (so a new call does not need a download at once).
EXTRA_OPERATIONS = (
    "repos/download-tarball-archive",
    "repos/list-contributors",
    "issues/get",
    "users/get-authenticated",
    "users/get-by-username",
    "apps/list-installations-for-authenticated-user",
)

# The webhook events and actions localhub sends (app/standins/localhub/*_service.py, events.py).
WEBHOOKS = (
    "installation-created",
    "issues-opened",
    "issues-edited",
    "issues-closed",
    "issues-reopened",
    "issues-labeled",
    "issues-unlabeled",
    "issues-assigned",
    "issues-unassigned",
    "issue-comment-created",
    "issue-comment-edited",
    "issue-comment-deleted",
    "pull-request-opened",
    "pull-request-edited",
    "pull-request-closed",
    "pull-request-reopened",
    "pull-request-synchronize",
    "pull-request-labeled",
    "pull-request-unlabeled",
    "pull-request-assigned",
    "pull-request-unassigned",
    "pull-request-review-submitted",
    "pull-request-review-comment-created",
    "check-run-created",
    "check-run-completed",
    "check-suite-completed",
    "status",
)

_METHODS = ("get", "put", "post", "patch", "delete")


def npm_pack(package: str, version: str, member: str, workdir: Path) -> bytes:
    """Download `package@version` with npm and return one file of it."""
    done = subprocess.run(
        ["npm", "pack", "--silent", f"{package}@{version}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    tarball = workdir / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        extracted = archive.extractfile(member)
        if extracted is None:
            raise SystemExit(f"{member} is not a file in {package}@{version}")
        return extracted.read()


def _refs(node: Any) -> set[str]:
    """Return every local `$ref` inside `node`."""
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def extract(description: dict[str, Any], operation_ids: set[str]) -> dict[str, Any]:
    """Return the operations, webhooks and referenced components of `description`."""
    operations: dict[str, Any] = {}
    for path, item in description["paths"].items():
        for method in _METHODS:
            operation = item.get(method)
            if operation and operation["operationId"] in operation_ids:
                operations[operation["operationId"]] = {
                    "method": method.upper(),
                    "path": path,
                    "parameters": item.get("parameters", []) + operation.get("parameters", []),
                    "requestBody": operation.get("requestBody"),
                    "responses": operation["responses"],
                }
    missing = operation_ids - operations.keys()
    if missing:
        raise SystemExit(f"not in the description: {sorted(missing)}")
    webhooks = {key: description["x-webhooks"][key]["post"]["requestBody"] for key in WEBHOOKS}
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(operations) | _refs(webhooks)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        node = _resolve(description, ref)
        components.setdefault(kind, {})[name] = node
        pending |= _refs(node) - seen
    return {
        "source": {
            "package": OPENAPI_PACKAGE,
            "version": description["info"]["version"],
            "file": OPENAPI_FILE.removeprefix("package/"),
        },
        "operations": dict(sorted(operations.items())),
        "webhooks": webhooks,
        "components": {kind: dict(sorted(items.items())) for kind, items in components.items()},
    }


def main() -> None:
    """Download the pinned packages and write tests/contract/data/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openapi", default=OPENAPI_VERSION)
    parser.add_argument("--graphql", default=GRAPHQL_VERSION)
    args = parser.parse_args()
    wanted = set(rest_operations()) | set(EXTRA_OPERATIONS)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        description = json.loads(npm_pack(OPENAPI_PACKAGE, args.openapi, OPENAPI_FILE, workdir))
        schema = npm_pack(GRAPHQL_PACKAGE, args.graphql, GRAPHQL_FILE, workdir)
    DATA.mkdir(parents=True, exist_ok=True)
    extracted = extract(description, wanted)
    OPENAPI_OUT.write_text(json.dumps(extracted, indent=1, sort_keys=True) + "\n")
    header = f"# {GRAPHQL_PACKAGE}@{args.graphql} {GRAPHQL_FILE.removeprefix('package/')}\n"
    GRAPHQL_OUT.write_bytes(gzip.compress(header.encode() + schema, mtime=0))
    print(f"{len(extracted['operations'])} operations, {len(extracted['webhooks'])} webhooks")
    print(f"wrote {OPENAPI_OUT} ({OPENAPI_OUT.stat().st_size} bytes)")
    print(f"wrote {GRAPHQL_OUT} ({GRAPHQL_OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
