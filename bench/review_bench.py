"""Phase 1 of the reviewer on generated pull requests: its speed, and what it catches.

A generated Python repository (50 Python files: 38 modules, 10 test modules, 2 package
markers; a pyproject with ruff and strict mypy settings; `.townhall.toml` with a test command)
gets pull requests of 10 changed modules each:
clean ones, and ones with one seeded defect of each kind. Every PR goes the production way:
fetched and merged with its base on the trusted side (reviewer/gitwork.py), handed to a local
sandbox, phase 1 run there (reviewer/phase1.py), and judged by the verdict rule
(reviewer/verdict.blocking_phase1). A defect counts as caught when phase 1 alone blocks the
merge (so even a model that approves would be overruled); a clean PR blocked is a false
positive. Prints the timing and the catch-rate table, and exits 0 (not a test).
Run: .venv/bin/python bench/review_bench.py [--variants 2] [--clean 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.github.git import Remote
from app.policy import Policy, parse_policy
from app.sandbox import LocalOptions, LocalSandboxes
from app.sandbox.env import DEFAULT_PATH
from reviewer.gitwork import Merged, merge_pull_head
from reviewer.phase1 import Phase1, run_phase1
from reviewer.static.diff import parse_diff
from reviewer.verdict import blocking_phase1

MODULES = 38
TEST_MODULES = 10
PR_FILES = 10
GOAL_SECONDS = 5.0
IDENTITY = ["-c", "user.name=Bench", "-c", "user.email=bench@localhost"]
PYPROJECT = """\
[project]
name = "genpkg"
version = "0.1.0"

[tool.ruff]
line-length = 100

[tool.mypy]
files = ["pkg"]
strict = true
"""
POLICY = '[commands]\ntest = "python3 -m unittest -q"\n'
# A secret of a known format, assembled so this file holds no credential-shaped string.
FAKE_KEY = "AKIA" + "Q7ZK2M4N6P8R3T5V"

Files = dict[str, str]


def module(index: int, extra: str = "", offset: int | None = None) -> str:
    """Return a typed module that uses its predecessor (an import graph, as real code has)."""
    uses = f"from pkg.mod_{index - 1:02d} import scale_{index - 1:02d}\n\n\n" if index else ""
    base = f"scale_{index - 1:02d}(value)" if index else "value"
    return (
        f'"""Module {index}: arithmetic helpers."""\n\n{uses}'
        f"def scale_{index:02d}(value: int) -> int:\n"
        f'    """Return the value scaled by step {index}."""\n'
        f"    return {base} + {index if offset is None else offset}\n\n\n"
        f"def label_{index:02d}(value: int) -> str:\n"
        f'    """Return a label for the value."""\n'
        f'    return f"m{index}:{{value}}"\n{extra}'
    )


def test_module(index: int) -> str:
    """Return a unittest module for module `index`."""
    expected = sum(range(index + 1)) + 1
    return (
        "import unittest\n\n"
        f"from pkg.mod_{index:02d} import label_{index:02d}, scale_{index:02d}\n\n\n"
        f"class Mod{index}Test(unittest.TestCase):\n"
        "    def test_scale(self) -> None:\n"
        f"        self.assertEqual(scale_{index:02d}(1), {expected})\n\n"
        "    def test_label(self) -> None:\n"
        f'        self.assertEqual(label_{index:02d}(2), "m{index}:2")\n'
    )


def base_files() -> Files:
    """Return the generated repository: modules, test modules, config files."""
    files: Files = {"pkg/__init__.py": "", "pyproject.toml": PYPROJECT, ".townhall.toml": POLICY}
    files |= {f"pkg/mod_{i:02d}.py": module(i) for i in range(MODULES)}
    files |= {f"tests/test_mod_{i:02d}.py": test_module(i) for i in range(TEST_MODULES)}
    files["tests/__init__.py"] = ""
    return files


def clean_change(variant: int) -> Files:
    """Return a clean 10-module change: a new typed helper in each."""
    first = 20 + variant * 3
    changed = range(first, first + PR_FILES)
    return {
        f"pkg/mod_{i:02d}.py": module(
            i,
            f"\n\ndef twice_{i:02d}(value: int) -> int:\n"
            f'    """Return double the value (variant {variant})."""\n'
            f"    return scale_{i:02d}(value) * 2\n",
        )
        for i in changed
    }


def seeded(defect: Callable[[int, int], Files]) -> Callable[[int], Files]:
    """Return a PR builder: a clean change with one defect laid over it."""

    def build(variant: int) -> Files:
        files = clean_change(variant)
        target = 20 + variant * 3  # the first module the clean change touches
        return files | defect(variant, target)

    return build


def syntax_error(variant: int, target: int) -> Files:
    return {f"pkg/mod_{target:02d}.py": module(target, "\n\ndef broken(value:\n    return 1\n")}


def type_error(variant: int, target: int) -> Files:
    body = f"\n\ndef wrong_{variant}(value: int) -> int:\n    return label_{target:02d}(value)\n"
    return {f"pkg/mod_{target:02d}.py": module(target, body)}


def failing_test(variant: int, target: int) -> Files:
    # Modules 0-9 have tests; the change makes one of them wrong and leaves its test alone.
    index = variant % TEST_MODULES
    return {f"pkg/mod_{index:02d}.py": module(index, offset=index + 1)}


def broken_import(variant: int, target: int) -> Files:
    text = module(target, "\n\nUSED = helper\n").replace(
        'helpers."""\n\n', f'helpers."""\n\nfrom pkg.missing_{variant} import helper\n', 1
    )
    return {f"pkg/mod_{target:02d}.py": text}


def leaked_secret(variant: int, target: int) -> Files:
    line = f'\n\nAWS_ACCESS_KEY_ID = "{FAKE_KEY[:-1]}{variant}"\n'
    return {f"pkg/mod_{target:02d}.py": module(target, line)}


def protected_path(variant: int, target: int) -> Files:
    if variant % 2:
        return {".github/workflows/ci.yml": "on: push\njobs: {}\n"}
    return {".townhall.toml": POLICY + "[merge]\nmode = 'auto'\n"}


def conflict_marker(variant: int, target: int) -> Files:
    markers = "\n<<<<<<< HEAD\nLIMIT = 1\n=======\nLIMIT = 2\n>>>>>>> feature\n"
    return {f"pkg/mod_{target:02d}.py": module(target) + markers}


KINDS: dict[str, Callable[[int], Files]] = {
    "syntax error": seeded(syntax_error),
    "type error": seeded(type_error),
    "failing test": seeded(failing_test),
    "broken import": seeded(broken_import),
    "leaked secret": seeded(leaked_secret),
    "protected path": seeded(protected_path),
    "conflict marker": seeded(conflict_marker),
}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its output."""
    done = subprocess.run(
        ["git", "-C", str(repo), *IDENTITY, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def write(repo: Path, files: Files) -> None:
    """Write `files` into the work tree of `repo`."""
    for path, text in files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def make_origin(root: Path) -> Path:
    """Create the origin repository with the generated base on main."""
    origin = root / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    write(origin, base_files())
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "generated base")
    return origin


def open_pr(origin: Path, name: str, files: Files) -> str:
    """Commit `files` on a new branch off main; return the head sha."""
    git(origin, "checkout", "-q", "-b", name, "main")
    write(origin, files)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", name)
    git(origin, "checkout", "-q", "main")
    return git(origin, "rev-parse", name)


def tool_sandbox() -> LocalOptions:
    """Sandbox options under which phase 1 finds this interpreter's ruff, mypy and pytest."""
    return LocalOptions(
        path=f"{Path(sys.executable).parent}:{DEFAULT_PATH}",
        read_only=(Path(sys.prefix), Path(sys.base_prefix)),
        output_cap=4_000_000,
    )


@dataclass(frozen=True)
class Run:
    """One PR through phase 1."""

    kind: str
    changed: int
    phase1: Phase1
    blockers: tuple[str, ...]
    wall: float


async def review_pr(origin: Path, work: Path, kind: str, branch: str, head: str) -> Run:
    """Merge the PR with main on the trusted side, run phase 1 in a sandbox, apply the rule."""
    started = time.perf_counter()
    merged = merge_pull_head(Remote(str(origin)), "main", branch, head, work)
    assert isinstance(merged, Merged), f"{branch} did not merge"
    policy = parse_policy(merged.policy_text) if merged.policy_text else Policy()
    diff = parse_diff(merged.diff_text)
    async with LocalSandboxes(tool_sandbox()).open(work / "tree") as sandbox:
        phase1 = await run_phase1(sandbox, merged.diff_text, policy)
    blockers = blocking_phase1(phase1.findings, diff)
    names = tuple(sorted({f"{f.tool}:{f.rule}" for f in blockers}))
    return Run(kind, len(diff), phase1, names, time.perf_counter() - started)


async def main(variants: int, clean: int) -> None:
    """Generate the corpus, review every PR, and print the figures."""
    with tempfile.TemporaryDirectory(prefix="townhall-review-bench-") as directory:
        root = Path(directory)
        origin = make_origin(root)
        corpus = [("clean", f"clean-{n}", clean_change(n)) for n in range(clean)]
        corpus += [
            (kind, f"{kind.replace(' ', '-')}-{n}", build(n))
            for kind, build in KINDS.items()
            for n in range(variants)
        ]
        runs = []
        for index, (kind, branch, files) in enumerate(corpus):
            head = open_pr(origin, branch, files)
            runs.append(await review_pr(origin, root / f"work-{index}", kind, branch, head))
    print_timing(runs)
    print_table(runs)


def print_timing(runs: list[Run]) -> None:
    """Print phase 1's time on the clean 10-file PRs (the fair case: every tool runs fully)."""
    clean = [run for run in runs if run.kind == "clean"]
    seconds = [run.phase1.seconds for run in clean]
    tools = clean[0].phase1.report["durations"]
    files = base_files()
    python = sum(1 for path in files if path.endswith(".py"))
    other = len(files) - python
    print(
        f"Repository: {python} Python files (+ {other} config files); PR: {clean[0].changed} files"
    )
    print(
        f"Phase 1 in a local sandbox: median {statistics.median(seconds):.2f} s, "
        f"max {max(seconds):.2f} s over {len(clean)} clean PRs (goal < {GOAL_SECONDS:.0f} s); "
        f"with fetch, merge and sandbox set-up: median "
        f"{statistics.median(run.wall for run in clean):.2f} s"
    )
    print("  per tool (first PR): " + ", ".join(f"{t} {s:.2f} s" for t, s in tools.items()))
    skipped = clean[0].phase1.report["skipped"]
    if skipped:
        print("  skipped: " + "; ".join(f"{t}: {why}" for t, why in skipped.items()))
    print()


def print_table(runs: list[Run]) -> None:
    """Print the catch rate per defect kind and the false positives on clean PRs."""
    header = f"{'PRs seeded with':<16} {'PRs':>4} {'caught':>7} {'rate':>6}  caught by"
    print(header)
    print("-" * len(header))
    for kind in ["clean", *KINDS]:
        group = [run for run in runs if run.kind == kind]
        caught = [run for run in group if run.blockers]
        by = sorted({name for run in caught for name in run.blockers})
        if kind == "clean":
            label, rate = "clean (FP)", f"{len(caught)}/{len(group)}"
            print(f"{label:<16} {len(group):>4} {len(caught):>7} {rate:>6}  {', '.join(by) or '-'}")
            continue
        share = f"{100 * len(caught) // len(group)}%"
        print(f"{kind:<16} {len(group):>4} {len(caught):>7} {share:>6}  {', '.join(by)}")
    seeded_runs = [run for run in runs if run.kind != "clean"]
    missed = [run for run in seeded_runs if not run.blockers]
    false_positives = [run for run in runs if run.kind == "clean" and run.blockers]
    print(
        f"\nSeeded defects caught: {len(seeded_runs) - len(missed)}/{len(seeded_runs)}; "
        f"false positives: {len(false_positives)}/{len(runs) - len(seeded_runs)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=2, help="PRs per defect kind")
    parser.add_argument("--clean", type=int, default=3, help="clean PRs")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.variants, arguments.clean))
