"""The `townhall map` command: write, print or check a repository's CODEBASE_MAP.md."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from app.codemap.builder import DEFAULT_MAP_NAME, build_map
from app.codemap.tokens import MAX_BUDGET, MIN_BUDGET, TOKENS_PER_FILE

STDOUT = "-"
DESCRIPTION = (
    "Write a Markdown map of a repository: languages, build and test commands, then each "
    "directory's files with a one-line purpose and their most important symbols. Files and "
    "symbols are ranked by how much the rest of the code refers to them, and the least "
    "important detail is dropped first to fit the token budget."
)
BUDGET_HELP = (
    f"token budget, estimated as characters / 4 (default: {TOKENS_PER_FILE} per mapped file, "
    f"at least {MIN_BUDGET:,} and at most {MAX_BUDGET:,})"
)
STALE = "{name} is stale; run `townhall map`"
MISSING = "{name} is missing; run `townhall map`"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `townhall map`."""
    parser = argparse.ArgumentParser(prog="townhall map", description=DESCRIPTION)
    parser.add_argument(
        "path", nargs="?", default=".", type=Path, help="repository to map (default: .)"
    )
    parser.add_argument("--budget", type=_positive_int, metavar="TOKENS", help=BUDGET_HELP)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the map on disk differs from what would be generated",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help=f"where to write the map (default: PATH/{DEFAULT_MAP_NAME}; '-' for stdout)",
    )
    return parser


def main(argv: list[str]) -> int:
    """Run `townhall map` with the arguments after `map`; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    root: Path = args.path
    if not root.is_dir():
        parser.error(f"{root} is not a directory")
    out = args.out or str(root / DEFAULT_MAP_NAME)
    if args.check and out == STDOUT:
        parser.error("--check compares with a file; it cannot be used with --out -")
    text = build_map(root, args.budget, exclude=_excluded(root, out))
    if out == STDOUT:
        sys.stdout.write(text)
        return 0
    target = Path(out)
    if args.check:
        return _check(target, text)
    target.write_text(text, encoding="utf-8")
    return 0


def _check(target: Path, expected: str) -> int:
    try:
        current = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        print(MISSING.format(name=target.name), file=sys.stderr)
        return 1
    if current != expected:
        print(STALE.format(name=target.name), file=sys.stderr)
        return 1
    return 0


def _excluded(root: Path, out: str) -> set[str]:
    """Return the root-relative paths to leave out: the default map and the output file."""
    excluded = {DEFAULT_MAP_NAME}
    if out != STDOUT:
        # An output outside the repository cannot be met by the walk, so it needs no entry.
        with contextlib.suppress(ValueError):
            excluded.add(Path(out).resolve().relative_to(root.resolve()).as_posix())
    return excluded


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of tokens")
    return value
