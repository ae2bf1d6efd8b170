"""`townhall map`: writing, printing and checking CODEBASE_MAP.md, and the config header."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.codemap.cli import main
from tests.codemap.helpers import git_init, write_tree

FILES = {
    "app/__init__.py": '"""The app."""\n',
    "app/core.py": '"""Core logic."""\n\ndef run(limit: int) -> None: ...\n',
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return git_init(write_tree(tmp_path / "repo", FILES))


def test_writes_codebase_map_in_path_by_default(repo: Path) -> None:
    assert main([str(repo)]) == 0

    text = (repo / "CODEBASE_MAP.md").read_text(encoding="utf-8")
    assert "- `core.py`: Core logic." in text
    assert "`def run(limit: int) -> None`" in text


def test_out_dash_prints_to_stdout(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(repo), "--out", "-"]) == 0

    assert "- `core.py`: Core logic." in capsys.readouterr().out
    assert not (repo / "CODEBASE_MAP.md").exists()


def test_check_is_fresh_after_writing_and_stale_after_a_change(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(repo)]) == 0
    # The map written into the tree must not change the next map.
    assert main([str(repo), "--check"]) == 0

    write_tree(repo, {"app/extra.py": '"""An extra module."""\n'})

    assert main([str(repo), "--check"]) == 1
    assert "CODEBASE_MAP.md is stale; run `townhall map`" in capsys.readouterr().err
    assert "extra.py" not in (repo / "CODEBASE_MAP.md").read_text(encoding="utf-8")


def test_check_fails_when_the_map_is_missing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(repo), "--check"]) == 1
    assert "CODEBASE_MAP.md is missing" in capsys.readouterr().err


def test_check_compares_with_the_same_budget(repo: Path) -> None:
    assert main([str(repo), "--budget", "40"]) == 0

    assert main([str(repo), "--budget", "40", "--check"]) == 0
    assert main([str(repo), "--check"]) == 1


def test_custom_out_inside_the_repository_is_left_out_of_the_map(repo: Path) -> None:
    out = repo / "docs" / "MAP.md"
    out.parent.mkdir()

    assert main([str(repo), "--out", str(out)]) == 0
    assert main([str(repo), "--out", str(out), "--check"]) == 0
    assert "MAP.md" not in out.read_text(encoding="utf-8").split("# Codebase map", 1)[1]


def test_default_path_is_the_current_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo)

    assert main([]) == 0
    assert (repo / "CODEBASE_MAP.md").is_file()


@pytest.mark.parametrize(
    "argv",
    [["--check", "--out", "-"], ["--budget", "0"], ["--budget", "lots"], ["no/such/dir"]],
)
def test_bad_arguments_exit_with_usage_error(repo: Path, argv: list[str]) -> None:
    args = [a if a != "no/such/dir" else str(repo / a) for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        main([str(repo), *args] if "no/such/dir" not in argv else args)

    assert exit_info.value.code == 2


def test_header_shows_configured_build_and_test_commands(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_tree(
        repo, {".townhall.toml": '[commands]\nbuild = "pip install -e ."\ntest = "pytest"\n'}
    )

    assert main([str(repo), "--out", "-"]) == 0

    out = capsys.readouterr().out
    assert "Build: `pip install -e .`" in out
    assert "Test: `pytest`" in out
    assert "Languages (files): Python (2), TOML (1)." in out


def test_header_reports_an_invalid_config(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tree(repo, {".townhall.toml": "[commands\nbuild = 1\n"})

    assert main([str(repo), "--out", "-"]) == 0

    assert "Build and test commands unknown: .townhall.toml is invalid" in capsys.readouterr().out


def test_header_without_config_names_no_commands(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(repo), "--out", "-"]) == 0

    out = capsys.readouterr().out
    assert "Build:" not in out and "Test:" not in out and "unknown" not in out
