"""What a Python project's own files say it needs: pyproject.toml, setup.*, tox.ini, requirements.

Read by app.stacks.python; pure functions of the file list and a way to read root files.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from app.stacks.lockfiles import normalize_name
from app.stacks.part import ReadText

TEST_NAMES = ("test", "tests", "testing")
_REQUIREMENT_FILE = re.compile(
    r"(requirements([-_.][\w.-]+)?|[\w.-]+[-_]requirements|requirements/[\w.-]+)\.txt"
)
_REQUIREMENT_REFERENCE = re.compile(r"^\s*(-r|-c|--requirement|--constraint)[\s=]+(\S+)")
_MYPY_CONFIGS = ("mypy.ini", ".mypy.ini")


@dataclass(frozen=True)
class Manifest:
    """The parts of pyproject.toml / setup.* / tox.ini detection reads."""

    installable: bool
    extras: tuple[str, ...]
    # The project's own requirements and those of the chosen extras (to see if pytest is one).
    own_requirements: tuple[str, ...]
    group_requirements: tuple[str, ...]
    mypy_configured: bool


def read_manifest(files: set[str], read_text: ReadText, pyproject: dict[str, Any]) -> Manifest:
    """Return what the project's manifests ask to install for its tests."""
    project = toml_table(pyproject, "project")
    tool = toml_table(pyproject, "tool")
    poetry = toml_table(tool, "poetry")
    installable = bool(
        project or poetry or "build-system" in pyproject or {"setup.py", "setup.cfg"} & files
    )
    optional = {
        normalize_name(name): value
        for name, value in toml_table(project, "optional-dependencies").items()
        if isinstance(value, list)
    }
    wanted = _chosen(set(optional)) | (_tox_extras(files, read_text) & set(optional))
    dependencies = project.get("dependencies", [])
    own = [*(dependencies if isinstance(dependencies, list) else [])]
    own += [item for name in wanted for item in optional[name]]
    return Manifest(
        installable=installable,
        extras=tuple(sorted(wanted)),
        own_requirements=tuple(item for item in own if isinstance(item, str)),
        group_requirements=(*_dependency_groups(pyproject), *_poetry_groups(poetry)),
        mypy_configured=_mypy_configured(files, read_text, tool),
    )


def _chosen(names: set[str]) -> set[str]:
    """Return the test-named groups, or dev when there is none."""
    tests = {name for name in names if name in TEST_NAMES}
    return tests or ({"dev"} & names)


def _dependency_groups(pyproject: dict[str, Any]) -> list[str]:
    """Return the requirements of the chosen PEP 735 groups, includes resolved."""
    groups = {
        normalize_name(name): value
        for name, value in toml_table(pyproject, "dependency-groups").items()
    }

    def expand(name: str, seen: frozenset[str]) -> list[str]:
        found: list[str] = []
        for item in groups.get(name, []) if isinstance(groups.get(name), list) else []:
            if isinstance(item, str):
                found.append(item)
            elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
                included = normalize_name(item["include-group"])
                if included not in seen:
                    found.extend(expand(included, seen | {included}))
        return found

    chosen = sorted(_chosen(set(groups)))
    return list(dict.fromkeys(req for name in chosen for req in expand(name, frozenset({name}))))


def _poetry_groups(poetry: dict[str, Any]) -> list[str]:
    """Return the package names of poetry's test/dev groups (versions come from poetry.lock)."""
    groups = {
        normalize_name(name): toml_table(toml_table(poetry, "group"), name).get("dependencies", {})
        for name in toml_table(poetry, "group")
    }
    if "dev-dependencies" in poetry:
        groups.setdefault("dev", poetry["dev-dependencies"])
    names: list[str] = []
    for group in sorted(_chosen(set(groups))):
        table = groups[group] if isinstance(groups[group], dict) else {}
        for name, spec in table.items():
            extras = spec.get("extras") if isinstance(spec, dict) else None
            suffix = f"[{','.join(extras)}]" if isinstance(extras, list) and extras else ""
            # A path, git or URL dependency cannot be named on PyPI; the lockfile cannot pin it.
            elsewhere = isinstance(spec, dict) and bool({"path", "git", "url"} & set(spec))
            if normalize_name(name) != "python" and not elsewhere:
                names.append(f"{name}{suffix}")
    return names


def requirement_files(files: set[str], read_text: ReadText) -> tuple[str, ...]:
    """Return requirements.txt and the test/dev requirement files, plus tox.ini's `-r` deps."""
    chosen = {
        path
        for path in files
        if _REQUIREMENT_FILE.fullmatch(path)
        and (
            path == "requirements.txt"
            or (
                any(word in PurePosixPath(path).stem for word in ("test", "dev"))
                and "doc" not in path
            )
        )
    }
    tox = tox_config(files, read_text)
    if tox is not None:
        for line in tox.get("testenv", "deps", fallback="").splitlines():
            match = _REQUIREMENT_REFERENCE.match(line)
            if match and match[1] in ("-r", "--requirement") and match[2] in files:
                chosen.add(match[2])
    return tuple(sorted(chosen))


def referenced_files(files: set[str], read_text: ReadText, roots: tuple[str, ...]) -> set[str]:
    """Return the files `-r`/`-c` lines of the requirement files pull in, transitively."""
    found: set[str] = set()
    pending = list(roots)
    while pending:
        path = pending.pop()
        for line in (read_text(path) or "").splitlines():
            match = _REQUIREMENT_REFERENCE.match(line)
            if not match:
                continue
            target = str(PurePosixPath(path).parent / match[2])
            target = target.removeprefix("./")
            if target in files and target not in found and target not in roots:
                found.add(target)
                pending.append(target)
    return found


def tox_config(files: set[str], read_text: ReadText) -> configparser.ConfigParser | None:
    """Return tox.ini when it has a [testenv] (a hint for extras and requirement files)."""
    if "tox.ini" not in files:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_text("tox.ini") or "")
    except configparser.Error:
        return None
    return parser if parser.has_section("testenv") else None


def _tox_extras(files: set[str], read_text: ReadText) -> set[str]:
    tox = tox_config(files, read_text)
    raw = tox.get("testenv", "extras", fallback="") if tox is not None else ""
    return {normalize_name(name) for name in re.split(r"[\s,]+", raw) if name}


def _mypy_configured(files: set[str], read_text: ReadText, tool: dict[str, Any]) -> bool:
    """Mirror the reviewer's rule: [tool.mypy], mypy.ini, .mypy.ini or setup.cfg's [mypy]."""
    if isinstance(tool.get("mypy"), dict):
        return True
    for name in (*_MYPY_CONFIGS, "setup.cfg"):
        if name in files:
            parser = configparser.ConfigParser(interpolation=None)
            try:
                parser.read_string(read_text(name) or "")
            except configparser.Error:
                continue
            if parser.has_section("mypy"):
                return True
    return False


def toml_table(data: dict[str, Any], key: str) -> dict[str, Any]:
    """Return `data[key]` when it is a table, else an empty one."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def parse_toml(text: str | None) -> dict[str, Any]:
    """Return a TOML file's data; a broken file reads as empty."""
    try:
        return tomllib.loads(text or "")
    except tomllib.TOMLDecodeError:
        # pip reports a broken pyproject.toml itself when setup installs the project.
        return {}
