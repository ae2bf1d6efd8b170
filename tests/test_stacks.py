"""Environment plans: zero-configuration detection, lockfile pins, and what `[sandbox]` overrides.

Synthetic trees cover each package manager; the shared real repositories (git bundles, cloned
with real git) check that detection reads real manifests the way their maintainers use them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from app.policy import Policy, parse_policy
from app.stacks import EnvironmentPlan, describe_plan, plan_environment
from app.stacks.lockfiles import LockfileError, Pin, lockfile_pins, requirement_pins
from app.stacks.part import write_file_commands

# The real repositories sit beside the checkout (../shared/repos); TOWNHALL_SHARED_REPOS
# names another place.
SHARED_REPOS = Path(
    os.environ.get("TOWNHALL_SHARED_REPOS")
    or Path(__file__).resolve().parents[2] / "shared" / "repos"
)
CONSTRAINTS = ".townhall-tools/constraints.txt"


def plan(tree: Mapping[str, str], policy: str = "", **options: str) -> EnvironmentPlan:
    """Plan a synthetic checkout: `tree` maps paths to their text."""
    policy_text = tree.get(".townhall.toml", policy)
    return plan_environment(list(tree), tree.get, parse_policy(policy_text), **options)


def run_shell(commands: tuple[str, ...], cwd: Path) -> None:
    for command in commands:
        subprocess.run(["bash", "-c", command], cwd=cwd, check=True)


UV_LOCK = """
version = 1
requires-python = ">=3.10"

[[package]]
name = "demo"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "Pytest"
version = "8.3.2"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "ruff"
version = "0.6.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "numpy"
version = "2.0.2"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version < '3.11'"]

[[package]]
name = "numpy"
version = "2.2.0"
source = { registry = "https://pypi.org/simple" }
resolution-markers = ["python_full_version >= '3.12'", "python_full_version == '3.11.*'"]

[[package]]
name = "tool-from-git"
version = "1.0"
source = { git = "https://github.com/example/tool?rev=abc#abc" }
"""

POETRY_LOCK = """
[[package]]
name = "requests"
version = "2.32.3"
description = "HTTP"
optional = false

[[package]]
name = "private-lib"
version = "1.2.0"
[package.source]
type = "legacy"
url = "https://pypi.example.com/simple"
reference = "internal"

[[package]]
name = "local-lib"
version = "0.1.0"
[package.source]
type = "directory"
url = "../local-lib"

[[package]]
name = "mypy"
version = "1.11.2"

[[package]]
name = "colorama"
version = "0.4.5"

[[package]]
name = "colorama"
version = "0.4.6"

[metadata]
lock-version = "2.0"
"""


def test_uv_lock_pins_registry_packages_with_their_markers() -> None:
    pins = lockfile_pins("uv.lock", UV_LOCK)
    assert [pin.constraint() for pin in pins] == [
        "numpy==2.0.2 ; (python_full_version < '3.11')",
        "numpy==2.2.0 ; (python_full_version >= '3.12') or (python_full_version == '3.11.*')",
        "pytest==8.3.2",
        "ruff==0.6.1",
    ]


def test_poetry_lock_pins_skip_paths_and_ambiguous_versions() -> None:
    pins = lockfile_pins("poetry.lock", POETRY_LOCK)
    # colorama is locked twice without markers: no single pin is right, so none is written.
    assert pins == (
        Pin("mypy", "1.11.2"),
        Pin("private-lib", "1.2.0"),
        Pin("requests", "2.32.3"),
    )


def test_broken_lockfile_is_named() -> None:
    with pytest.raises(LockfileError, match=r"uv\.lock is not valid TOML"):
        lockfile_pins("uv.lock", "[[package]\nname=")


def test_requirement_pins_take_exact_pins_only() -> None:
    text = "-e .[full]\nruff==0.12.1  # lint\nMyPy == 1.16.1\nhttpx>=0.27\n-r other.txt\n"
    assert requirement_pins(text) == (Pin("ruff", "0.12.1"), Pin("mypy", "1.16.1"))


def test_constraints_written_by_setup_are_valid_requirements(tmp_path: Path) -> None:
    lines = [pin.constraint() for pin in lockfile_pins("uv.lock", UV_LOCK)]
    run_shell(write_file_commands(CONSTRAINTS, lines), tmp_path)
    written = (tmp_path / CONSTRAINTS).read_text().splitlines()
    assert written == lines
    assert [Requirement(line).name for line in written] == ["numpy", "numpy", "pytest", "ruff"]


def test_long_constraints_are_written_in_chunks(tmp_path: Path) -> None:
    lines = [f"package-{index}==1.{index}" for index in range(6000)]
    commands = write_file_commands(CONSTRAINTS, lines)
    assert len(commands) > 1
    assert all(len(command) < 40_000 for command in commands)
    run_shell(commands, tmp_path)
    assert (tmp_path / CONSTRAINTS).read_text().splitlines() == lines


PYPROJECT_PEP621 = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "demo"
version = "0.1"
dependencies = ["httpx"]

[project.optional-dependencies]
tests = ["pytest>=8", "pytest-cov"]
docs = ["sphinx"]
Full = ["jinja2"]

[dependency-groups]
test = ["pytest-mock", {include-group = "typing"}]
typing = ["types-requests"]
dev = ["tox"]

[tool.mypy]
strict = true
"""


def test_pip_project_with_extras_groups_and_tox_extras() -> None:
    tox = "[tox]\nenvlist = py3\n[testenv]\nextras =\n    full\ndeps = -rrequirements-test.txt\n"
    result = plan(
        {
            "pyproject.toml": PYPROJECT_PEP621,
            "tox.ini": tox,
            "requirements-test.txt": "-r requirements/base.txt\ntrustme\n",
            "requirements/base.txt": "idna\n",
            "requirements-docs.txt": "sphinx\n",
            "src/demo/__init__.py": "",
            "tests/test_demo.py": "",
        }
    )
    assert result.stack == "python"
    assert result.package_manager == "pip"
    assert result.detected
    venv, install, tools = result.setup
    assert venv == (
        "python3 -m venv .venv && "
        "PIP_CONFIG_FILE=/dev/null .venv/bin/python -m pip install -q pip==26.3"
    )
    # Test extras plus tox's; the test group with its include; no dev group beside a test one.
    assert install == (
        "PIP_CONFIG_FILE=/dev/null .venv/bin/pip install -q -e '.[full,tests]' "
        "-r requirements-test.txt pytest-mock types-requests"
    )
    assert tools == (
        "python3 -m venv .townhall-tools && PIP_CONFIG_FILE=/dev/null "
        ".townhall-tools/bin/pip install -q ruff==0.17.6 mypy==2.4.1"
    )
    assert result.test == ".venv/bin/python -m pytest -q"
    assert result.analysers == ("ruff", "mypy", "pytest")
    assert result.key_files == (
        "pyproject.toml",
        "requirements-test.txt",
        "requirements/base.txt",
        "tox.ini",
    )
    assert result.env_dirs == (".venv", ".townhall-tools")
    assert result.path_dirs == (".venv/bin", ".townhall-tools/bin")


def test_uv_project_installs_the_lockfile_pins_with_pip() -> None:
    pyproject = (
        '[project]\nname = "demo"\nversion = "0.1"\n'
        '[dependency-groups]\ntests = ["pytest"]\ndev = ["ruff"]\n'
    )
    result = plan({"pyproject.toml": pyproject, "uv.lock": UV_LOCK, "tests/test_a.py": ""})
    assert result.package_manager == "uv"
    write, venv, install, tools = result.setup
    assert write.startswith("mkdir -p .townhall-tools && printf '%s\\n' ")
    assert write.endswith("> .townhall-tools/constraints.txt")
    assert "'numpy==2.0.2 ; (python_full_version < '\"'\"'3.11'\"'\"')'" in write
    assert venv.startswith("python3 -m venv .venv")
    assert install == (
        "PIP_CONFIG_FILE=/dev/null .venv/bin/pip install -q -c .townhall-tools/constraints.txt "
        "-e . pytest"
    )
    # ruff at the lockfile's version; mypy is not configured, so not installed.
    assert tools.endswith(".townhall-tools/bin/pip install -q ruff==0.6.1")
    assert result.analysers == ("ruff", "pytest")
    assert result.key_files == ("pyproject.toml", "uv.lock")
    assert describe_plan(result)[0] == "stack: python (uv, lockfile: uv.lock), detected"


def test_poetry_project_installs_its_groups_by_name_at_locked_versions() -> None:
    pyproject = """
[tool.poetry]
name = "demo"
version = "0.1.0"
[tool.poetry.dependencies]
python = "^3.10"
requests = "^2.32"
[tool.poetry.group.test.dependencies]
pytest = "^8.0"
coverage = { version = "^7", extras = ["toml"] }
helpers = { path = "../helpers", develop = true }
[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
[tool.mypy]
"""
    result = plan({"pyproject.toml": pyproject, "poetry.lock": POETRY_LOCK, "test_demo.py": ""})
    assert result.package_manager == "poetry"
    install = result.setup[2]
    assert install.endswith("-c .townhall-tools/constraints.txt -e . pytest 'coverage[toml]'")
    # mypy at poetry.lock's version, ruff at Townhall's default.
    assert result.setup[3].endswith("ruff==0.17.6 mypy==1.11.2")


def test_forcing_pip_ignores_the_lockfile() -> None:
    tree = {"pyproject.toml": '[project]\nname = "d"\nversion = "1"\n', "uv.lock": UV_LOCK}
    result = plan(tree, '[sandbox]\npackage_manager = "pip"\n')
    assert result.package_manager == "pip"
    assert not any(CONSTRAINTS in command for command in result.setup)
    assert "uv.lock" not in result.key_files


def test_broken_lockfile_fails_setup_with_its_reason() -> None:
    result = plan({"pyproject.toml": '[project]\nname = "d"\n', "uv.lock": "[[package]\n"})
    assert result.setup[0].startswith("echo 'townhall: uv.lock is not valid TOML")
    assert result.setup[0].endswith(">&2; exit 1")


def test_requirements_only_checkout_without_tests() -> None:
    result = plan({"requirements.txt": "flask==3.0.0\n", "app.py": ""})
    assert result.setup[1] == (
        "PIP_CONFIG_FILE=/dev/null .venv/bin/pip install -q -r requirements.txt"
    )
    assert result.test == ""
    assert result.analysers == ("ruff",)


def test_loose_scripts_need_no_setup_at_all() -> None:
    # The demo's sample: a stdlib-only package with unittest tests and no manifest. Nothing
    # to install, so no networked setup; its own [commands] test runs.
    tree = {
        "calc/ops.py": "",
        "tests/test_ops.py": "import unittest\n",
        ".townhall.toml": '[commands]\ntest = "python3 -m unittest discover -q -s tests -t ."\n',
    }
    result = plan(tree)
    assert result.stack == "python"
    assert (result.setup, result.analysers, result.env_dirs, result.path_dirs) == ((), (), (), ())
    assert result.test == "python3 -m unittest discover -q -s tests -t ."
    assert not result.detected
    mixed = plan({"scripts/release.py": "", "package.json": "{}"})
    assert mixed.stack == "python+node"
    assert mixed.setup == ("npm install --no-audit --no-fund",)
    assert mixed.env_dirs == ("node_modules",)


def test_analysers_key_limits_what_is_installed_and_required() -> None:
    tree = {
        "pyproject.toml": '[project]\nname = "d"\nversion = "1"\n[tool.mypy]\n',
        "tests/test_a.py": "",
        "package.json": PACKAGE_JSON,
        "package-lock.json": "{}",
        "tsconfig.json": "{}",
    }
    assert plan(tree).analysers == ("ruff", "mypy", "pytest", "tsc")
    only_ruff = plan(tree, '[sandbox]\nanalysers = ["ruff", "tsc"]\n')
    assert only_ruff.setup[-1].endswith(".townhall-tools/bin/pip install -q ruff==0.17.6")
    assert only_ruff.analysers == ("ruff", "tsc")
    none = plan(tree, "[sandbox]\nanalysers = []\n")
    assert not any(".townhall-tools" in command for command in none.setup)
    assert none.analysers == ()
    # Tests still get pytest installed: the test command needs it.
    assert none.test == ".venv/bin/python -m pytest -q && npm test"


def test_detection_can_be_turned_off() -> None:
    tree = {"pyproject.toml": '[project]\nname = "d"\n', "tests/test_a.py": ""}
    off = plan(tree, "[sandbox]\ndetect = false\n")
    assert (off.stack, off.setup, off.test, off.analysers, off.env_dirs) == ("none", (), "", (), ())
    own = plan(tree, '[sandbox]\ndetect = false\nsetup = ["make venv"]\n')
    assert own.setup == ("make venv",)
    assert own.env_dirs == (".venv", "node_modules")
    assert own.path_dirs == (".venv/bin", "node_modules/.bin")


def test_pytest_is_added_when_tests_exist_but_nothing_asks_for_it() -> None:
    result = plan({"setup.py": "from setuptools import setup\nsetup()\n", "tests/test_x.py": ""})
    assert result.setup[1].endswith("install -q -e . pytest")
    assert result.test == ".venv/bin/python -m pytest -q"


def test_released_before_bounds_unlocked_resolution() -> None:
    result = plan({"requirements.txt": "anyio\n"}, released_before="2025-08-24T07:06:35Z")
    assert "PIP_UPLOADED_PRIOR_TO=2025-08-24T07:06:35Z .venv/bin/pip install" in result.setup[1]
    with pytest.raises(ValueError, match="released_before"):
        plan({}, released_before="last tuesday")


PACKAGE_JSON = """{
  "name": "web",
  "scripts": {"test": "vitest run", "build": "tsc -p .", "lint": "eslint ."},
  "devDependencies": {"typescript": "^5", "eslint": "^9", "vitest": "^2"}
}"""


def test_npm_with_lockfile_runs_npm_ci_and_its_scripts() -> None:
    result = plan(
        {
            "package.json": PACKAGE_JSON,
            "package-lock.json": "{}",
            "tsconfig.json": "{}",
            "eslint.config.js": "",
            ".nvmrc": "v20.11.1\n",
        }
    )
    assert result.stack == "node"
    assert result.setup == ("npm ci --no-audit --no-fund",)
    assert (result.build, result.test) == ("npm run build", "npm test")
    assert result.analysers == ("tsc", "eslint")
    assert result.node == "20.11.1"
    assert result.env_dirs == ("node_modules",)
    assert result.path_dirs == ("node_modules/.bin",)
    assert result.key_files == (".nvmrc", "package-lock.json", "package.json")


def test_npm_without_lockfile_and_without_tests() -> None:
    package = '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'
    result = plan({"package.json": package}, released_before="2026-01-02T03:04:05Z")
    assert result.setup == ("npm install --no-audit --no-fund --before=2026-01-02T03:04:05Z",)
    assert result.test == ""
    # No tsconfig or eslint config: the analysers are not claimed.
    assert result.analysers == ()


def test_pnpm_follows_the_package_manager_field_and_workspaces() -> None:
    package = '{"packageManager": "pnpm@9.12.0+sha512.abc", "scripts": {"lint": "eslint ."}}'
    workspace = "packages:\n  - 'packages/*'\n  - '!packages/ignored'\n"
    result = plan(
        {
            "package.json": package,
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
            "pnpm-workspace.yaml": workspace,
            "packages/a/package.json": "{}",
            "packages/ignored/package.json": "{}",
            "fixtures/b/package.json": "{}",
        }
    )
    assert result.package_manager == "pnpm"
    assert result.setup == (
        "npm install --global --prefix .townhall-tools --no-audit --no-fund pnpm@9.12.0",
        'PATH="$PWD/.townhall-tools/bin:$PATH" pnpm install --frozen-lockfile',
    )
    assert result.test == "pnpm run lint"
    assert result.env_dirs == ("node_modules", "packages/a/node_modules", ".townhall-tools")
    assert result.path_dirs == ("node_modules/.bin", ".townhall-tools/bin")
    assert "packages/a/package.json" in result.key_files
    assert "pnpm-workspace.yaml" in result.key_files


def test_pnpm_version_follows_the_lockfile_format_without_package_manager() -> None:
    result = plan({"package.json": "{}", "pnpm-lock.yaml": "lockfileVersion: '6.0'\n"})
    assert result.setup[0].endswith("pnpm@8")


def test_yarn_classic_and_berry() -> None:
    classic = plan({"package.json": '{"scripts": {"test": "jest"}}', "yarn.lock": "# yarn v1\n"})
    assert classic.setup == (
        "npm install --global --prefix .townhall-tools --no-audit --no-fund yarn@1",
        'PATH="$PWD/.townhall-tools/bin:$PATH" yarn install --frozen-lockfile --non-interactive',
    )
    assert classic.test == "yarn test"
    berry = plan({"package.json": '{"packageManager": "yarn@4.5.0"}', "yarn.lock": "__metadata:\n"})
    assert berry.setup[0].endswith("@yarnpkg/cli-dist@4.5.0")
    assert "YARN_NODE_LINKER=node-modules" in berry.setup[1]
    assert berry.setup[1].endswith("yarn install --immutable")


def test_broken_package_json_fails_setup() -> None:
    result = plan({"package.json": "{not json"})
    assert result.setup[0].startswith("echo 'townhall: package.json is not valid JSON")


def test_python_and_node_together() -> None:
    result = plan(
        {
            "pyproject.toml": '[project]\nname = "d"\nversion = "1"\n',
            "tests/test_a.py": "",
            "package.json": PACKAGE_JSON,
            "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
        }
    )
    assert result.stack == "python+node"
    assert result.package_manager == "pip+pnpm"
    assert result.test == ".venv/bin/python -m pytest -q && pnpm test"
    assert result.env_dirs == (".venv", "node_modules", ".townhall-tools")
    # The project's own tools come before Townhall's on PATH.
    assert result.path_dirs == (".venv/bin", "node_modules/.bin", ".townhall-tools/bin")


def test_sandbox_section_overrides_detection() -> None:
    policy = """
[sandbox]
image = "python:3.12-slim"
python = "3.12"
node = "22"
system_packages = ["libportaudio2"]
package_manager = "npm"
setup = ["pip install -r requirements.txt", "make deps"]
env = { OPENAI_API_KEY = "dummy", CI = "1" }
domains = ["downloads.example.com"]
command_timeout_seconds = 120
cpu = 4
memory_mb = 8192
[commands]
setup = "make generated"
build = "make"
"""
    tree = {
        ".townhall.toml": policy,
        "pyproject.toml": '[project]\nname = "d"\nversion = "1"\n[tool.mypy]\n',
        "tests/test_a.py": "",
        "package.json": PACKAGE_JSON,
        "yarn.lock": "",
        "tsconfig.json": "{}",
    }
    result = plan(tree)
    assert result.setup[:2] == ("pip install -r requirements.txt", "make deps")
    # Townhall's analysers are still installed after the repository's own setup, then
    # [commands].setup runs last.
    assert result.setup[2].endswith("install -q ruff==0.17.6 mypy==2.4.1")
    assert result.setup[3] == "make generated"
    assert len(result.setup) == 4
    # Only what Townhall's own setup installs is claimed: not pytest, tsc or eslint.
    assert result.analysers == ("ruff", "mypy")
    assert result.package_manager == "pip+npm"
    assert result.build == "make"
    assert result.test == "python -m pytest -q && npm test"
    assert (result.image, result.python, result.node) == ("python:3.12-slim", "3.12", "22")
    assert result.system_packages == ("libportaudio2",)
    assert result.env == (("OPENAI_API_KEY", "dummy"), ("CI", "1"))
    assert result.domains == ("downloads.example.com",)
    assert (result.command_timeout, result.cpu, result.memory_mb) == (120.0, 4.0, 8192)
    assert ".townhall.toml" in result.key_files
    lines = describe_plan(result)
    assert lines[0] == "stack: python+node (pip, npm, python 3.12, node 22), detected"
    assert "setup may also reach: downloads.example.com" in lines


def test_commands_test_overrides_and_nothing_detected() -> None:
    result = plan({"README.md": ""}, '[commands]\ntest = "make check"\n')
    assert result.stack == "none"
    assert not result.detected
    assert (result.setup, result.test, result.analysers) == ((), "make check", ())
    assert describe_plan(result)[:3] == [
        "stack: none, configured",
        "setup: (none)",
        "build: (none)",
    ]


def test_default_policy_keeps_its_limits() -> None:
    result = plan_environment([], lambda path: None, Policy())
    assert (result.command_timeout, result.cpu, result.memory_mb) == (900.0, 2.0, 4096)


# The real repositories: what their own files say they need, read by detection.


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    def cloned(name: str) -> Path:
        bundle = SHARED_REPOS / f"{name}.bundle"
        if not bundle.is_file():
            pytest.fail(f"{bundle} is missing: these tests read the shared real repositories")
        target = tmp_path_factory.mktemp(name) / name
        subprocess.run(["git", "clone", "-q", str(bundle), str(target)], check=True)
        return target

    return cloned


def plan_checkout(root: Path) -> EnvironmentPlan:
    listing = subprocess.run(
        ["git", "ls-files"], cwd=root, check=True, capture_output=True, text=True
    ).stdout

    def read_text(path: str) -> str | None:
        try:
            return (root / path).read_text()
        except (OSError, UnicodeDecodeError):
            return None

    return plan_environment(listing.splitlines(), read_text, Policy())


def test_click_uses_its_uv_lock(clone: Callable[[str], Path]) -> None:
    result = plan_checkout(clone("click"))
    assert (result.stack, result.package_manager) == ("python", "uv")
    constraints = "".join(command for command in result.setup if CONSTRAINTS in command)
    assert "pytest==9.0.2" in constraints and "'click==" not in constraints
    assert result.setup[-2].endswith("-c .townhall-tools/constraints.txt -e . pytest")
    # ruff and mypy at the versions click's own lockfile pins.
    assert result.setup[-1].endswith("install -q ruff==0.15.9 mypy==1.20.0")
    assert result.analysers == ("ruff", "mypy", "pytest")
    assert result.key_files == ("pyproject.toml", "uv.lock")
    lines = describe_plan(result)
    assert lines[0] == "stack: python (uv, lockfile: uv.lock), detected"
    # The constraints command holds every pin; doctor shows its start and its length.
    assert lines[1].startswith("setup: mkdir -p .townhall-tools && printf")
    assert lines[1].endswith(" chars)")


def test_requests_uses_its_test_group_and_tox_extras(clone: Callable[[str], Path]) -> None:
    result = plan_checkout(clone("requests"))
    assert (result.stack, result.package_manager) == ("python", "pip")
    install = result.setup[1]
    assert "-e '.[security,socks]' -r requirements-dev.txt 'requests[socks]'" in install
    assert "pytest-httpbin==2.1.0" in install and "trustme" in install
    assert result.test == ".venv/bin/python -m pytest -q"
    assert result.analysers == ("ruff", "pytest")
    assert result.key_files == ("pyproject.toml", "requirements-dev.txt", "setup.py", "tox.ini")


def test_starlette_uses_its_requirements_and_their_tool_pins(
    clone: Callable[[str], Path],
) -> None:
    result = plan_checkout(clone("starlette"))
    assert result.setup[1].endswith("install -q -e . -r requirements.txt")
    assert result.setup[2].endswith("install -q ruff==0.12.1 mypy==1.16.1")
    assert result.analysers == ("ruff", "mypy", "pytest")


def test_ufo_uses_pnpm_from_its_package_manager_field(clone: Callable[[str], Path]) -> None:
    result = plan_checkout(clone("ufo"))
    assert (result.stack, result.package_manager) == ("node", "pnpm")
    assert result.setup == (
        "npm install --global --prefix .townhall-tools --no-audit --no-fund pnpm@10.28.0",
        'PATH="$PWD/.townhall-tools/bin:$PATH" pnpm install --frozen-lockfile',
    )
    assert (result.build, result.test) == ("pnpm run build", "pnpm test")
    assert result.analysers == ("tsc", "eslint")
    assert result.key_files == ("package.json", "pnpm-lock.yaml")
