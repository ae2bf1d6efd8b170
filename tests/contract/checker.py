"""Judge requests, answers and webhook payloads against GitHub's published REST description.

The description (tests/contract/data/openapi.json, extracted by refresh.py) is OpenAPI 3.0;
its schemas become JSON Schema draft 4 here (`nullable` turns into a null type) and are checked
with formats (`uri`, `date-time`), so a raw `[bot]` in a URL or a number where a string is
due is a violation. Each check returns a list of violations (empty: conforms).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

DATA = Path(__file__).resolve().parent / "data"
_BASE = "urn:github-openapi"
_MAX_ERRORS = 5

# Where the pinned description is known to be wrong about GitHub, each with the evidence.
# Each entry: a path of keys into `components` and the schema that replaces the node there.
ERRATA: tuple[tuple[tuple[str, ...], dict[str, Any], str], ...] = (
    (
        ("schemas", "pull-request-simple", "properties", "labels", "items", "properties",
         "description"),
        {"type": "string", "nullable": True},
        "A label without a description is null in every other label schema here, and "
        "GitHub's later descriptions (githubkit's 2022-11-28 models) make this one nullable.",
    ),
)  # fmt: skip


# The same, for schemas an operation carries inline: a path of keys into `operations`.
OPERATION_ERRATA: tuple[tuple[tuple[str, ...], dict[str, Any], str], ...] = (
    (
        ("apps/list-installations", "responses", "200", "content", "application/json", "schema",
         "items", "properties", "account"),
        {"anyOf": [{"$ref": "#/components/schemas/simple-user"},
                   {"$ref": "#/components/schemas/enterprise"}], "nullable": True},
        "The inline copy makes the account a user and an enterprise at once (allOf); the "
        "`installation` component it copies says either one (anyOf), as GitHub answers.",
    ),
)  # fmt: skip


def apply_errata(
    components: dict[str, Any],
    errata: tuple[tuple[tuple[str, ...], dict[str, Any], str], ...] = ERRATA,
) -> None:
    """Correct the description where ERRATA (or the `errata` given) says it is wrong."""
    for path, replacement, _why in errata:
        node = components
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = replacement


def to_json_schema(node: Any) -> Any:
    """Return an OpenAPI 3.0 schema tree as JSON Schema draft 4, refs pointing at _BASE."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_json_schema(value) for key, value in node.items()}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#/"):
        out["$ref"] = _BASE + out["$ref"]
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass(frozen=True)
class Operation:
    """One operation of the description."""

    operation_id: str
    method: str
    path: str
    parameters: list[dict[str, Any]]
    request_body: dict[str, Any] | None
    responses: dict[str, Any]

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        """Return the path parameters when `method path` is this operation, else None."""
        if method.upper() != self.method:
            return None
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        # A git ref may hold slashes (`heads/topic`); GitHub's templates take the rest there.
        pattern = pattern.replace("(?P<ref>[^/]+)", "(?P<ref>.+)")
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


class Contract:
    """GitHub's description, ready to check requests, answers and payloads."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.source = document["source"]
        apply_errata(document["components"])
        apply_errata(document["operations"], OPERATION_ERRATA)
        converted = to_json_schema({"components": document["components"]})
        self._components = converted["components"]
        resource = Resource.from_contents(converted, default_specification=DRAFT4)
        self._registry: Registry[Any] = Registry().with_resource(_BASE, resource)
        self.operations = {
            op_id: Operation(
                op_id,
                item["method"],
                item["path"],
                to_json_schema(item["parameters"]),
                to_json_schema(item["requestBody"]),
                to_json_schema(item["responses"]),
            )
            for op_id, item in document["operations"].items()
        }
        self.webhooks = to_json_schema(document["webhooks"])

    def deref(self, node: Any) -> Any:
        """Follow `$ref`s to the schema they name."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            _, _, kind, name = node["$ref"].removeprefix(_BASE).split("/", 3)
            node = self._components[kind][name]
        return node

    def validate(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        """Return the ways `value` breaks `schema` (at most a few, each with its JSON path)."""
        validator = Draft4Validator(
            schema, registry=self._registry, format_checker=Draft4Validator.FORMAT_CHECKER
        )
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [f"{where}: {e.json_path}: {e.message[:300]}" for e in errors[:_MAX_ERRORS]]

    def find(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """Return the operation (among those kept) that `method path` calls, and its path values.

        A literal segment beats a parameter (`/issues/comments` is not issue "comments").
        """
        found = [
            (operation, params)
            for operation in self.operations.values()
            if (params := operation.matches(method, path)) is not None
        ]
        return min(found, key=lambda pair: len(pair[1]), default=None)

    def _parameters(self, operation: Operation) -> list[dict[str, Any]]:
        return [self.deref(p) for p in operation.parameters]

    def check_request(self, operation: Operation, query: str, body: Any) -> list[str]:
        """Return how a request's query and JSON body break the operation's description."""
        where = f"{operation.operation_id} request"
        problems: list[str] = []
        declared = {p["name"]: p for p in self._parameters(operation) if p["in"] == "query"}
        sent = dict(parse_qsl(query, keep_blank_values=True))
        for name, value in sent.items():
            parameter = declared.get(name)
            if parameter is None:
                problems.append(f"{where}: query parameter {name!r} is not described")
                continue
            problems += self.validate(
                parameter.get("schema", {}), _typed(value, parameter), f"{where} ?{name}"
            )
        for name, parameter in declared.items():
            if parameter.get("required") and name not in sent:
                problems.append(f"{where}: required query parameter {name!r} missing")
        described = self.deref(operation.request_body) if operation.request_body else None
        if described is None:
            if body is not None:
                problems.append(f"{where}: a body was sent to an operation that takes none")
            return problems
        if body is None:
            if described.get("required"):
                problems.append(f"{where}: the required body is missing")
            return problems
        schema = described["content"].get("application/json", {}).get("schema", {})
        return problems + self.validate(schema, body, f"{where} body")

    def check_response(
        self,
        operation: Operation,
        status: int,
        body: Any,
        headers: dict[str, str],
        *,
        conditional: bool = False,
    ) -> list[str]:
        """Return how an answer breaks the operation's description for its status.

        A 304 to a conditional request (`If-None-Match`) is HTTP's answer for any GET
        (RFC 9110), though the description lists it only for some operations.
        """
        where = f"{operation.operation_id} {status}"
        if status == 304 and conditional and operation.method == "GET":
            return [f"{where}: a body in a 304"] if body not in (None, "", b"") else []
        described = operation.responses.get(str(status)) or operation.responses.get("default")
        if described is None:
            return [f"{where}: status not described (described: {sorted(operation.responses)})"]
        described = self.deref(described)
        problems = [
            f"{where}: header {name} missing"
            for name, header in (described.get("headers") or {}).items()
            if self.deref(header).get("required") and name.lower() not in headers
        ]
        if status in (301, 302, 307) and "location" not in headers:
            problems.append(f"{where}: a redirect without Location")
        content = described.get("content") or {}
        schema = next(
            (v.get("schema") for k, v in content.items() if "json" in k and "schema" in v), None
        )
        if schema is None:
            if body not in (None, "", b""):
                problems.append(f"{where}: a body where the description has none")
            return problems
        if body is None:
            return [*problems, f"{where}: no JSON body where the description has one"]
        return problems + self.validate(schema, body, f"{where} body")

    def check_webhook(self, key: str, payload: Any) -> list[str]:
        """Return how a webhook payload (`issues-opened`...) breaks the description's schema."""
        described = self.webhooks.get(key)
        if described is None:
            return [f"webhook {key}: not described (or not extracted: see refresh.py)"]
        schema = self.deref(described)["content"]["application/json"]["schema"]
        return self.validate(schema, payload, f"webhook {key}")


def _typed(value: str, parameter: dict[str, Any]) -> Any:
    """Turn a query string value into the JSON type its parameter describes."""
    kind = parameter.get("schema", {}).get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def webhook_key(event: str, action: str | None) -> str:
    """Return the description's key for an event and action (`pull_request`, `opened`)."""
    name = event.replace("_", "-")
    return f"{name}-{action.replace('_', '-')}" if action else name


@cache
def contract() -> Contract:
    """Return the description kept in tests/contract/data/openapi.json."""
    return Contract(json.loads((DATA / "openapi.json").read_text()))
