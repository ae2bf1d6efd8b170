"""Per-repository policy: `.townhall.toml` on the default branch, parsed into typed settings.

Every key has a documented default (see README "Repository policy"). Unknown keys and wrong
types are errors naming the key; a broken file is never silently replaced by the defaults.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from app.roles import ALL_TOOLS, Role, default_roles
from app.secretscan import declared_env_problem
from app.settings import TIERS

POLICY_FILE = ".townhall.toml"

MergeMode = Literal["auto", "maintainer"]

PACKAGE_MANAGERS = ("pip", "uv", "poetry", "npm", "pnpm", "yarn")
# The review tools an environment can provide (app.stacks installs them when they apply).
ANALYSER_NAMES = ("ruff", "mypy", "pytest", "tsc", "eslint")
# Variables every sandbox sets itself; `[sandbox].env` cannot replace them.
RESERVED_ENV_NAMES = ("PATH", "HOME", "TMPDIR", "LANG")
# Setup's downloads go through Townhall's egress proxy, whatever the repository would say.
_PROXY_ENV_NAMES = frozenset(
    (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "NPM_CONFIG_PROXY",
        "NPM_CONFIG_HTTPS_PROXY",
    )
)


@dataclass(frozen=True)
class VotePolicy:
    """How reactions become a decision."""

    threshold: float = 3.0
    window_hours: float = 24.0
    min_account_age_days: float = 30.0
    count_author: bool = False
    up: tuple[str, ...] = ("+1",)
    down: tuple[str, ...] = ("-1",)
    maintainer_weight: float = 1.0
    contributor_weight: float = 1.0
    decay_half_life_days: float = 0.0
    require_maintainer_approval: bool = False
    approve_reaction: str = "rocket"
    veto_reaction: str = ""


@dataclass(frozen=True)
class CommandPolicy:
    """How to build and test the repository (run inside the sandbox)."""

    setup: str = ""
    build: str = ""
    test: str = ""


@dataclass(frozen=True)
class PathPolicy:
    """Files no worker may write, and files whose change makes a task run alone.

    `protected` adds to the built-in list (`app.pathrules.ALWAYS_PROTECTED`: CI and runner
    configuration, this file, git internals), which always applies and cannot be narrowed.
    """

    protected: tuple[str, ...] = ()
    barriers: tuple[str, ...] = ()
    max_file_bytes: int = 1_000_000


@dataclass(frozen=True)
class LimitPolicy:
    """Parallelism and retries."""

    max_parallel: int = 3
    max_attempts: int = 3
    fix_rounds: int = 2


@dataclass(frozen=True)
class BudgetPolicy:
    """Spending caps per task and per day for this repository (dollars)."""

    per_task_usd: float = 3.0
    per_day_usd: float = 20.0
    max_turns: int = 40
    max_minutes: float = 30.0


@dataclass(frozen=True)
class MergePolicy:
    """Whether an approved PR merges itself or waits for a maintainer."""

    mode: MergeMode = "auto"
    method: Literal["squash", "merge", "rebase"] = "squash"


@dataclass(frozen=True)
class RubricItem:
    """One yes/no question of a repository's own review rubric (`[[review.criteria]]`)."""

    id: str
    question: str
    blocking: bool = False


@dataclass(frozen=True)
class ReviewPolicy:
    """How the reviewer judges a change.

    `criteria` replace the default rubric, or are added to it when `extend` is true;
    `context_tokens` bounds what the reviewer model is shown (diff, files, findings).
    """

    criteria: tuple[RubricItem, ...] = ()
    extend: bool = False
    context_tokens: int = 60_000


@dataclass(frozen=True)
class SandboxPolicy:
    """What the repository's environment needs (`[sandbox]`); empty values mean "detect".

    `setup` replaces the detected setup commands (app.stacks); `env` holds non-secret values
    only (app.secretscan.declared_env_problem: a placeholder under a credential-like name is
    fine, a real-looking credential or a Townhall-side name is an error); `domains` are
    reachable during setup only, besides the package registries.
    """

    image: str = ""
    python: str = ""
    node: str = ""
    system_packages: tuple[str, ...] = ()
    package_manager: str = ""
    setup: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    domains: tuple[str, ...] = ()
    command_timeout_seconds: float = 900.0
    cpu: float = 2.0
    memory_mb: int = 4096
    # False: derive nothing (no detected setup, test, build or analysers); only what
    # `[sandbox]` and `[commands]` say runs.
    detect: bool = True
    # The review tools Townhall may install and phase 1 must run, where they apply.
    analysers: tuple[str, ...] = ANALYSER_NAMES


@dataclass(frozen=True)
class Policy:
    """The whole validated `.townhall.toml`."""

    votes: VotePolicy = field(default_factory=VotePolicy)
    commands: CommandPolicy = field(default_factory=CommandPolicy)
    paths: PathPolicy = field(default_factory=PathPolicy)
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    merge: MergePolicy = field(default_factory=MergePolicy)
    review: ReviewPolicy = field(default_factory=ReviewPolicy)
    sandbox: SandboxPolicy = field(default_factory=SandboxPolicy)
    roles: dict[str, Role] = field(default_factory=lambda: dict(default_roles()))


class PolicyError(Exception):
    """`.townhall.toml` is invalid; `problems` names every bad key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {problem}" for problem in problems)
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        super().__init__(f"{POLICY_FILE} is invalid ({count}):\n{listed}")


_SECTIONS: dict[str, type[Any]] = {
    "votes": VotePolicy,
    "commands": CommandPolicy,
    "paths": PathPolicy,
    "limits": LimitPolicy,
    "budget": BudgetPolicy,
    "merge": MergePolicy,
}

# Choices for string fields, checked by name; kept next to the dataclasses they constrain.
_CHOICES: dict[str, tuple[str, ...]] = {
    "merge.mode": ("auto", "maintainer"),
    "merge.method": ("squash", "merge", "rebase"),
    "sandbox.package_manager": ("", *PACKAGE_MANAGERS),
    "tier": TIERS,
}

_POSITIVE = {
    "limits.max_parallel",
    "limits.max_attempts",
    "budget.max_turns",
    "review.context_tokens",
}
# Quantities where any fraction above zero makes sense (half a CPU) but zero does not.
_ABOVE_ZERO = {"sandbox.command_timeout_seconds", "sandbox.cpu", "sandbox.memory_mb"}
_CRITERION_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
# `[sandbox]` strings end up in shell commands and image builds, so each has a strict shape.
_SANDBOX_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "python": (re.compile(r"3(\.\d{1,2}){0,2}"), 'a Python version such as "3.12"'),
    "node": (re.compile(r"\d{1,3}(\.\d{1,3}){0,2}"), 'a Node.js version such as "20"'),
    "system_packages": (
        re.compile(r"[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?"),
        'Debian package names such as "libportaudio2"',
    ),
    "domains": (
        re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"),
        'host names such as "downloads.example.com" or "*.example.com"',
    ),
    "image": (
        re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*"),
        'a registry reference such as "python:3.12-slim"',
    ),
}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _type_name(value: object) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}.get(
        type(value), type(value).__name__
    )


def _check_value(key: str, default: object, value: object, problems: list[str]) -> object:
    """Return `value` converted to the type of `default`, or record why it cannot be."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        problems.append(f"{key}: expected a boolean, got {_type_name(value)}")
    elif isinstance(default, int | float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            if key in _ABOVE_ZERO and value <= 0:
                problems.append(f"{key}: must be > 0")
            elif value < 0 or (key in _POSITIVE and value < 1):
                problems.append(f"{key}: must be {'at least 1' if key in _POSITIVE else '>= 0'}")
            elif isinstance(default, int) and not isinstance(value, int):
                problems.append(f"{key}: expected an integer, got {value}")
            else:
                return type(default)(value)
        else:
            problems.append(f"{key}: expected a number, got {_type_name(value)}")
    elif isinstance(default, str):
        if isinstance(value, str):
            choices = _CHOICES.get(key) or _CHOICES.get(key.rsplit(".", 1)[-1])
            if choices and value not in choices:
                listed = ", ".join(choice or '""' for choice in choices)
                problems.append(f"{key}: expected one of {listed}, got {value!r}")
            else:
                return value
        else:
            problems.append(f"{key}: expected a string, got {_type_name(value)}")
    elif isinstance(default, tuple):
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        problems.append(f"{key}: expected an array of strings")
    return default


def _build_section(defaults: Any, prefix: str, table: object, problems: list[str]) -> Any:
    """Return `defaults` with a TOML table's values, recording unknown keys and bad types."""
    if not isinstance(table, dict):
        problems.append(f"{prefix}: expected a table, got {_type_name(table)}")
        return defaults
    known = {f.name for f in fields(defaults)} - {"name"}
    values: dict[str, object] = {}
    for key, value in table.items():
        full_key = f"{prefix}.{key}"
        if key not in known:
            problems.append(f"{full_key}: unknown key (known: {', '.join(sorted(known))})")
            continue
        values[key] = _check_value(full_key, getattr(defaults, key), value, problems)
    return replace(defaults, **values)


def _build_role(name: str, table: object, problems: list[str]) -> Role | None:
    base = default_roles().get(name) or Role(name=name, system_prompt="")
    if not isinstance(table, dict):
        problems.append(f"roles.{name}: expected a table, got {_type_name(table)}")
        return None
    role: Role = _build_section(base, f"roles.{name}", table, problems)
    if not role.system_prompt.strip():
        problems.append(f"roles.{name}.system_prompt: required for a new role")
    unknown_tools = sorted(set(role.tools) - set(ALL_TOOLS))
    if unknown_tools:
        problems.append(
            f"roles.{name}.tools: unknown tools {', '.join(unknown_tools)} "
            f"(known: {', '.join(ALL_TOOLS)})"
        )
    return role


def _build_criterion(key: str, table: object, problems: list[str]) -> RubricItem | None:
    """Return one `[[review.criteria]]` entry, or None after recording what is wrong with it."""
    if not isinstance(table, dict):
        problems.append(f"{key}: expected a table, got {_type_name(table)}")
        return None
    before = len(problems)
    unknown = sorted(set(table) - {"id", "question", "blocking"})
    if unknown:
        problems.append(f"{key}: unknown keys {', '.join(unknown)} (known: blocking, id, question)")
    ident, question, blocking = table.get("id"), table.get("question"), table.get("blocking", False)
    if not isinstance(ident, str) or not _CRITERION_ID.fullmatch(ident):
        problems.append(f"{key}.id: required; lowercase letters, digits, '-' and '_'")
    if not isinstance(question, str) or not question.strip():
        problems.append(f"{key}.question: required, a non-empty string")
    if not isinstance(blocking, bool):
        problems.append(f"{key}.blocking: expected a boolean, got {_type_name(blocking)}")
    if len(problems) > before:
        return None
    return RubricItem(str(ident), str(question).strip(), bool(blocking))


def _build_review(table: object, problems: list[str]) -> ReviewPolicy:
    """Return the `[review]` section; criteria are an array of tables with unique ids."""
    if not isinstance(table, dict):
        problems.append(f"review: expected a table, got {_type_name(table)}")
        return ReviewPolicy()
    rest = {key: value for key, value in table.items() if key != "criteria"}
    review: ReviewPolicy = _build_section(ReviewPolicy(), "review", rest, problems)
    raw = table.get("criteria", [])
    if not isinstance(raw, list):
        problems.append("review.criteria: expected an array of tables ([[review.criteria]])")
        return review
    criteria = [
        item
        for index, entry in enumerate(raw)
        if (item := _build_criterion(f"review.criteria[{index}]", entry, problems)) is not None
    ]
    seen: set[str] = set()
    for item in criteria:
        if item.id in seen:
            problems.append(f"review.criteria: id {item.id!r} is used more than once")
        seen.add(item.id)
    if "criteria" in table and not raw:
        problems.append("review.criteria: give at least one criterion, or leave the key out")
    return replace(review, criteria=tuple(criteria))


def _build_env(table: object, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """Return `[sandbox].env` as (name, value) pairs; secrets and reserved names are errors."""
    if not isinstance(table, dict):
        problems.append(f"sandbox.env: expected a table, got {_type_name(table)}")
        return ()
    pairs: list[tuple[str, str]] = []
    for name, value in table.items():
        key = f"sandbox.env.{name}"
        if not _ENV_NAME.fullmatch(name):
            problems.append(f"{key}: not a valid variable name (letters, digits and '_')")
        elif name in RESERVED_ENV_NAMES or name.upper() in _PROXY_ENV_NAMES:
            problems.append(f"{key}: set by the sandbox itself and cannot be overridden")
        elif not isinstance(value, str):
            problems.append(f"{key}: expected a string, got {_type_name(value)}")
        elif (problem := declared_env_problem(name, value)) is not None:
            problems.append(f"{key}: {problem}")
        else:
            pairs.append((name, value))
    return tuple(pairs)


def _build_sandbox(table: object, problems: list[str]) -> SandboxPolicy:
    """Return the `[sandbox]` section: typed like the rest, then each string's shape checked."""
    if not isinstance(table, dict):
        problems.append(f"sandbox: expected a table, got {_type_name(table)}")
        return SandboxPolicy()
    rest = {key: value for key, value in table.items() if key != "env"}
    sandbox: SandboxPolicy = _build_section(SandboxPolicy(), "sandbox", rest, problems)
    for name, (shape, meaning) in _SANDBOX_SHAPES.items():
        value = getattr(sandbox, name)
        for item in value if isinstance(value, tuple) else (value,) if value else ():
            if not shape.fullmatch(item):
                problems.append(f"sandbox.{name}: expected {meaning}, got {item!r}")
    for index, command in enumerate(sandbox.setup):
        if not command.strip():
            problems.append(f"sandbox.setup[{index}]: empty command")
    unknown = sorted(set(sandbox.analysers) - set(ANALYSER_NAMES))
    if unknown:
        problems.append(
            f"sandbox.analysers: unknown {', '.join(unknown)} (known: {', '.join(ANALYSER_NAMES)})"
        )
    return replace(sandbox, env=_build_env(table.get("env", {}), problems))


def parse_policy(text: str) -> Policy:
    """Parse `.townhall.toml` text into a Policy; raise PolicyError naming every bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError([f"not valid TOML: {error}"]) from error
    problems: list[str] = []
    sections: dict[str, Any] = {}
    roles = dict(default_roles())
    for key, table in data.items():
        if key == "roles":
            if not isinstance(table, dict):
                problems.append(f"roles: expected a table, got {_type_name(table)}")
                continue
            for name, role_table in table.items():
                role = _build_role(name, role_table, problems)
                if role is not None:
                    roles[name] = role
        elif key == "review":
            sections[key] = _build_review(table, problems)
        elif key == "sandbox":
            sections[key] = _build_sandbox(table, problems)
        elif key in _SECTIONS:
            sections[key] = _build_section(_SECTIONS[key](), key, table, problems)
        else:
            known = ", ".join(sorted([*_SECTIONS, "review", "roles", "sandbox"]))
            problems.append(f"{key}: unknown section (known: {known})")
    if problems:
        raise PolicyError(problems)
    return Policy(**sections, roles=roles)
