"""A doctor's finding: ok, a warning, or a failure with what to do about it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]

_LABEL = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


@dataclass(frozen=True)
class Line:
    """One check's result. A failure's `detail` says what is wrong and how to fix it."""

    status: Status
    subject: str
    detail: str


def ok(subject: str, detail: str) -> Line:
    """A check that passed."""
    return Line("ok", subject, detail)


def warn(subject: str, detail: str) -> Line:
    """Something that works now but will surprise the operator."""
    return Line("warn", subject, detail)


def fail(subject: str, detail: str) -> Line:
    """A check that failed; `detail` names the cause and the fix."""
    return Line("fail", subject, detail)


def render(lines: Sequence[Line]) -> str:
    """One screen: a line per check, the subjects aligned, and a closing count."""
    width = max((len(line.subject) for line in lines), default=0)
    body = [f"{_LABEL[line.status]}  {line.subject.ljust(width)}  {line.detail}" for line in lines]
    failures = sum(line.status == "fail" for line in lines)
    warnings = sum(line.status == "warn" for line in lines)
    if failures:
        body.append(f"{plural(failures, 'check')} failed, {plural(warnings, 'warning')}")
    else:
        body.append(f"all checks passed, {plural(warnings, 'warning')}")
    return "\n".join(body)


def plural(count: int, noun: str) -> str:
    """`1 check`, `2 checks`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
