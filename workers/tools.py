"""The agent's tools: their JSON schemas, the pure text operations, and the ToolBox dispatcher.

Every tool returns text for a `tool_result`; a mistake the agent can correct (a bad path, an
absent edit target, a protected file) comes back as an error outcome, never as an exception.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from app.globs import glob_match
from app.pathrules import PathError, WriteRules, normalize_path
from app.policy import PathPolicy
from app.roles import ALL_TOOLS, Role
from app.sandbox.base import Sandbox, SandboxFileError


class ToolSpec(TypedDict):
    """One tool as the Anthropic Messages API takes it."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True)
class ToolOutcome:
    """A tool call's result: the text for the model and whether it reports an error."""

    content: str
    is_error: bool = False


class ToolError(Exception):
    """A tool call the agent can correct; the message is sent back as an error result."""


@dataclass(frozen=True)
class ToolLimits:
    """Bounds that keep one tool result small and one call short."""

    list_max: int = 500
    read_max_bytes: int = 1_000_000
    read_max_lines: int = 2_000
    line_max_chars: int = 2_000
    search_max_results: int = 200
    search_max_files: int = 2_000
    search_seconds: float = 60.0
    run_default_seconds: int = 120
    run_max_seconds: int = 1_800
    run_output_chars: int = 16_000


def _object(properties: dict[str, Any], required: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


_PATH = {"type": "string", "description": "Path relative to the repository root, e.g. src/app.py"}

TOOL_SPECS: dict[str, ToolSpec] = {
    "list_files": {
        "name": "list_files",
        "description": (
            "List files in the repository whose paths match a glob. `*` matches within one "
            "directory, `**` across directories (e.g. `src/**/*.py`). `.git` is never listed."
        ),
        "input_schema": _object(
            {
                "pattern": {"type": "string", "description": "Glob; default `**` (all files)"},
                "limit": {"type": "integer", "minimum": 1, "description": "At most this many"},
            },
            [],
        ),
    },
    "read_file": {
        "name": "read_file",
        "description": (
            "Read a text file. Each line is prefixed with its 1-based number and a tab; the "
            "numbers are not part of the file. Give start_line/end_line (inclusive) for a range."
        ),
        "input_schema": _object(
            {
                "path": _PATH,
                "start_line": {"type": "integer", "minimum": 1},
                "end_line": {"type": "integer", "minimum": 1},
            },
            ["path"],
        ),
    },
    "search": {
        "name": "search",
        "description": (
            "Search file contents with a Perl-compatible regular expression. Returns "
            "`path:line: text` for matching lines; binary files and .git are skipped."
        ),
        "input_schema": _object(
            {
                "pattern": {"type": "string", "description": "Regular expression"},
                "path_glob": {"type": "string", "description": "Only files matching this glob"},
                "max_results": {"type": "integer", "minimum": 1},
            },
            ["pattern"],
        ),
    },
    "write_file": {
        "name": "write_file",
        "description": (
            "Create a file or replace its whole content. Parent directories are created. "
            "Prefer edit_file for changing part of an existing file."
        ),
        "input_schema": _object(
            {"path": _PATH, "content": {"type": "string"}}, ["path", "content"]
        ),
    },
    "edit_file": {
        "name": "edit_file",
        "description": (
            "Replace exact text in a file. old_text must match the file exactly (whitespace "
            "included, line numbers excluded) and occur once, unless replace_all is true."
        ),
        "input_schema": _object(
            {
                "path": _PATH,
                "old_text": {"type": "string"},
                "new_text": {"type": "string"},
                "replace_all": {"type": "boolean", "description": "Replace every occurrence"},
            },
            ["path", "old_text", "new_text"],
        ),
    },
    "run": {
        "name": "run",
        "description": (
            "Run a shell command in the repository (no network, no credentials). Returns the "
            "exit code and the end of stdout and stderr. Use it to build and run tests."
        ),
        "input_schema": _object(
            {
                "command": {"type": "string"},
                "timeout": {"type": "integer", "minimum": 1, "description": "Seconds; default 120"},
                "cwd": {"type": "string", "description": "Directory relative to the root"},
            },
            ["command"],
        ),
    },
    "finish": {
        "name": "finish",
        "description": "Say you are done: summarize what you changed and how you verified it.",
        "input_schema": _object({"summary": {"type": "string"}}, ["summary"]),
    },
}

MAX_TARGETS_CHARS = 100_000

_JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "boolean": (bool,)}


def validate_input(schema: Mapping[str, Any], tool_input: object) -> dict[str, Any]:
    """Return the input if it fits the schema; raise ToolError naming every problem."""
    if not isinstance(tool_input, Mapping):
        raise ToolError("the tool input must be a JSON object")
    properties: dict[str, Any] = schema["properties"]
    problems: list[str] = []
    if extra := sorted(set(tool_input) - set(properties)):
        problems.append(f"unexpected fields {', '.join(extra)} (accepted: {', '.join(properties)})")
    if missing := [name for name in schema["required"] if name not in tool_input]:
        problems.append(f"missing required fields {', '.join(missing)}")
    for name, value in tool_input.items():
        spec = properties.get(name)
        if spec is None:
            continue
        expected = spec["type"]
        is_bool = isinstance(value, bool)
        if not isinstance(value, _JSON_TYPES[expected]) or (expected != "boolean" and is_bool):
            article = "an" if expected == "integer" else "a"
            problems.append(f"{name} must be {article} {expected}, got {type(value).__name__}")
        elif expected == "integer" and value < spec.get("minimum", value):
            problems.append(f"{name} must be at least {spec['minimum']}")
    if problems:
        raise ToolError("invalid input: " + "; ".join(problems))
    return dict(tool_input)


def number_lines(text: str, start: int | None, end: int | None, limits: ToolLimits) -> str:
    """Return lines `start`..`end` (1-based, inclusive) with numbers, at most `read_max_lines`."""
    lines = text.splitlines()
    if not lines:
        return "(empty file)"
    first = start or 1
    if first > len(lines):
        raise ToolError(f"start_line {first} is past the end (the file has {len(lines)} lines)")
    if end is not None and end < first:
        raise ToolError(f"end_line {end} is before start_line {first}")
    wanted = min(end or len(lines), len(lines))
    last = min(wanted, first + limits.read_max_lines - 1)
    rendered = []
    for number in range(first, last + 1):
        line = lines[number - 1]
        if len(line) > limits.line_max_chars:
            line = line[: limits.line_max_chars] + f" [... {len(line)} characters in all]"
        rendered.append(f"{number:>6}\t{line}")
    if last < wanted:
        rendered.append(
            f"[shown lines {first}-{last} of {len(lines)}; read on with start_line={last + 1}]"
        )
    return "\n".join(rendered)


def replace_exact(text: str, old: str, new: str, replace_all: bool) -> tuple[str, int]:
    """Return `text` with `old` replaced and the count; raise if absent or ambiguous."""
    if not old:
        raise ToolError("old_text is empty; use write_file to write a whole file")
    count = text.count(old)
    if count == 0:
        hint = ""
        if old.strip() and old.strip() in text:
            hint = " (it does occur with different surrounding whitespace)"
        raise ToolError(
            f"old_text was not found{hint}; read the file again and copy the text exactly, "
            "without the line-number prefixes"
        )
    if count > 1 and not replace_all:
        lines = _lines_of(text, old)
        raise ToolError(
            f"old_text occurs {count} times (at lines {', '.join(map(str, lines))}); include "
            "more surrounding text to make it unique, or set replace_all to true"
        )
    return text.replace(old, new), count


def _lines_of(text: str, needle: str) -> list[int]:
    found: list[int] = []
    position = text.find(needle)
    while position != -1 and len(found) < 10:
        found.append(text.count("\n", 0, position) + 1)
        position = text.find(needle, position + len(needle))
    return found


def tail(text: str, limit: int) -> str:
    """Return the last `limit` characters of `text`, saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"[... first {len(text) - limit} characters cut ...]\n{text[-limit:]}"


def parse_grep(output: str, max_results: int, line_max_chars: int) -> tuple[list[str], bool]:
    """Return `path:line: text` results from `grep -Z -n` output, and whether any were cut."""
    results: list[str] = []
    for record in output.splitlines():
        path, separator, rest = record.partition("\0")
        number, colon, line = rest.partition(":")
        if not separator or not colon or not number.isdigit():
            continue  # A line broken by the output cap.
        if len(results) == max_results:
            return results, True
        line = line.strip()
        if len(line) > line_max_chars:
            line = line[:line_max_chars] + " [...]"
        results.append(f"{path.removeprefix('./')}:{number}: {line}")
    return results, False


class ToolBox:
    """The tools one agent run may use, over one sandbox, under one role's write rules.

    `finish` is offered to the model with the others, but the agent loop handles it: it ends
    the loop and touches no sandbox.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        rules: WriteRules,
        tools: Sequence[str] = ALL_TOOLS,
        limits: ToolLimits | None = None,
    ) -> None:
        if unknown := sorted(set(tools) - set(TOOL_SPECS)):
            raise ValueError(f"unknown tools: {', '.join(unknown)}")
        self.sandbox = sandbox
        self.rules = rules
        self.limits = limits or ToolLimits()
        self.tools = tuple(tools)
        self.written: list[str] = []
        self._handlers: dict[str, Callable[..., Awaitable[str]]] = {
            "list_files": self.list_files,
            "read_file": self.read_file,
            "search": self.search,
            "write_file": self.write_file,
            "edit_file": self.edit_file,
            "run": self.run,
        }

    @classmethod
    def for_role(
        cls, sandbox: Sandbox, role: Role, paths: PathPolicy, limits: ToolLimits | None = None
    ) -> ToolBox:
        """Return the ToolBox for `role`: its tools, its write globs, the repository's paths."""
        return cls(sandbox, WriteRules.for_role(role, paths), role.tools, limits)

    @property
    def schemas(self) -> list[ToolSpec]:
        """Return the Anthropic tool definitions for this run's tools."""
        return [TOOL_SPECS[name] for name in self.tools]

    async def dispatch(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        """Validate and run one tool call; correctable mistakes come back as error outcomes."""
        if name not in self.tools or name not in self._handlers:
            return ToolOutcome(f"unknown tool {name!r}; use one of {', '.join(self.tools)}", True)
        try:
            values = validate_input(TOOL_SPECS[name]["input_schema"], arguments)
            return ToolOutcome(await self._handlers[name](**values))
        except (ToolError, PathError, SandboxFileError) as error:
            return ToolOutcome(str(error), is_error=True)

    async def list_files(self, pattern: str = "**", limit: int | None = None) -> str:
        """List files matching `pattern`, at most `limit` (bounded by the limits)."""
        bound = min(limit or self.limits.list_max, self.limits.list_max)
        matches = [path for path in await self.sandbox.list_files() if glob_match(pattern, path)]
        if not matches:
            return f"no files match {pattern!r}"
        shown = "\n".join(matches[:bound])
        more = len(matches) - bound
        return shown + (f"\n[{more} more files not shown; narrow the pattern]" if more > 0 else "")

    async def read_file(
        self, path: str, start_line: int | None = None, end_line: int | None = None
    ) -> str:
        """Return a text file's lines with numbers."""
        data = await self.sandbox.read_file(normalize_path(path), self.limits.read_max_bytes)
        if b"\0" in data[:8192]:
            raise ToolError(f"{path} is a binary file")
        return number_lines(
            data.decode("utf-8", errors="replace"), start_line, end_line, self.limits
        )

    async def search(
        self, pattern: str, path_glob: str | None = None, max_results: int | None = None
    ) -> str:
        """Search file contents with grep inside the sandbox (so a bad regex only costs it time)."""
        bound = min(max_results or self.limits.search_max_results, self.limits.search_max_results)
        targets = "."
        if path_glob is not None:
            files = [
                path for path in await self.sandbox.list_files() if glob_match(path_glob, path)
            ]
            if not files:
                return f"no files match {path_glob!r}"
            if len(files) > self.limits.search_max_files:
                raise ToolError(f"{len(files)} files match {path_glob!r}; narrow path_glob")
            targets = " ".join(shlex.quote(f"./{path}") for path in files)
            # One shell argument holds at most 128 KiB on Linux.
            if len(targets) > MAX_TARGETS_CHARS:
                raise ToolError(f"{len(files)} files match {path_glob!r}; narrow path_glob")
        for dialect in ("-P", "-E"):
            command = (
                f"grep -rnIZ --exclude-dir=.git -m {bound} {dialect} "
                f"-e {shlex.quote(pattern)} -- {targets}"
            )
            result = await self.sandbox.exec(command, self.limits.search_seconds)
            # Fall back to extended regexps where grep was built without PCRE.
            if not (result.exit_code == 2 and "-P" in result.stderr):
                break
        if result.timed_out:
            raise ToolError(f"the search took over {self.limits.search_seconds:g}s; narrow it")
        if result.exit_code == 2 and not result.stdout:
            raise ToolError(f"search failed: {result.stderr.strip()}")
        matches, cut = parse_grep(result.stdout, bound, self.limits.line_max_chars)
        if not matches:
            return f"no matches for {pattern!r}"
        if cut or result.truncated:
            matches.append(f"[results stopped at {len(matches)}; narrow the pattern or path_glob]")
        return "\n".join(matches)

    async def _checked(self, path: str, size: int) -> str:
        clean = self.rules.check(path, size)
        resolved = await self.sandbox.resolve(clean)
        if resolved != clean:
            # A symlink inside the checkout must not lead into a protected file.
            self.rules.check(resolved, size)
        return resolved

    def _record(self, path: str) -> None:
        if path not in self.written:
            self.written.append(path)

    async def write_file(self, path: str, content: str) -> str:
        """Create or replace a whole file."""
        data = content.encode("utf-8")
        target = await self._checked(path, len(data))
        await self.sandbox.write_file(target, data)
        self._record(target)
        return f"wrote {target} ({len(data)} bytes)"

    async def edit_file(
        self, path: str, old_text: str, new_text: str, replace_all: bool = False
    ) -> str:
        """Replace exact text in an existing file."""
        target = await self._checked(path, 0)
        data = await self.sandbox.read_file(target, self.rules.max_file_bytes)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ToolError(f"{target} is not UTF-8 text; use write_file") from error
        if old_text == new_text:
            raise ToolError("old_text and new_text are the same; nothing would change")
        try:
            changed, count = replace_exact(text, old_text, new_text, replace_all)
        except ToolError as error:
            raise ToolError(f"{target}: {error}") from error
        encoded = changed.encode("utf-8")
        self.rules.check(target, len(encoded))
        await self.sandbox.write_file(target, encoded)
        self._record(target)
        return f"replaced {count} occurrence{'s' if count > 1 else ''} in {target}"

    async def run(
        self,
        command: str,
        timeout: int | None = None,  # noqa: ASYNC109 - the command's limit, as the model names it
        cwd: str = ".",
    ) -> str:
        """Run a shell command in the sandbox and report its exit code and output tails."""
        seconds = min(timeout or self.limits.run_default_seconds, self.limits.run_max_seconds)
        result = await self.sandbox.exec(command, seconds, normalize_path(cwd))
        if result.timed_out:
            status = f"timed out after {seconds}s and was killed"
        else:
            status = f"exit code {result.exit_code} after {result.duration:.1f}s"
        cap = self.limits.run_output_chars
        sections = [status]
        for label, text in (("stdout", result.stdout), ("stderr", result.stderr)):
            if text.strip():
                sections.append(f"[{label}]\n{tail(text.rstrip(), cap)}")
        return "\n".join(sections)
