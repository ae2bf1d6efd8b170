"""The built-in tool adapters: how each tool is invoked and which parser reads its output."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reviewer.static.findings import Finding
from reviewer.static.parsers.eslint import parse_eslint
from reviewer.static.parsers.junit import parse_junit
from reviewer.static.parsers.mypy import parse_mypy
from reviewer.static.parsers.pyright import parse_pyright
from reviewer.static.parsers.ruff import parse_ruff
from reviewer.static.parsers.tsc import parse_tsc

# A list runs as argv; a string runs through the shell (configured commands are shell lines).
Command = list[str] | str
Parser = Callable[[str, str], list[Finding]]

# pytest prints its report to stderr and the JUnit XML to stdout, so the runner needs nothing
# but the command's output. xunit1 is the JUnit flavour that records each test's file and line;
# a module that fails to import must not hide the results of all the others.
PYTEST_COMMAND = (
    "report=$(mktemp) || exit 1; "
    "pytest -q -p no:cacheprovider -o junit_family=xunit1 --continue-on-collection-errors "
    '--junitxml="$report" >&2; '
    'status=$?; cat "$report" 2>/dev/null; rm -f "$report"; exit $status'
)
# JavaScript tools are usually project-local devDependencies.
_NODE_PATH = 'PATH="$PWD/node_modules/.bin:$PATH" '


@dataclass(frozen=True)
class Adapter:
    """One tool run: its command, the parser for its stdout, and exit codes meaning "skipped".

    An adapter without a parser is judged by its exit code alone.
    """

    tool: str
    command: Command
    parse: Parser | None = None
    skip_exit_codes: Mapping[int, str] = field(default_factory=dict)


def ruff_adapter() -> Adapter:
    """Return the ruff adapter (lint the whole checkout with the repo's configuration)."""
    return Adapter(
        "ruff", ["ruff", "check", "--no-cache", "--output-format", "json", "."], parse_ruff
    )


def mypy_adapter(*, files_configured: bool) -> Adapter:
    """Return the mypy adapter; without configured `files` it checks the whole checkout."""
    targets = [] if files_configured else ["."]
    return Adapter("mypy", ["mypy", "-O", "json", *targets], parse_mypy)


def pyright_adapter() -> Adapter:
    """Return the pyright adapter."""
    return Adapter("pyright", ["pyright", "--outputjson"], parse_pyright)


def pytest_adapter() -> Adapter:
    """Return the pytest adapter (JUnit XML on stdout, pytest's own report on stderr)."""
    return Adapter("pytest", PYTEST_COMMAND, parse_junit, {5: "no tests were collected"})


def tsc_adapter() -> Adapter:
    """Return the TypeScript compiler adapter (type check only, no output files)."""
    return Adapter("tsc", _NODE_PATH + "tsc --noEmit --pretty false", parse_tsc)


def eslint_adapter() -> Adapter:
    """Return the eslint adapter."""
    return Adapter("eslint", _NODE_PATH + "eslint -f json .", parse_eslint)


def command_adapter(name: str, command: str) -> Adapter:
    """Return an adapter for a configured shell command, judged by its exit code."""
    return Adapter(name, command)
