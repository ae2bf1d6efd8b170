"""Diff checks: each finds what it should, cites the new-file line, and stays quiet otherwise."""

from __future__ import annotations

import hashlib
import json

from reviewer.static.diff import parse_diff
from reviewer.static.diffchecks import (
    check_conflict_markers,
    check_diff,
    check_file_sizes,
    check_protected_paths,
    check_secrets,
)
from reviewer.static.findings import Finding
from reviewer.static.testloss import check_deleted_tests
from tests.reviewer.static import fakes

PROTECTED = (".github/workflows/**", ".townhall.toml", "deploy/**/secrets/*.yaml")


def _located(findings: list[Finding]) -> list[tuple[str, str | None, int | None]]:
    return [(finding.rule, finding.path, finding.line) for finding in findings]


# --- secrets -------------------------------------------------------------------------------


def test_secret_on_an_added_line_cites_its_new_file_line() -> None:
    token = fakes.github_token()
    diff = fakes.edit_diff(
        "app/config.py",
        40,
        [
            " import os",
            f"-OLD = '{fakes.github_token('gho')}'",
            " ",
            f"+TOKEN = '{token}'",
            " x = 1",
        ],
    )

    findings = check_secrets(parse_diff(diff))

    # Only the added line counts: the removed one is leaving the code.
    assert _located(findings) == [("github-token", "app/config.py", 42)]
    [finding] = findings
    assert (finding.severity, finding.column, finding.tool) == ("error", 10, "diff")
    assert token not in finding.message


def test_every_token_format_is_an_error() -> None:
    lines = [
        f"AWS_ACCESS_KEY_ID={fakes.aws_access_key_id()}",
        f"ANTHROPIC_API_KEY={fakes.anthropic_key()}",
        "-----BEGIN EC PRIVATE KEY-----",
        f"SLACK={fakes.slack_token()}",
    ]

    findings = check_secrets(parse_diff(fakes.new_file_diff(".env.example", lines)))

    assert _located(findings) == [
        ("aws-access-key-id", ".env.example", 1),
        ("anthropic-api-key", ".env.example", 2),
        ("private-key", ".env.example", 3),
        ("slack-token", ".env.example", 4),
    ]
    assert {finding.severity for finding in findings} == {"error"}


def test_high_entropy_string_is_a_warning() -> None:
    value = fakes.random_text(40, fakes.BASE64, seed=21)
    diff = fakes.new_file_diff("settings.py", ["DEBUG = False", f'SIGNING_KEY = "{value}"'])

    [finding] = check_secrets(parse_diff(diff))

    assert (finding.rule, finding.severity, finding.line) == ("high-entropy-string", "warning", 2)


def test_lockfile_hashes_are_not_flagged() -> None:
    packages = {
        f"node_modules/pkg{n}": {
            "version": "1.0.0",
            "resolved": f"https://registry.npmjs.org/pkg{n}/-/pkg{n}-1.0.0.tgz",
            "integrity": "sha512-" + fakes.random_text(86, fakes.BASE64, seed=n) + "==",
        }
        for n in range(5)
    }
    npm_lock = json.dumps({"lockfileVersion": 3, "packages": packages}, indent=2).splitlines()
    uv_lock = [
        f'wheels = [{{ url = "https://files/x-{n}.whl", '
        f'hash = "sha256:{hashlib.sha256(bytes([n])).hexdigest()}" }}]'
        for n in range(3)
    ]
    # A lockfile line may carry a base64 blob with no digest prefix at all.
    yarn_lock = [f"  checksum {fakes.random_text(64, fakes.BASE64, seed=30)}"]
    minified = [f'var k="{fakes.random_text(48, fakes.BASE64, seed=31)}";']
    diff = (
        fakes.new_file_diff("package-lock.json", npm_lock)
        + fakes.new_file_diff("uv.lock", uv_lock)
        + fakes.new_file_diff("web/yarn.lock", yarn_lock)
        + fakes.new_file_diff("web/dist/app.min.js", minified)
    )

    assert check_secrets(parse_diff(diff)) == []


def test_the_same_blob_outside_a_lockfile_is_flagged() -> None:
    yarn_lock = [f"  checksum {fakes.random_text(64, fakes.BASE64, seed=30)}"]

    [finding] = check_secrets(parse_diff(fakes.new_file_diff("web/notes.txt", yarn_lock)))

    assert (finding.rule, finding.line, finding.column) == ("high-entropy-string", 1, 12)


def test_a_real_token_in_a_lockfile_is_still_found() -> None:
    diff = fakes.new_file_diff("yarn.lock", [f'  resolved "https://{fakes.github_token()}@host/x"'])

    assert _located(check_secrets(parse_diff(diff))) == [("github-token", "yarn.lock", 1)]


# --- protected paths ----------------------------------------------------------------------


def test_protected_paths_are_flagged_at_their_first_changed_line() -> None:
    diff = fakes.edit_diff(
        ".github/workflows/ci.yml", 10, ["   steps:", "-    - run: make", "+    - run: make all"]
    ) + fakes.new_file_diff(".townhall.toml", ["[votes]", "threshold = 1"])

    findings = check_protected_paths(parse_diff(diff), PROTECTED)

    assert _located(findings) == [
        ("protected-path", ".github/workflows/ci.yml", 11),
        ("protected-path", ".townhall.toml", 1),
    ]
    assert findings[0].severity == "error"
    assert "paths.protected" in findings[0].message


def test_protected_globs_are_anchored_and_double_star_spans_directories() -> None:
    diff = (
        fakes.new_file_diff("docs/.townhall.toml", ["x"])
        + fakes.new_file_diff("docs/.github/workflows/ci.yml", ["x"])
        + fakes.new_file_diff("deploy/prod/eu/secrets/db.yaml", ["x"])
        + fakes.new_file_diff("deploy/secrets/db.yaml", ["x"])
        + fakes.new_file_diff("deploy/prod/secrets/nested/db.yaml", ["x"])
    )

    findings = check_protected_paths(parse_diff(diff), PROTECTED)

    assert [finding.path for finding in findings] == [
        "deploy/prod/eu/secrets/db.yaml",
        "deploy/secrets/db.yaml",
    ]


def test_the_built_in_list_applies_even_when_the_policy_protects_nothing() -> None:
    # Issue 16: `protected = []` must not let CI or runner configuration through review.
    diff = (
        fakes.new_file_diff(".github/actions/setup/action.yml", ["runs:"])
        + fakes.new_file_diff(".github/dependabot.yml", ["version: 2"])
        + fakes.new_file_diff(".gitlab-ci.yml", ["test:"])
        + fakes.new_file_diff(".pre-commit-config.yaml", ["repos: []"])
        + fakes.new_file_diff("src/app.py", ["x = 1"])
    )

    findings = check_protected_paths(parse_diff(diff), ())

    assert [finding.path for finding in findings] == [
        ".github/actions/setup/action.yml",
        ".github/dependabot.yml",
        ".gitlab-ci.yml",
        ".pre-commit-config.yaml",
    ]
    assert "built in" in findings[0].message


def test_renaming_a_protected_file_away_is_flagged() -> None:
    diff = (
        "diff --git a/.github/workflows/ci.yml b/ci.yml.bak\nsimilarity index 100%\n"
        "rename from .github/workflows/ci.yml\nrename to ci.yml.bak\n"
    )

    [finding] = check_protected_paths(parse_diff(diff), PROTECTED)

    assert (finding.path, finding.line) == ("ci.yml.bak", None)
    assert "renamed: .github/workflows/ci.yml" in finding.message


# --- conflict markers ---------------------------------------------------------------------


def test_conflict_markers_are_flagged_at_each_line() -> None:
    diff = fakes.edit_diff(
        "app/main.py",
        5,
        [" a = 1", "+<<<<<<< HEAD", "+b = 2", "+=======", "+b = 3", "+>>>>>>> feature", " c = 4"],
    )

    findings = check_conflict_markers(parse_diff(diff))

    assert _located(findings) == [
        ("conflict-marker", "app/main.py", 6),
        ("conflict-marker", "app/main.py", 8),
        ("conflict-marker", "app/main.py", 10),
    ]
    assert {(f.severity, f.column) for f in findings} == {("error", 1)}


def test_text_that_only_resembles_markers_is_not_flagged() -> None:
    rst = fakes.new_file_diff("docs/guide.rst", ["Install", "=======", "", "Run it."])
    indented = fakes.new_file_diff("notes.md", ["    <<<<<<< HEAD (an example)", "<<<<<<<< eight"])
    removed = fakes.edit_diff("app.py", 1, ["-<<<<<<< HEAD", "-=======", "->>>>>>> x", " ok"])

    assert check_conflict_markers(parse_diff(rst + indented + removed)) == []


# --- file sizes ---------------------------------------------------------------------------


def test_files_over_the_limit_are_flagged_from_sizes_or_the_diff() -> None:
    big_text = ["x" * 99] * 20  # 2,000 bytes with newlines
    binary = (
        "diff --git a/model.bin b/model.bin\nnew file mode 100644\n"
        "Binary files /dev/null and b/model.bin differ\n"
    )
    diff = (
        fakes.new_file_diff("data/big.csv", big_text)
        + fakes.new_file_diff("data/small.csv", ["a,b"])
        + binary
        + fakes.edit_diff("src/app.py", 1, [" x", "+y"])
    )

    findings = check_file_sizes(parse_diff(diff), 1_000, {"model.bin": 5_000, "src/app.py": 900})

    assert _located(findings) == [
        ("file-too-large", "data/big.csv", 1),
        ("file-too-large", "model.bin", None),
    ]
    assert findings[0].message == (
        "data/big.csv is 2,000 bytes, over the 1,000 byte limit "
        "(paths.max_file_bytes in .townhall.toml)"
    )


def test_sizes_override_and_deleted_files_are_ignored() -> None:
    diff = fakes.new_file_diff("a.txt", ["x" * 2000]) + fakes.deleted_file_diff("b.txt", ["y"])

    assert check_file_sizes(parse_diff(diff), 1_000, {"a.txt": 10, "b.txt": 10_000}) == []


# --- deleted tests ------------------------------------------------------------------------


def test_deleted_test_file_is_flagged() -> None:
    diff = fakes.deleted_file_diff(
        "tests/test_votes.py", ["def test_threshold():", "    assert True", "def test_window():"]
    )

    [finding] = check_deleted_tests(parse_diff(diff))

    assert (finding.rule, finding.severity, finding.path, finding.line) == (
        "test-file-deleted",
        "warning",
        "tests/test_votes.py",
        None,
    )
    assert "test_threshold, test_window" in finding.message


def test_removed_test_function_is_flagged_where_it_was() -> None:
    diff = fakes.edit_diff(
        "tests/test_votes.py",
        30,
        [
            " def test_kept():",
            "     assert True",
            " ",
            "-def test_flaky_window():",
            "-    assert compute() == 3",
            "-",
            " def test_other():",
        ],
    )

    [finding] = check_deleted_tests(parse_diff(diff))

    assert (finding.rule, finding.path, finding.line) == ("test-removed", "tests/test_votes.py", 33)
    assert "'test_flaky_window'" in finding.message


def test_moved_renamed_or_non_test_removals_are_not_flagged() -> None:
    moved_out = fakes.edit_diff(
        "tests/test_a.py", 1, [" import x", "-def test_move_me():", "-    pass"]
    )
    moved_in = fakes.edit_diff(
        "tests/test_b.py", 1, [" import y", "+def test_move_me():", "+    pass"]
    )
    resigned = fakes.edit_diff(
        "tests/test_c.py", 5, ["-def test_sig(tmp_path):", "+def test_sig(tmp_path, clock):"]
    )
    helper = fakes.edit_diff("src/testing.py", 1, ["-def test_helper():", "+pass"])
    whole_move = fakes.deleted_file_diff("tests/test_old.py", ["def test_one():", "    pass"])
    whole_move += fakes.new_file_diff("tests/test_new.py", ["def test_one():", "    pass"])

    diff = moved_out + moved_in + resigned + helper + whole_move

    assert check_deleted_tests(parse_diff(diff)) == []


def test_removed_javascript_and_go_tests_are_flagged() -> None:
    js = fakes.edit_diff(
        "web/app.test.ts",
        3,
        [" describe('app', () => {", "-  it('renders the tally', () => {", "-  });", " });"],
    )
    go = fakes.edit_diff("votes_test.go", 8, [" ", "-func TestTally(t *testing.T) {", "-}"])

    findings = check_deleted_tests(parse_diff(js + go))

    assert _located(findings) == [
        ("test-removed", "web/app.test.ts", 4),
        # Nothing follows the removal in its hunk, so it is shown after the line before it.
        ("test-removed", "votes_test.go", 8),
    ]


# --- all together -------------------------------------------------------------------------


def test_check_diff_runs_every_check() -> None:
    diff = fakes.new_file_diff(
        ".townhall.toml", [f"token = '{fakes.github_token()}'", "<<<<<<< HEAD"]
    ) + fakes.deleted_file_diff("tests/test_x.py", ["def test_x():", "    pass"])

    findings = check_diff(diff, protected=PROTECTED, max_file_bytes=10)

    assert sorted(finding.rule for finding in findings) == [
        "conflict-marker",
        "file-too-large",
        "github-token",
        "protected-path",
        "test-file-deleted",
    ]
