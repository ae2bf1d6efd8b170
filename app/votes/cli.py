"""`townhall votes ISSUE`: explain an issue's vote decision from the stored sweep snapshots."""

from __future__ import annotations

import argparse
import json
import re
import sys

from app.settings import Settings, SettingsError, settings_from_process
from app.store import StoreError, Tx, open_store
from app.store.repos import repo_id_by_name_tx
from app.store.votes import VoteSnapshot, snapshots_tx
from app.votes.explain import render_explanation

_REF = re.compile(r"^(?:(?P<repo>[\w.-]+/[\w.-]+)#)?(?P<number>\d+)$")


class UsageError(Exception):
    """The issue was named in a way the command does not understand."""


def parse_issue(text: str, repo: str | None) -> tuple[str | None, int]:
    """Return (owner/repo, number) from `owner/repo#N` or `N` (repo None: not said)."""
    match = _REF.match(text.strip())
    if match is None:
        raise UsageError(f"expected owner/repo#N or N with --repo, got {text!r}")
    return match["repo"] or repo, int(match["number"])


def _only_repository(tx: Tx, number: int) -> str:
    """The repository a bare `N` means: the only active one, or a question naming them."""
    names = [
        str(r["full_name"]) for r in tx.fetchall("SELECT full_name FROM repos WHERE active = 1")
    ]
    if len(names) == 1:
        return names[0]
    listed = ", ".join(sorted(names)[:5]) or "none is installed yet"
    raise UsageError(f"which repository is #{number} in ({listed})? give --repo owner/repo")


def _why_not_swept(tx: Tx, full_name: str) -> str:
    row = tx.fetchone("SELECT policy_error FROM repos WHERE full_name = ?", (full_name,))
    if row is not None and row["policy_error"]:
        error = row["policy_error"]
        return f"issue has not been swept: the repository's .townhall.toml is invalid ({error})"
    return "issue has not been swept yet (sweeps run on each tick and after each vote)"


def build_parser() -> argparse.ArgumentParser:
    """Describe the command's arguments."""
    parser = argparse.ArgumentParser(
        prog="townhall votes", description="Explain an issue's vote decision."
    )
    parser.add_argument("issue", help="owner/repo#N, or N with --repo")
    parser.add_argument("--repo", help="owner/repo, when ISSUE is a bare number")
    parser.add_argument(
        "--history", action="store_true", help="every stored snapshot, oldest first"
    )
    parser.add_argument("--json", action="store_true", help="print the stored explanations as JSON")
    return parser


def _snapshots(tx: Tx, full_name: str, number: int, history: bool) -> list[VoteSnapshot] | None:
    repo_id = repo_id_by_name_tx(tx, full_name)
    if repo_id is None:
        return None
    snapshots = snapshots_tx(tx, repo_id, number)
    return snapshots if history else snapshots[-1:]


def main(argv: list[str], settings: Settings | None = None) -> int:
    """Print the explanation of one issue's latest (or every) vote decision; return the status."""
    args = build_parser().parse_args(argv)
    try:
        named, number = parse_issue(args.issue, args.repo)
        loaded = settings or settings_from_process(())
        store = open_store(loaded.db_url, loaded.db_auth_token)
    except (UsageError, SettingsError, StoreError) as error:
        print(f"townhall votes: {error}", file=sys.stderr)
        return 2
    try:
        full_name = named or store.run_sync(lambda tx: _only_repository(tx, number))
        snapshots = store.run_sync(lambda tx: _snapshots(tx, full_name, number, args.history))
        why = store.run_sync(lambda tx: _why_not_swept(tx, full_name)) if not snapshots else ""
    except UsageError as error:
        print(f"townhall votes: {error}", file=sys.stderr)
        return 2
    finally:
        store.close_sync()
    ref = f"{full_name}#{number}"
    if not snapshots:
        what = "repository is not known" if snapshots is None else why
        print(f"townhall votes: {ref}: this {what}", file=sys.stderr)
        return 1
    explained = [(snapshot.explanation, snapshot.taken_at) for snapshot in snapshots]
    if args.json:
        print(json.dumps([data | {"taken_at": taken} for data, taken in explained], indent=2))
        return 0
    print("\n\n".join(render_explanation(data, ref, taken) for data, taken in explained))
    return 0
