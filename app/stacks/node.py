"""Zero-configuration Node environments: node_modules from the lockfile, by the project's manager.

The manager is `[sandbox].package_manager`, else package.json's `packageManager` field, else
the lockfile present (pnpm-lock.yaml, yarn.lock, package-lock.json), else npm. pnpm and yarn
are installed at the version `packageManager` names (what corepack would run) into TOOLS_DIR
with npm, so they are on PATH offline later: corepack would keep them in a cache under $HOME,
which does not outlive the setup sandbox. Installs are frozen to the lockfile when there is one.
The scripts `test` and `build` become the test and build commands (`lint` when there is no test).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import PurePosixPath
from typing import Any

from app.globs import glob_match
from app.stacks.part import TOOLS_DIR, ReadText, StackPart, version_file

NODE_MANAGERS = ("npm", "pnpm", "yarn")
NODE_MODULES = "node_modules"
LOCKFILES = {
    "npm": ("package-lock.json", "npm-shrinkwrap.json"),
    "pnpm": ("pnpm-lock.yaml",),
    "yarn": ("yarn.lock",),
}
# Versions used when `packageManager` names none: the newest of the major that writes the
# lockfile's format (pnpm-lock.yaml's `lockfileVersion`), yarn classic for a v1 yarn.lock.
_PNPM_BY_LOCKFILE = {"9": "10", "6": "8", "5": "7"}
_DEFAULT_PNPM = "10"
_DEFAULT_YARN_CLASSIC = "1"
_DEFAULT_YARN_BERRY = "4"
# npm's placeholder for a package without tests.
_NO_TEST = "no test specified"
_ESLINT_CONFIGS = tuple(
    f"eslint.config.{ext}" for ext in ("js", "mjs", "cjs", "ts", "mts", "cts")
) + tuple(f".eslintrc{ext}" for ext in ("", ".js", ".cjs", ".json", ".yml", ".yaml"))
_SETTINGS_FILES = (".npmrc", ".yarnrc", ".yarnrc.yml", "pnpm-workspace.yaml")
_PACKAGE_MANAGER = re.compile(r"(?P<name>npm|pnpm|yarn)@(?P<version>[0-9][0-9A-Za-z.+-]*?)(\+.*)?")


def detect_node(
    files: set[str],
    read_text: ReadText,
    forced: str,
    *,
    custom_setup: bool,
    released_before: str = "",
) -> StackPart | None:
    """Return the Node share of the plan, or None without a root package.json."""
    if "package.json" not in files:
        return None
    try:
        package = json.loads(read_text("package.json") or "")
    except json.JSONDecodeError as error:
        return _broken(f"package.json is not valid JSON: {error}")
    if not isinstance(package, dict):
        return _broken("package.json does not hold an object")
    declared = _PACKAGE_MANAGER.fullmatch(str(package.get("packageManager", "")))
    manager = forced or (declared["name"] if declared else "") or _by_lockfile(files)
    lockfile = next((name for name in LOCKFILES[manager] if name in files), "")
    pinned = declared["version"] if declared and declared["name"] == manager else ""
    berry = manager == "yarn" and _is_berry(files, read_text, pinned, lockfile)
    run = manager
    raw_scripts = package.get("scripts")
    scripts: dict[str, Any] = raw_scripts if isinstance(raw_scripts, dict) else {}
    test_script = str(scripts.get("test", ""))
    test = f"{run} test" if test_script and _NO_TEST not in test_script else ""
    if not test and "lint" in scripts:
        test = f"{run} run lint"
    dependencies = _dependencies(package)
    tsc = "typescript" in dependencies and "tsconfig.json" in files
    eslint = "eslint" in dependencies and (
        any(name in files for name in _ESLINT_CONFIGS) or "eslintConfig" in package
    )
    own_tool = manager != "npm"
    workspaces = _workspace_dirs(files, read_text, package)
    version_name, version = version_file(read_text, files, (".nvmrc", ".node-version"))
    return StackPart(
        stack="node",
        package_manager=manager,
        lockfile=lockfile,
        version=version,
        setup=_setup(manager, pinned, lockfile, berry, read_text, released_before),
        tool_setup=(),
        build=f"{run} run build" if "build" in scripts else "",
        test=test,
        analysers=("tsc",) * tsc + ("eslint",) * eslint,
        tool_analysers=(),
        env_dirs=(
            NODE_MODULES,
            *(f"{path}/{NODE_MODULES}" for path in workspaces),
            *(TOOLS_DIR,) * own_tool,
        ),
        path_dirs=(f"{NODE_MODULES}/.bin", *(f"{TOOLS_DIR}/bin",) * own_tool),
        key_files=tuple(
            sorted(
                (
                    {"package.json", lockfile, version_name}
                    | (set(_SETTINGS_FILES) & files)
                    | {f"{path}/package.json" for path in workspaces}
                )
                - {""}
            )
        ),
    )


def _by_lockfile(files: set[str]) -> str:
    for manager in ("pnpm", "yarn", "npm"):
        if any(name in files for name in LOCKFILES[manager]):
            return manager
    return "npm"


def _is_berry(files: set[str], read_text: ReadText, pinned: str, lockfile: str) -> bool:
    """Yarn 2+ ("berry") by its pinned version, its .yarnrc.yml, or its lockfile's format."""
    if pinned:
        return not pinned.startswith("1.")
    if ".yarnrc.yml" in files:
        return True
    return bool(lockfile) and "__metadata:" in (read_text(lockfile) or "")


def _setup(
    manager: str,
    pinned: str,
    lockfile: str,
    berry: bool,
    read_text: ReadText,
    released_before: str,
) -> tuple[str, ...]:
    quiet = "--no-audit --no-fund"
    if manager == "npm":
        if lockfile:
            return (f"npm ci {quiet}",)
        # No lockfile: resolve as of when the dependencies were last touched.
        before = f" --before={shlex.quote(released_before)}" if released_before else ""
        return (f"npm install {quiet}{before}",)
    # The pinned manager's own bin directory comes first, for lifecycle scripts that call it.
    path = f'PATH="$PWD/{TOOLS_DIR}/bin:$PATH"'
    if manager == "pnpm":
        version = pinned or _pnpm_for_lockfile(read_text(lockfile) if lockfile else None)
        install = f"{path} pnpm install{' --frozen-lockfile' if lockfile else ''}"
        return (_install_tool(f"pnpm@{version}"), install)
    if berry:
        # node_modules rather than Plug'n'Play: only directories can belong to the environment.
        immutable = " --immutable" if lockfile else ""
        return (
            _install_tool(f"@yarnpkg/cli-dist@{pinned or _DEFAULT_YARN_BERRY}"),
            f"{path} YARN_NODE_LINKER=node-modules YARN_ENABLE_GLOBAL_CACHE=false "
            f"yarn install{immutable}",
        )
    frozen = " --frozen-lockfile" if lockfile else ""
    return (
        _install_tool(f"yarn@{pinned or _DEFAULT_YARN_CLASSIC}"),
        f"{path} yarn install{frozen} --non-interactive",
    )


def _install_tool(spec: str) -> str:
    return f"npm install --global --prefix {TOOLS_DIR} --no-audit --no-fund {shlex.quote(spec)}"


def _pnpm_for_lockfile(text: str | None) -> str:
    match = re.search(r"(?m)^lockfileVersion:\s*['\"]?(\d+)", text or "")
    return _PNPM_BY_LOCKFILE.get(match[1], _DEFAULT_PNPM) if match else _DEFAULT_PNPM


def _dependencies(package: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies"):
        table = package.get(key)
        if isinstance(table, dict):
            names.update(table)
    return names


def _workspace_dirs(files: set[str], read_text: ReadText, package: dict[str, Any]) -> list[str]:
    """Return the workspace packages' directories (each may get its own node_modules)."""
    patterns = _workspace_patterns(files, read_text, package)
    if not patterns:
        return []
    directories = {
        str(PurePosixPath(path).parent)
        for path in files
        if path.endswith("/package.json") and NODE_MODULES not in path.split("/")
    }
    included = [p for p in patterns if not p.startswith("!")]
    excluded = [p[1:] for p in patterns if p.startswith("!")]
    return sorted(
        directory
        for directory in directories
        if any(glob_match(pattern, directory) for pattern in included)
        and not any(glob_match(pattern, directory) for pattern in excluded)
    )


def _workspace_patterns(files: set[str], read_text: ReadText, package: dict[str, Any]) -> list[str]:
    workspaces = package.get("workspaces")
    if isinstance(workspaces, dict):  # yarn classic's {"packages": [...], "nohoist": [...]}
        workspaces = workspaces.get("packages")
    patterns = [p for p in workspaces if isinstance(p, str)] if isinstance(workspaces, list) else []
    if "pnpm-workspace.yaml" in files:
        patterns += _pnpm_workspace_patterns(read_text("pnpm-workspace.yaml") or "")
    return [pattern.strip().rstrip("/").removeprefix("./") for pattern in patterns]


def _pnpm_workspace_patterns(text: str) -> list[str]:
    """Return the `packages:` list of pnpm-workspace.yaml (a YAML list of quoted globs)."""
    patterns: list[str] = []
    inside = False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "-", "\t")):
            inside = line.split(":", 1)[0].strip() == "packages"
            continue
        item = line.strip()
        if inside and item.startswith("-"):
            patterns.append(item[1:].split(" #", 1)[0].strip().strip("'\""))
    return patterns


def _broken(message: str) -> StackPart:
    """A plan whose setup stops with `message`: a broken manifest must be seen, not skipped."""
    return StackPart(
        stack="node",
        package_manager="",
        lockfile="",
        version="",
        setup=(f"echo {shlex.quote('townhall: ' + message)} >&2; exit 1",),
        tool_setup=(),
        build="",
        test="",
        analysers=(),
        tool_analysers=(),
        env_dirs=(NODE_MODULES,),
        path_dirs=(f"{NODE_MODULES}/.bin",),
        key_files=("package.json",),
    )
