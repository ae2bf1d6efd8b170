"""Zero-configuration Python environments: one virtualenv with the project and its test needs.

Everything installs with the standard library's venv and pip, whatever the project's manager:
uv's and poetry's lockfiles become a pip constraints file (app.stacks.lockfiles), so their
binaries are never needed and the versions are the ones the project is known to pass with.
What goes in, in one pip run so the resolver sees it all:
- the project itself, editable (`-e .`), when it has a build (pyproject, setup.py, setup.cfg),
  with its test extras (`[project.optional-dependencies]` test/tests/testing, else dev, plus
  the extras tox.ini's [testenv] names);
- its PEP 735 dependency groups test/tests/testing (else dev), or poetry's groups of those
  names, listed requirement by requirement (includes resolved, dev only without a test group);
- requirements.txt and the test/dev requirement files (requirements-dev.txt,
  test-requirements.txt, requirements/test.txt, tox.ini's `-r` deps), used as they are;
- pytest, when the repository has Python tests but does not ask for it.
Review tools go in a separate venv (TOOLS_DIR) so they never change the project's resolution.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any

from app.stacks.lockfiles import (
    LOCKFILES,
    LockfileError,
    Pin,
    lockfile_pins,
    pinned_version,
    requirement_pins,
)
from app.stacks.part import TOOLS_DIR, ReadText, StackPart, version_file, write_file_commands
from app.stacks.pymanifest import (
    Manifest,
    parse_toml,
    read_manifest,
    referenced_files,
    requirement_files,
    toml_table,
    tox_config,
)

PYTHON_MANAGERS = ("pip", "uv", "poetry")
VENV = ".venv"
CONSTRAINTS = f"{TOOLS_DIR}/constraints.txt"
# Townhall's own analyser versions, used when the repository pins none.
DEFAULT_TOOL_PINS = {"ruff": "0.17.6", "mypy": "2.4.1"}
# One pip everywhere, whatever the image's Python bundles: 25.1+ reads dependency groups and
# 26.0+ resolves as of a date (`--uploaded-prior-to`, PIP_UPLOADED_PRIOR_TO).
PIP_PIN = "pip==26.3"
# pip ignores the host's configuration files (a local mirror, a machine-wide constraints file):
# the environment is built from the public registries setup may reach, the same on every
# backend. A repository that needs another index sets PIP_INDEX_URL in [sandbox].env and its
# host in [sandbox].domains.
PIP = "PIP_CONFIG_FILE=/dev/null"

# A requirement on pytest itself (not a plugin such as pytest-cov), at the start of a line.
_PYTEST = re.compile(r"(?im)^\s*pytest(?![-_.\w])")


def detect_python(
    files: set[str],
    read_text: ReadText,
    forced: str,
    *,
    custom_setup: bool,
    released_before: str = "",
    tools_allowed: frozenset[str] = frozenset(("ruff", "mypy")),
) -> StackPart | None:
    """Return the Python share of the plan, or None when the checkout holds no Python.

    `tools_allowed` limits which of ruff and mypy Townhall installs (`[sandbox] analysers`).
    """
    req_files = requirement_files(files, read_text)
    has_python = any(path.endswith((".py", ".pyi")) for path in files)
    manifests = [name for name in ("pyproject.toml", "setup.py", "setup.cfg") if name in files]
    if not (has_python or manifests or req_files):
        return None
    if not (manifests or req_files or set(LOCKFILES) & files or custom_setup):
        # Loose scripts with no manifest need nothing installed: no networked setup at all.
        return _bare(files, read_text)
    pyproject = parse_toml(read_text("pyproject.toml")) if "pyproject.toml" in files else {}
    manifest = read_manifest(files, read_text, pyproject)
    manager = forced or _detect_manager(files, pyproject)
    lockfile = f"{manager}.lock" if manager in ("uv", "poetry") else ""
    lockfile = lockfile if lockfile in files else ""
    try:
        lock_pins = lockfile_pins(lockfile, read_text(lockfile) or "") if lockfile else ()
        lock_problem = ""
    except LockfileError as error:
        lock_pins, lock_problem = (), str(error)
    file_pins = tuple(pin for name in req_files for pin in requirement_pins(read_text(name) or ""))
    tests = any(_is_python_test(path) for path in files)
    requirements = list(manifest.group_requirements)
    texts = [*requirements, *manifest.own_requirements, *map(read_text, req_files)]
    if tests and not any(_PYTEST.search(text or "") for text in texts):
        requirements.append("pytest")
    setup = list(_fail(lock_problem) if lock_problem else ())
    if lock_pins:
        setup.extend(write_file_commands(CONSTRAINTS, (pin.constraint() for pin in lock_pins)))
    install = _pip_install(manifest, req_files, requirements, bool(lock_pins), released_before)
    if install:
        setup.append(
            f"python3 -m venv {VENV} && {PIP} {VENV}/bin/python -m pip install -q {PIP_PIN}"
        )
        setup.append(install)
    # With nothing to install (loose scripts, no tests) there is no project venv at all.
    venv = (VENV,) if install or custom_setup else ()
    wanted = ("ruff",) * has_python + ("mypy",) * manifest.mypy_configured
    tools = tuple(tool for tool in wanted if tool in tools_allowed)
    version_name, version = version_file(read_text, files, (".python-version",))
    python = "python" if custom_setup else f"{VENV}/bin/python"
    references = referenced_files(files, read_text, req_files)
    tox = ("tox.ini",) if tox_config(files, read_text) is not None else ()
    return StackPart(
        stack="python",
        package_manager=manager,
        lockfile=lockfile,
        version=version,
        setup=tuple(setup),
        tool_setup=_tool_setup(tools, (*lock_pins, *file_pins)),
        build="",
        test=f"{python} -m pytest -q" if tests else "",
        analysers=("pytest",) * tests,
        tool_analysers=tools,
        env_dirs=(*venv, *(TOOLS_DIR,) * bool(tools or lock_pins)),
        path_dirs=(*(f"{path}/bin" for path in venv), *(f"{TOOLS_DIR}/bin",) * bool(tools)),
        key_files=tuple(
            sorted({*manifests, *req_files, *references, lockfile, version_name, *tox} - {""})
        ),
    )


def _detect_manager(files: set[str], pyproject: dict[str, Any]) -> str:
    if "uv.lock" in files:
        return "uv"
    if "poetry.lock" in files or isinstance(toml_table(pyproject, "tool").get("poetry"), dict):
        return "poetry"
    return "pip"


def _pip_install(
    manifest: Manifest,
    requirement_files: tuple[str, ...],
    requirements: list[str],
    constrained: bool,
    released_before: str,
) -> str:
    arguments: list[str] = []
    if manifest.installable:
        extras = f"[{','.join(manifest.extras)}]" if manifest.extras else ""
        arguments += ["-e", f".{extras}"]
    for name in requirement_files:
        arguments += ["-r", name]
    arguments += requirements
    if not arguments:
        return ""
    options = ["-c", CONSTRAINTS] if constrained else []
    # What the lockfile does not pin resolves as of when the dependencies were last touched,
    # not to today's releases (which broke real suites). pip's variable for
    # `--uploaded-prior-to` also reaches the pip that installs build dependencies.
    dated = f"PIP_UPLOADED_PRIOR_TO={shlex.quote(released_before)} " if released_before else ""
    words = [f"{VENV}/bin/pip", "install", "-q", *options, *arguments]
    return f"{PIP} {dated}" + " ".join(shlex.quote(word) for word in words)


def _tool_setup(tools: tuple[str, ...], pins: tuple[Pin, ...]) -> tuple[str, ...]:
    """Install the analysers in their own venv, at the repository's pins when it has them."""
    if not tools:
        return ()
    specs = [f"{tool}=={pinned_version(pins, tool) or DEFAULT_TOOL_PINS[tool]}" for tool in tools]
    install = f"{PIP} {TOOLS_DIR}/bin/pip install -q {' '.join(specs)}"
    return (f"python3 -m venv {TOOLS_DIR} && {install}",)


def _fail(message: str) -> tuple[str, ...]:
    """A setup command that stops setup with `message`: a broken lockfile must be seen."""
    return (f"echo {shlex.quote('townhall: ' + message)} >&2; exit 1",)


def _bare(files: set[str], read_text: ReadText) -> StackPart:
    version_name, version = version_file(read_text, files, (".python-version",))
    return StackPart(
        stack="python",
        package_manager="",
        lockfile="",
        version=version,
        setup=(),
        tool_setup=(),
        build="",
        test="",
        analysers=(),
        tool_analysers=(),
        env_dirs=(),
        path_dirs=(),
        key_files=(version_name,) if version_name else (),
    )


def _is_python_test(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))
