"""Environment plans: what a repository needs installed before anyone works on it.

Pure: from the checkout's file list, a way to read its manifests and the repository policy,
`plan_environment` derives the setup commands (run once, with network, cached), the build and
test commands and the review analysers the environment provides. Precedence, highest first:
1. `[sandbox]` of `.townhall.toml`: its `setup` replaces the detected installation (Townhall's
   analysers are still installed after it); `package_manager` forces the manager; `analysers`
   limits the review tools; `detect = false` derives nothing; image, toolchain versions,
   packages, env, domains and limits are taken as given.
2. `[commands]`: `build` and `test` replace the detected ones; `setup` runs after the setup phase.
3. Zero-configuration detection of Python (app.stacks.python) and Node (app.stacks.node).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from app.policy import ANALYSER_NAMES, POLICY_FILE, Policy
from app.stacks.node import NODE_MANAGERS, detect_node
from app.stacks.part import TOOLS_DIR, StackPart
from app.stacks.python import PYTHON_MANAGERS, detect_python

__all__ = ["ANALYSERS", "EnvironmentPlan", "describe_plan", "plan_environment"]

ANALYSERS = ANALYSER_NAMES
# Where a repository's own setup is told to install when detection is off (README).
_CONVENTIONAL_DIRS = (".venv", "node_modules")
_CONVENTIONAL_BINS = (".venv/bin", "node_modules/.bin")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@dataclass(frozen=True)
class EnvironmentPlan:
    """How to build a repository's environment and what it then provides.

    `setup` runs in order in the checkout WITH network and installs only into `env_dirs`;
    everything else runs without network, `path_dirs` first on PATH. `key_files` are the
    checkout files whose bytes, with the plan, key the cached environment.
    """

    stack: str
    detected: bool
    package_manager: str
    image: str
    python: str
    node: str
    system_packages: tuple[str, ...]
    setup: tuple[str, ...]
    build: str
    test: str
    analysers: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    domains: tuple[str, ...]
    command_timeout: float
    cpu: float
    memory_mb: int
    key_files: tuple[str, ...]
    env_dirs: tuple[str, ...]
    path_dirs: tuple[str, ...]


def plan_environment(
    files: Sequence[str],
    read_text: Callable[[str], str | None],
    policy: Policy,
    *,
    released_before: str = "",
) -> EnvironmentPlan:
    """Return the environment plan for a checkout with `files` (checkout-relative paths).

    `read_text(path)` returns a file's text, or None when it cannot be read.
    `released_before` (ISO 8601 UTC, e.g. "2025-08-24T07:06:35Z"), when given, makes what no
    lockfile pins resolve to the releases of that moment: pass the date of the last commit
    that changed the manifests, so an unlocked project gets the versions it was tested with.
    """
    if released_before and not _TIMESTAMP.fullmatch(released_before):
        raise ValueError(f"released_before: expected an ISO 8601 UTC time, got {released_before!r}")
    sandbox, commands = policy.sandbox, policy.commands
    present = set(files)
    forced = sandbox.package_manager
    custom_setup = bool(sandbox.setup)
    allowed = frozenset(sandbox.analysers)
    found = (
        detect_python(
            present,
            read_text,
            forced if forced in PYTHON_MANAGERS else "",
            custom_setup=custom_setup,
            released_before=released_before,
            tools_allowed=allowed,
        ),
        detect_node(
            present,
            read_text,
            forced if forced in NODE_MANAGERS else "",
            custom_setup=custom_setup,
            released_before=released_before,
        ),
    )
    parts = [part for part in found if part is not None] if sandbox.detect else []
    detected_setup = tuple(command for part in parts for command in part.setup)
    tool_setup = tuple(command for part in parts for command in part.tool_setup)
    setup = (*(sandbox.setup if custom_setup else detected_setup), *tool_setup)
    if commands.setup.strip():
        setup = (*setup, commands.setup)
    detected_build = " && ".join(part.build for part in parts if part.build)
    detected_test = " && ".join(part.test for part in parts if part.test)
    analysers = {name for part in parts for name in part.tool_analysers}
    if not custom_setup:
        analysers.update(name for part in parts for name in part.analysers)
    # Without detection, a repository's own setup installs where the README says to.
    conventional = custom_setup and not sandbox.detect
    key_files = {name for part in parts for name in part.key_files}
    if POLICY_FILE in present:
        key_files.add(POLICY_FILE)
    return EnvironmentPlan(
        stack="+".join(part.stack for part in parts) or "none",
        detected=bool(detected_setup and not custom_setup)
        or bool(detected_test and not commands.test.strip()),
        package_manager="+".join(part.package_manager for part in parts),
        image=sandbox.image,
        python=sandbox.python or _version(parts, "python"),
        node=sandbox.node or _version(parts, "node"),
        system_packages=sandbox.system_packages,
        setup=setup,
        build=commands.build.strip() or detected_build,
        test=commands.test.strip() or detected_test,
        analysers=tuple(name for name in ANALYSERS if name in analysers & allowed),
        env=sandbox.env,
        domains=sandbox.domains,
        command_timeout=sandbox.command_timeout_seconds,
        cpu=sandbox.cpu,
        memory_mb=sandbox.memory_mb,
        key_files=tuple(sorted(key_files)),
        env_dirs=_merged(part.env_dirs for part in parts) or _CONVENTIONAL_DIRS * conventional,
        path_dirs=_merged(part.path_dirs for part in parts) or _CONVENTIONAL_BINS * conventional,
    )


def describe_plan(plan: EnvironmentPlan) -> list[str]:
    """Return human-readable lines for doctor/check-config: what was detected and will run."""
    managers = plan.package_manager.split("+") if plan.package_manager else []
    lockfiles = [name for name in plan.key_files if name in _LOCKFILE_NAMES]
    details = ", ".join(
        [*managers, *(f"lockfile: {name}" for name in lockfiles)]
        + [f"python {plan.python}"] * bool(plan.python)
        + [f"node {plan.node}"] * bool(plan.node)
    )
    origin = "detected" if plan.detected else "configured"
    lines = [f"stack: {plan.stack}" + (f" ({details})" if details else "") + f", {origin}"]
    if plan.image:
        lines.append(f"image: {plan.image}")
    if plan.system_packages:
        lines.append(f"system packages: {', '.join(plan.system_packages)}")
    lines.extend(f"setup: {_abbreviated(command)}" for command in plan.setup)
    if not plan.setup:
        lines.append("setup: (none)")
    lines.append(f"build: {plan.build or '(none)'}")
    lines.append(f"test: {plan.test or '(none)'}")
    lines.append(f"analysers: {', '.join(plan.analysers) or '(none)'}")
    if plan.env:
        lines.append(f"env: {', '.join(name for name, _ in plan.env)}")
    if plan.domains:
        lines.append(f"setup may also reach: {', '.join(plan.domains)}")
    lines.append(f"key files: {', '.join(plan.key_files) or '(none)'}")
    lines.append(
        f"limits: {plan.command_timeout:g} s per command, {plan.cpu:g} CPU, {plan.memory_mb} MB"
    )
    return lines


_LOCKFILE_NAMES = {
    "uv.lock",
    "poetry.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "yarn.lock",
}


def _version(parts: list[StackPart], stack: str) -> str:
    return next((part.version for part in parts if part.stack == stack), "")


def _merged(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """Return the directories of every part, first occurrence first."""
    seen: dict[str, None] = {}
    for group in groups:
        seen.update(dict.fromkeys(group))
    # The tools directory goes last on PATH: a project's own pinned tools win over Townhall's.
    ordered = [name for name in seen if not name.startswith(TOOLS_DIR)]
    return (*ordered, *(name for name in seen if name.startswith(TOOLS_DIR)))


def _abbreviated(command: str, limit: int = 400) -> str:
    """Return a command short enough for one line (constraints files can be long)."""
    return command if len(command) <= limit else f"{command[: limit - 24]}… ({len(command)} chars)"
