"""The agent's tools over a real local sandbox, through the ToolBox dispatcher."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.policy import PathPolicy
from app.roles import ALL_TOOLS, default_roles
from app.sandbox import LocalOptions, LocalSandbox, LocalSandboxes
from tests.workers.sandbox_helpers import write_tree
from workers.tools import ToolBox, ToolLimits, ToolOutcome, replace_exact
from workers.tools import ToolError as ToolErr


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[LocalSandbox]:
    """A local sandbox over the sample tree."""
    sandboxes = LocalSandboxes(LocalOptions(unisolated_allowed=True))
    created = await sandboxes.create(write_tree(tmp_path / "tree"))
    assert isinstance(created, LocalSandbox)
    yield created
    await created.close()


@pytest.fixture
def box(sandbox: LocalSandbox) -> ToolBox:
    """The developer's tools over the sandbox."""
    return ToolBox.for_role(sandbox, default_roles()["developer"], PathPolicy())


async def _ok(box: ToolBox, name: str, **arguments: object) -> str:
    outcome = await box.dispatch(name, arguments)
    assert not outcome.is_error, outcome.content
    return outcome.content


async def _error(box: ToolBox, name: str, **arguments: object) -> str:
    outcome = await box.dispatch(name, arguments)
    assert outcome.is_error, outcome.content
    return outcome.content


def test_schemas_follow_the_role(sandbox: LocalSandbox) -> None:
    developer = ToolBox.for_role(sandbox, default_roles()["developer"], PathPolicy())
    assert [spec["name"] for spec in developer.schemas] == list(ALL_TOOLS)
    for spec in developer.schemas:
        schema = spec["input_schema"]
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert set(schema["required"]) <= set(schema["properties"]) and spec["description"]
    docs = ToolBox.for_role(sandbox, default_roles()["docs-writer"], PathPolicy())
    assert "run" not in [spec["name"] for spec in docs.schemas]


async def test_dispatch_validates_inputs(sandbox: LocalSandbox, box: ToolBox) -> None:
    assert "missing required fields path" in await _error(box, "read_file")
    extra = await _error(box, "read_file", path="README.md", mode="fast")
    assert "unexpected fields mode" in extra and "accepted: path, start_line" in extra
    assert "start_line must be an integer, got str" in await _error(
        box, "read_file", path="README.md", start_line="3"
    )
    assert "must be an integer, got bool" in await _error(box, "run", command="x", timeout=True)
    assert "at least 1" in await _error(box, "read_file", path="README.md", start_line=0)
    assert "unknown tool 'delete_repo'" in await _error(box, "delete_repo", path="x")
    docs = ToolBox.for_role(sandbox, default_roles()["docs-writer"], PathPolicy())
    assert "unknown tool 'run'" in await _error(docs, "run", command="env")
    assert await docs.dispatch("run", {"command": "x"}) == ToolOutcome(
        f"unknown tool 'run'; use one of {', '.join(docs.tools)}", True
    )


async def test_list_files_matches_globs_and_is_bounded(sandbox: LocalSandbox) -> None:
    box = ToolBox.for_role(
        sandbox, default_roles()["developer"], PathPolicy(), ToolLimits(list_max=3)
    )
    assert await _ok(box, "list_files", pattern="src/*.py") == "src/app.py\nsrc/util.py"
    assert await _ok(box, "list_files", pattern="**/*.md") == "README.md\ndocs/guide.md"
    everything = await _ok(box, "list_files")
    assert everything.splitlines()[-1] == "[4 more files not shown; narrow the pattern]"
    assert len(everything.splitlines()) == 4 and ".git/" not in everything
    assert (await _ok(box, "list_files", pattern="src/**", limit=1)).startswith("src/app.py\n[1")
    assert await _ok(box, "list_files", pattern="*.rs") == "no files match '*.rs'"


async def test_read_file_numbers_lines_and_reads_ranges(box: ToolBox) -> None:
    assert await _ok(box, "read_file", path="src/util.py") == (
        "     1\tVALUE = 1\n     2\tOTHER = 2\n     3\tVALUE_TOO = 3"
    )
    assert await _ok(box, "read_file", path="src/util.py", start_line=2, end_line=2) == (
        "     2\tOTHER = 2"
    )
    assert await _ok(box, "read_file", path="src/util.py", start_line=3, end_line=99) == (
        "     3\tVALUE_TOO = 3"
    )
    assert "past the end (the file has 3 lines)" in await _error(
        box, "read_file", path="src/util.py", start_line=4
    )
    assert "before start_line" in await _error(
        box, "read_file", path="src/util.py", start_line=3, end_line=2
    )
    assert "no such file" in await _error(box, "read_file", path="nope.py")
    assert "'..' is not allowed" in await _error(box, "read_file", path="../tree/README.md")
    assert "absolute paths" in await _error(box, "read_file", path="/etc/passwd")


async def test_read_file_bounds_long_and_binary_files(sandbox: LocalSandbox) -> None:
    limits = ToolLimits(read_max_lines=2, line_max_chars=5, read_max_bytes=100)
    box = ToolBox.for_role(sandbox, default_roles()["developer"], PathPolicy(), limits)
    await sandbox.write_file("long.txt", b"abcdefgh\n2\n3\n4\n")
    assert await _ok(box, "read_file", path="long.txt") == (
        "     1\tabcde [... 8 characters in all]\n     2\t2\n"
        "[shown lines 1-2 of 4; read on with start_line=3]"
    )
    await sandbox.write_file("blob.bin", b"\x89PNG\0\0\0")
    assert "binary file" in await _error(box, "read_file", path="blob.bin")
    await sandbox.write_file("big.txt", b"x" * 101)
    assert "101 bytes is larger than 100 bytes" in await _error(box, "read_file", path="big.txt")


async def test_search_finds_lines_and_skips_binary_and_git(sandbox: LocalSandbox) -> None:
    box = ToolBox.for_role(
        sandbox, default_roles()["developer"], PathPolicy(), ToolLimits(search_max_results=2)
    )
    await sandbox.write_file("blob.bin", b"VALUE\0binary")
    assert await _ok(box, "search", pattern=r"^VALUE\w* = \d") == (
        "src/util.py:1: VALUE = 1\nsrc/util.py:3: VALUE_TOO = 3"
    )
    # The baseline commit message lives in .git; it must not be found.
    assert await _ok(box, "search", pattern="Townhall: base") == "no matches for 'Townhall: base'"
    assert await _ok(box, "search", pattern="def \\w+", path_glob="src/**") == (
        "src/app.py:1: def greet(name):\nsrc/app.py:5: def wave():"
    )
    bounded = await _ok(box, "search", pattern="e")
    assert bounded.splitlines()[-1].startswith("[results stopped at 2")
    assert await _ok(box, "search", pattern="x", path_glob="*.rs") == "no files match '*.rs'"
    assert "search failed" in await _error(box, "search", pattern="(unclosed")
    few = ToolBox(sandbox, box.rules, limits=ToolLimits(search_max_files=1))
    assert "2 files match 'src/**'; narrow" in await _error(
        few, "search", pattern="x", path_glob="src/**"
    )


async def test_write_file_records_and_respects_rules(sandbox: LocalSandbox, box: ToolBox) -> None:
    assert await _ok(box, "write_file", path="src/new.py", content="X = 1\n") == (
        "wrote src/new.py (6 bytes)"
    )
    assert await sandbox.read_file("src/new.py") == b"X = 1\n"
    await _ok(box, "write_file", path="./src/new.py", content="X = 2\n")
    assert box.written == ["src/new.py"]
    for protected in (".github/workflows/ci.yml", ".townhall.toml", ".git/config"):
        assert "protected path" in await _error(box, "write_file", path=protected, content="x")
    assert await sandbox.read_file(".townhall.toml") == b"[votes]\nthreshold = 2\n"
    assert "'..'" in await _error(box, "write_file", path="../escape.txt", content="x")
    assert box.written == ["src/new.py"]


async def test_a_symlink_cannot_lead_a_write_into_a_protected_file(
    sandbox: LocalSandbox, box: ToolBox, tmp_path: Path
) -> None:
    checkout = sandbox.host_checkout
    os.symlink(".github/workflows/ci.yml", checkout / "innocent.yml")
    os.symlink(tmp_path, checkout / "outside")
    assert "protected path" in await _error(box, "write_file", path="innocent.yml", content="x")
    assert "outside the checkout" in await _error(
        box, "write_file", path="outside/x.txt", content="x"
    )
    assert await sandbox.read_file(".github/workflows/ci.yml") == b"on: push\n"


async def test_role_globs_and_size_limits(sandbox: LocalSandbox) -> None:
    docs = ToolBox.for_role(sandbox, default_roles()["docs-writer"], PathPolicy(max_file_bytes=10))
    assert "this role may only write" in await _error(docs, "write_file", path="a.py", content="")
    await _ok(docs, "write_file", path="docs/new.md", content="short")
    assert "over the limit of 10 bytes" in await _error(
        docs, "write_file", path="docs/new.md", content="x" * 11
    )
    assert "over the limit" in await _error(
        docs, "edit_file", path="docs/new.md", old_text="short", new_text="much longer"
    )
    assert docs.written == ["docs/new.md"]


async def test_edit_file_replaces_exact_text(sandbox: LocalSandbox, box: ToolBox) -> None:
    assert await _ok(
        box, "edit_file", path="src/util.py", old_text="OTHER = 2", new_text="OTHER = 20"
    ) == ("replaced 1 occurrence in src/util.py")
    assert await sandbox.read_file("src/util.py") == b"VALUE = 1\nOTHER = 20\nVALUE_TOO = 3\n"
    assert box.written == ["src/util.py"]


async def test_edit_file_explains_absent_and_ambiguous_text(
    sandbox: LocalSandbox, box: ToolBox
) -> None:
    absent = await _error(box, "edit_file", path="src/util.py", old_text="NOPE", new_text="x")
    assert absent.startswith("src/util.py: old_text was not found")
    spaced = await _error(
        box, "edit_file", path="src/util.py", old_text="  OTHER = 2", new_text="x"
    )
    assert "different surrounding whitespace" in spaced
    ambiguous = await _error(box, "edit_file", path="src/util.py", old_text="VALUE", new_text="V")
    assert "occurs 2 times (at lines 1, 3)" in ambiguous and "replace_all" in ambiguous
    assert await sandbox.read_file("src/util.py") == b"VALUE = 1\nOTHER = 2\nVALUE_TOO = 3\n"
    assert box.written == []
    assert await _ok(
        box, "edit_file", path="src/util.py", old_text="VALUE", new_text="V", replace_all=True
    ) == ("replaced 2 occurrences in src/util.py")
    assert await sandbox.read_file("src/util.py") == b"V = 1\nOTHER = 2\nV_TOO = 3\n"
    assert "the same" in await _error(
        box, "edit_file", path="src/util.py", old_text="V", new_text="V"
    )
    assert "no such file" in await _error(
        box, "edit_file", path="src/missing.py", old_text="a", new_text="b"
    )


def test_replace_exact_rejects_empty_old_text() -> None:
    with pytest.raises(ToolErr, match="old_text is empty"):
        replace_exact("abc", "", "x", replace_all=True)


async def test_run_reports_exit_code_and_output_tails(sandbox: LocalSandbox) -> None:
    box = ToolBox.for_role(
        sandbox, default_roles()["developer"], PathPolicy(), ToolLimits(run_output_chars=50)
    )
    result = await _ok(box, "run", command="echo out; echo err >&2; exit 4")
    assert result.startswith("exit code 4 after ")
    assert result.endswith("[stdout]\nout\n[stderr]\nerr")
    long = await _ok(box, "run", command="seq 1 1000")
    assert "[... first" in long and long.endswith("\n1000") and "\n1\n" not in long
    timed = await _ok(box, "run", command="sleep 30", timeout=1)
    assert timed == "timed out after 1s and was killed"
    assert (await _ok(box, "run", command="pwd", cwd="src")).endswith("/checkout/src")


async def test_finish_is_offered_but_left_to_the_agent_loop(box: ToolBox) -> None:
    assert "finish" in [schema["name"] for schema in box.schemas]
    assert "unknown tool 'finish'" in await _error(box, "finish", summary="Done.")
