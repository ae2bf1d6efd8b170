"""The one finding record every tool adapter and diff check produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Literal

Severity = Literal["error", "warning", "note"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")
# The `tool` of every finding that comes from checking the diff rather than running a tool.
DIFF_TOOL = "diff"
# The rule of a finding saying a required run did not happen (a tool not installed, a command
# that timed out, an environment that could not be set up): it always blocks (reviewer/verdict).
COULD_NOT_RUN = "could-not-run"


class ToolOutputError(ValueError):
    """A tool's output could not be read as the format its adapter expects."""


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: 1-based line and column; path relative to the repository root.

    `path` is None for findings about the whole run (a failed build command); `line` is None for
    findings about a whole file (a deleted test file); `column` is None when the tool gives none.
    """

    tool: str
    rule: str
    severity: Severity
    path: str | None
    line: int | None
    column: int | None
    message: str

    def to_json(self) -> dict[str, str | int | None]:
        """Return the finding as a JSON-serialisable dict."""
        return asdict(self)


def relative_path(path: str, root: str) -> str:
    """Return `path` relative to `root` when it lies inside it, as a normalised POSIX path."""
    # Tools print absolute paths (ruff, pyright, eslint) or paths relative to the working
    # directory (mypy, tsc); both must come out as the repo-relative paths the diff uses.
    pure = PurePosixPath(path.replace("\\", "/"))
    base = PurePosixPath(root.replace("\\", "/"))
    if pure.is_absolute():
        if not pure.is_relative_to(base):
            return str(pure)
        pure = pure.relative_to(base)
    parts = [part for part in pure.parts if part != "."]
    return "/".join(parts) if parts else "."


def as_severity(value: str, default: Severity = "error") -> Severity:
    """Return `value` as a Severity when it names one, else `default`."""
    for severity in SEVERITIES:
        if value == severity:
            return severity
    return default


def one_based(value: object, *, offset: int = 0) -> int | None:
    """Return `value + offset` as a 1-based position, or None when the tool gave no position."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    position = value + offset
    return position if position >= 1 else None
