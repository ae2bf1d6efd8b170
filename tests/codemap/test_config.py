"""Reading `[commands]` from .townhall.toml text."""

from __future__ import annotations

from pathlib import Path

from app.codemap.config import parse_commands, read_commands
from app.codemap.symbols import Commands


def test_build_and_test_strings() -> None:
    text = '[commands]\nbuild = " make "\ntest = "make test"\n'

    assert parse_commands(text) == Commands(build="make", test="make test")


def test_lists_of_commands_are_joined() -> None:
    text = '[commands]\ntest = ["ruff check .", "pytest"]\n'

    assert parse_commands(text) == Commands(test="ruff check . && pytest")


def test_missing_section_means_no_commands() -> None:
    assert parse_commands("[votes]\nthreshold = 3\n") == Commands()


def test_wrong_types_are_reported_with_the_key() -> None:
    assert parse_commands("[commands]\nbuild = 3\n").error == (
        ".townhall.toml: commands.build must be a string"
    )
    assert parse_commands("commands = 1\n").error == ".townhall.toml: [commands] must be a table"


def test_invalid_toml_is_reported() -> None:
    assert parse_commands("[commands\n").error.startswith(".townhall.toml is invalid:")


def test_absent_file_is_tolerated(tmp_path: Path) -> None:
    assert read_commands(tmp_path) == Commands()
