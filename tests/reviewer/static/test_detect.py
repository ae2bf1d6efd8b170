"""Choosing adapters from what the repository contains."""

from __future__ import annotations

from app.policy import CommandPolicy
from reviewer.static.detect import detect_adapters


def _tools(files: dict[str, str], commands: CommandPolicy | None = None) -> list[str]:
    adapters = detect_adapters(list(files), files.get, commands or CommandPolicy())
    return [adapter.tool for adapter in adapters]


def test_python_repo_with_mypy_config_and_tests() -> None:
    files = {
        "pyproject.toml": '[project]\nname = "x"\n\n[tool.mypy]\nstrict = true\n',
        "src/x/app.py": "",
        "tests/test_app.py": "",
    }

    assert _tools(files) == ["ruff", "mypy", "pytest"]


def test_mypy_targets_follow_the_configured_files() -> None:
    configured = {"pyproject.toml": '[tool.mypy]\nfiles = ["src"]\n', "src/a.py": ""}
    unconfigured = {"mypy.ini": "[mypy]\nstrict = True\n", "a.py": ""}

    [_, with_files] = detect_adapters(list(configured), configured.get, CommandPolicy())
    [_, without] = detect_adapters(list(unconfigured), unconfigured.get, CommandPolicy())

    assert with_files.command == ["mypy", "-O", "json"]
    assert without.command == ["mypy", "-O", "json", "."]


def test_mypy_section_in_setup_cfg_counts_and_other_sections_do_not() -> None:
    assert "mypy" in _tools({"setup.cfg": "[mypy]\nfiles = src\n", "a.py": ""})
    assert "mypy" not in _tools({"setup.cfg": "[flake8]\nmax-line-length = 100\n", "a.py": ""})


def test_plain_python_files_get_ruff_only() -> None:
    assert _tools({"script.py": "", "helpers.py": ""}) == ["ruff"]


def test_pyright_when_configured() -> None:
    assert _tools({"pyrightconfig.json": "{}", "a.py": ""}) == ["ruff", "pyright"]
    assert _tools({"pyproject.toml": "[tool.pyright]\n", "a.py": ""}) == ["ruff", "pyright"]


def test_typescript_repo() -> None:
    files = {
        "package.json": '{"devDependencies": {"typescript": "^5"}}',
        "tsconfig.json": "{}",
        "eslint.config.mjs": "export default [];",
        "src/index.ts": "",
    }

    assert _tools(files) == ["tsc", "eslint"]


def test_eslint_config_inside_package_json() -> None:
    files = {"package.json": '{"eslintConfig": {"extends": "eslint:recommended"}}', "a.js": ""}

    assert _tools(files) == ["eslint"]
    assert _tools({"package.json": '{"name": "x"}', "a.js": ""}) == []


def test_configured_commands_run_after_the_tools() -> None:
    commands = CommandPolicy(setup="pip install .", build="make", test="make test")

    no_configs: dict[str, str] = {}
    adapters = detect_adapters(["a.py"], no_configs.get, commands)

    assert [(a.tool, a.command, a.parse) for a in adapters[1:]] == [
        ("build", "make", None),
        ("test", "make test", None),
    ]


def test_broken_pyproject_still_gets_ruff() -> None:
    assert _tools({"pyproject.toml": "[tool.mypy\n", "a.py": ""}) == ["ruff"]
